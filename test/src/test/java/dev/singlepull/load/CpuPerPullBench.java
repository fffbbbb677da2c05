package dev.singlepull.load;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: the service CPU that one cold pull of the large shape of {@link BenchImages} (524 MB in 5 gzip layers,
 * 954 MB and about 28,000 files unpacked) costs, against {@code bin/singlepull serve} as a long-running process with
 * the launcher's settings and the default {@code snapshot_sync = "syncfs"}. Two cold pulls warm it up (after one the
 * JIT still compiles); then each round removes the image (RemoveImage collects content and snapshots at once), runs
 * {@code sync}, and only then reads the service's CPU ({@code /proc/PID/stat} utime + stime), pulls once over CRI,
 * and reads it again. Prints every round and the median.
 *
 * <p>{@code -Dbench.compareWith=PATH} names the launcher of another build (a checkout of an earlier commit, built
 * with {@code mvn package -DskipTests}): both services run side by side on roots of their own, and their rounds
 * take turns, so that the rest of the machine weighs on both alike. Creating files is the largest cost of the pull,
 * and on this machine the kernel's cost of a create varies threefold with what other programs did to the file system
 * just before; only side-by-side rounds compare builds fairly.
 *
 * <p>With {@code -Dbench.jfr=true} each service runs with a JDK Flight Recorder recording of CPU-time samples
 * ({@code jdk.CPUTimeSample}: Java and native frames, taken by thread CPU time, so system calls count too), and the
 * bench prints where the CPU of the timed windows went, by category ({@link CpuBreakdown}); the JVM's own threads
 * (the VM thread, which runs the serial collector; the JIT compilers) are read from {@code /proc/PID/task} around
 * each window. The recording costs some CPU of its own.
 *
 * <p>Run: {@code scripts/bench.sh -Dtest=CpuPerPullBench} ({@code -Dbench.rounds=5}, {@code -Dbench.warmUps=2},
 * {@code -Dbench.jfr=true}, {@code -Dbench.compareWith=PATH}, {@code -Dbench.otherFirst=true} to let the other build
 * pull first in each round, {@code -Dbench.jfrFrames=40} to list the commonest
 * innermost frames of each category).
 */
class CpuPerPullBench {
    @TempDir
    Path dir;

    /** One service under test. */
    private record Service(String name, Process process, Path recording) { }

    /** One timed pull. */
    private record Round(double cpu, double wall, CpuBreakdown.Window window) { }

    @Test
    void cpuPerColdPull() throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 5);
        int warmUps = Integer.getInteger("bench.warmUps", 2);
        boolean jfr = Boolean.getBoolean("bench.jfr");
        String other = System.getProperty("bench.compareWith");
        System.out.println("cpu-per-pull load average before: " + Files.readString(Path.of("/proc/loadavg")).trim());
        try (RegistryProcess registry = RegistryProcess.start()) {
            PushedImage image = BenchImages.large(registry);
            BenchImages.describe(image);
            List<Service> services = new ArrayList<>();
            Map<Service, List<Round>> done = new HashMap<>();
            try {
                services.add(start("this build", null, "sp", jfr));
                if (other != null) {
                    Service s = start("the build at " + other, Path.of(other), "sp-other", jfr);
                    services.add(Boolean.getBoolean("bench.otherFirst") ? 0 : 1, s); // which pulls first each round
                }
                for (Service s : services) {
                    try (CriClient cri = client(s)) {
                        for (int i = 0; i < warmUps; i++) { // JIT warm-up, not counted
                            cri.images().removeImage(Cri.remove(image.reference()));
                            cri.images().pullImage(Cri.pull(image.reference()));
                        }
                    }
                    done.put(s, new ArrayList<>());
                }
                for (int round = 1; round <= rounds; round++) {
                    for (Service s : services) { // the services take turns, so a busy spell hits them alike
                        try (CriClient cri = client(s)) {
                            Round r = coldPull(cri, s.process().pid(), image.reference());
                            done.get(s).add(r);
                            System.out.printf(Locale.ROOT, "cpu-per-pull round %d, %s: service_cpu=%.2fs wall=%.2fs%n",
                                    round, s.name(), r.cpu(), r.wall());
                        }
                    }
                }
            } finally {
                for (Service s : services) {
                    BenchProcesses.stop(s.process());
                }
            }
            System.out.println("cpu-per-pull load average after: " + Files.readString(Path.of("/proc/loadavg")).trim());
            for (Service s : services) {
                List<Double> cpus = done.get(s).stream().map(Round::cpu).sorted().toList();
                List<Double> walls = done.get(s).stream().map(Round::wall).sorted().toList();
                System.out.printf(Locale.ROOT, "%ncpu-per-pull %s, %s, cold, syncfs%s: median service CPU %.2f s per "
                                + "pull (rounds %s), median wall %.2f s%n", s.name(), BenchImages.label(image),
                        jfr ? ", with JFR" : "", cpus.get(cpus.size() / 2), cpus, walls.get(walls.size() / 2));
                if (jfr) {
                    new CpuBreakdown(Integer.getInteger("bench.jfrFrames", 0)).print(s.recording(),
                            done.get(s).stream().map(Round::window).toList());
                }
            }
        }
    }

    private Service start(String name, Path launcher, String id, boolean jfr) throws Exception {
        Path recording = dir.resolve(id + ".jfr");
        Map<String, String> env = new HashMap<>();
        if (jfr) {
            Path settings = dir.resolve("cpu.jfc");
            Files.writeString(settings, CpuBreakdown.SETTINGS);
            env.put("SINGLEPULL_JAVA_OPTS", "-XX:StartFlightRecording=filename=" + recording + ",settings=" + settings
                    + " -XX:FlightRecorderOptions=stackdepth=128");
        }
        Process p = launcher == null ? BenchProcesses.serve(dir, id, env)
                : BenchProcesses.serve(launcher, dir, id, env);
        return new Service(name, p, recording);
    }

    private CriClient client(Service s) {
        String id = s.recording().getFileName().toString().replace(".jfr", "");
        return new CriClient("unix://" + BenchProcesses.socket(dir, id));
    }

    /** Removes the image, syncs, and pulls it once, timed. */
    private static Round coldPull(CriClient cri, long pid, String ref) throws Exception {
        cri.images().removeImage(Cri.remove(ref));
        BenchProcesses.sync();
        Map<String, Double> threads0 = ProcStats.threadCpuSeconds(pid);
        double cpu0 = ProcStats.cpuSeconds(pid);
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        cri.images().withDeadlineAfter(10, TimeUnit.MINUTES).pullImage(Cri.pull(ref));
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = ProcStats.cpuSeconds(pid) - cpu0;
        Map<String, Double> threads1 = ProcStats.threadCpuSeconds(pid);
        return new Round(cpu, wall, new CpuBreakdown.Window(start, Instant.now(), cpu, threads0, threads1));
    }
}

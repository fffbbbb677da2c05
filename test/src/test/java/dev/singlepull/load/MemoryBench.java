package dev.singlepull.load;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: the service's memory footprint with the launcher's settings of before issue 15 against its settings
 * now, side by side in one run. Two {@code bin/singlepull serve} processes run at once: "old" gets the old JVM flags
 * through {@code SINGLEPULL_JAVA_OPTS} (after the launcher's own, so they win), "new" the launcher's alone. Both
 * serve their metrics endpoint, on a free loopback port each, as the defaults do. Each is
 * warmed up by one pull of the large shape of {@link BenchImages} (about 530 MB). Then, in rounds where the services
 * and the N values take turns, each round cold: RemoveImage and {@code sync} outside the timed window, the peak RSS
 * reset ({@code /proc/PID/clear_refs}), N concurrent PullImage calls ({@code load-test --keep-warm}), the wall time
 * and peak RSS taken, and after a pause the resident memory of the idle service. Prints, for each service, the idle
 * RSS after start, and per N the median wall, peak RSS and idle RSS after the pull, with new/old ratios.
 *
 * <p>With {@code -Dbench.nmt=true} both run with Native Memory Tracking, and the bench prints NMT's committed memory
 * by category idle after start, at the largest sample taken every second during the pulls, and idle after: where the
 * memory goes. NMT costs some memory itself, so take the RSS table from a run without it.
 *
 * <p>Run: {@code scripts/bench.sh -Dtest=MemoryBench} ({@code -Dbench.n=1,100}, {@code -Dbench.rounds=3},
 * {@code -Dbench.idleSeconds=10}, {@code -Dbench.nmt=false}; {@code -Dbench.old=FLAGS} and {@code -Dbench.new=FLAGS}
 * replace the JVM flags of either side, for trying other settings; {@code -Dbench.image=REF} pulls an image already
 * pushed to a running registry instead of pushing the large shape to a registry of its own).
 */
class MemoryBench {
    /**
     * The launcher's JVM flags before issue 15, with every flag it has added since set back to the JVM's default
     * (so "old" is the old settings, not old plus new).
     */
    static final String OLD_FLAGS = "-Xms64m -Xmx128m -XX:+UseSerialGC -XX:TrimNativeHeapInterval=0 "
            + "-XX:+TieredCompilation -XX:+DisableExplicitGC";

    @TempDir
    Path dir;

    private record Service(String name, Process process, Path socket) {
        long pid() {
            return process.pid();
        }
    }

    private record Sample(double rssMb, Map<String, Double> committedMb) { }

    @Test
    void footprint() throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 3);
        int idleSeconds = Integer.getInteger("bench.idleSeconds", 10);
        boolean nmt = Boolean.getBoolean("bench.nmt");
        int[] ns = Arrays.stream(System.getProperty("bench.n", "1,100").split(","))
                .mapToInt(v -> Integer.parseInt(v.trim())).toArray();
        String oldFlags = System.getProperty("bench.old", OLD_FLAGS);
        String newFlags = System.getProperty("bench.new", "");
        String tracking = nmt ? " -XX:NativeMemoryTracking=summary" : "";
        String pushed = System.getProperty("bench.image");
        try (RegistryProcess registry = pushed == null ? RegistryProcess.start() : null) {
            String image = pushed;
            if (registry != null) {
                PushedImage large = BenchImages.large(registry);
                BenchImages.describe(large);
                image = large.reference();
            }
            List<Service> services = new ArrayList<>();
            try {
                services.add(start("old", oldFlags + tracking));
                services.add(start("new", newFlags + tracking));
                System.out.printf(Locale.ROOT, "old: launcher flags, then %s%nnew: launcher flags%s%n", oldFlags,
                        newFlags.isBlank() ? "" : ", then " + newFlags);
                Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
                Map<String, Sample> idleStart = new LinkedHashMap<>();
                Map<String, Double> firstPull = new LinkedHashMap<>();
                for (Service s : services) {
                    idleStart.put(s.name(), sample(s, nmt));
                    // the warm-up: the first pull after start, while the JIT has compiled nothing yet
                    firstPull.put(s.name(), BenchProcesses.value(BenchProcesses.finish(
                            BenchProcesses.startLoadTest(s.socket(), image, 1)), "wall"));
                }
                // per service, per N: walls, peaks, idle after
                Map<String, double[][][]> figures = new LinkedHashMap<>();
                Map<String, Sample> peakNmt = new LinkedHashMap<>();
                Map<String, Sample> idleNmt = new LinkedHashMap<>();
                for (Service s : services) {
                    figures.put(s.name(), new double[ns.length][3][rounds]);
                }
                for (int round = 0; round < rounds; round++) {
                    for (int k = 0; k < ns.length; k++) {
                        for (Service s : services) { // services take turns, so a slow spell hits both
                            double[][] f = figures.get(s.name())[k];
                            Sample[] largest = new Sample[1];
                            double[] r = coldRound(s, image, ns[k], nmt, largest);
                            Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
                            Sample idle = sample(s, nmt);
                            f[0][round] = r[0];
                            f[1][round] = r[1];
                            f[2][round] = idle.rssMb();
                            System.out.printf(Locale.ROOT, "round %d/%d %s n=%d: wall=%.2fs peak_rss=%.0fMB "
                                    + "idle_rss_after=%.0fMB%n", round + 1, rounds, s.name(), ns[k], r[0], r[1],
                                    idle.rssMb());
                            if (nmt && k == ns.length - 1) {
                                if (largest[0] != null && (!peakNmt.containsKey(s.name())
                                        || total(largest[0]) > total(peakNmt.get(s.name())))) {
                                    peakNmt.put(s.name(), largest[0]);
                                }
                                idleNmt.put(s.name(), idle);
                            }
                        }
                    }
                }
                print(image, rounds, idleSeconds, ns, services, idleStart, firstPull, figures);
                if (nmt) {
                    printNmt(ns[ns.length - 1], services, idleStart, peakNmt, idleNmt);
                }
            } finally {
                for (Service s : services) {
                    BenchProcesses.stop(s.process());
                }
            }
        }
    }

    private Service start(String name, String javaOptions) throws Exception {
        // the metrics endpoint is on by default: each service gets one, on a port of its own
        Process p = BenchProcesses.serveWithJavaOptions(dir, name, javaOptions.strip(), "--metrics-address",
                "127.0.0.1:" + BenchProcesses.freePort());
        return new Service(name, p, BenchProcesses.socket(dir, name));
    }

    /** One cold round: {wall seconds, peak RSS MB}; with NMT, the largest sample during the pull in {@code largest}. */
    private static double[] coldRound(Service s, String ref, int n, boolean nmt, Sample[] largest) throws Exception {
        try (CriClient cri = new CriClient("unix://" + s.socket())) {
            cri.images().removeImage(Cri.remove(ref));
        }
        BenchProcesses.sync();
        ProcStats.resetPeakRss(s.pid());
        Process load = BenchProcesses.startLoadTest(s.socket(), ref, n, "--keep-warm");
        AtomicReference<Sample> max = new AtomicReference<>();
        Thread sampler = null;
        if (nmt) {
            sampler = Thread.ofPlatform().start(() -> {
                try {
                    while (load.isAlive()) {
                        Sample now = sample(s, true);
                        if (max.get() == null || total(now) > total(max.get())) {
                            max.set(now);
                        }
                        Thread.sleep(1000);
                    }
                } catch (Exception e) {
                    // the pull ended while jcmd ran; keep what was sampled
                }
            });
        }
        String out = BenchProcesses.finish(load);
        if (sampler != null) {
            sampler.join();
            largest[0] = max.get();
        }
        return new double[] {BenchProcesses.value(out, "wall"), ProcStats.peakRssMb(s.pid())};
    }

    private static final Pattern CATEGORY =
            Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB[,)]", Pattern.MULTILINE);
    private static final Pattern TOTAL = Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB",
            Pattern.MULTILINE);

    /** RSS now and, with NMT, its committed memory by category (MB), "Total" included. */
    private static Sample sample(Service s, boolean nmt) throws Exception {
        double rss = ProcStats.rssMb(s.pid());
        Map<String, Double> committed = new LinkedHashMap<>();
        if (nmt) {
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(s.pid()), "VM.native_memory", "summary")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            Matcher total = TOTAL.matcher(out);
            if (total.find()) {
                committed.put("Total", Long.parseLong(total.group(2)) / 1024.0);
            }
            Matcher m = CATEGORY.matcher(out);
            while (m.find()) {
                committed.put(m.group(1).strip(), Long.parseLong(m.group(3)) / 1024.0);
            }
        }
        return new Sample(rss, committed);
    }

    private static double total(Sample s) {
        return s.committedMb().getOrDefault("Total", 0.0);
    }

    private static void print(String image, int rounds, int idleSeconds, int[] ns, List<Service> services,
                              Map<String, Sample> idleStart, Map<String, Double> firstPull,
                              Map<String, double[][][]> figures) {
        System.out.printf(Locale.ROOT, "%n%s, cold, median of %d rounds; idle RSS taken %d s after start or after "
                + "the pull%n", image, rounds, idleSeconds);
        System.out.println("| figure | old | new | new/old |");
        System.out.println("|---|---|---|---|");
        double oldIdle = idleStart.get("old").rssMb();
        double newIdle = idleStart.get("new").rssMb();
        row("idle RSS after start", oldIdle, newIdle, "%.0f MB");
        row("first pull after start (warm-up, once): wall", firstPull.get("old"), firstPull.get("new"), "%.2f s");
        for (int k = 0; k < ns.length; k++) {
            double[][] o = figures.get("old")[k];
            double[][] n = figures.get("new")[k];
            row(ns[k] + " cold pull" + (ns[k] == 1 ? "" : "s") + ": wall", BenchStats.median(o[0]), BenchStats.median(n[0]), "%.2f s");
            row(ns[k] + " cold pull" + (ns[k] == 1 ? "" : "s") + ": peak RSS", BenchStats.median(o[1]), BenchStats.median(n[1]),
                    "%.0f MB");
            row("idle RSS after " + ns[k] + " pull" + (ns[k] == 1 ? "" : "s"), BenchStats.median(o[2]), BenchStats.median(n[2]),
                    "%.0f MB");
        }
        for (Service s : services) {
            double[][][] f = figures.get(s.name());
            for (int k = 0; k < ns.length; k++) {
                System.out.printf(Locale.ROOT, "%s n=%d: walls=%s peaks=%s idle_after=%s%n", s.name(), ns[k],
                        Arrays.toString(f[k][0]), Arrays.toString(f[k][1]), Arrays.toString(f[k][2]));
            }
        }
    }

    private static void row(String figure, double old, double now, String format) {
        System.out.printf(Locale.ROOT, "| %s | " + format + " | " + format + " | %.2f |%n", figure, old, now,
                now / old);
    }

    private static void printNmt(int n, List<Service> services, Map<String, Sample> idleStart,
                                 Map<String, Sample> peak, Map<String, Sample> idleAfter) {
        List<String> columns = new ArrayList<>();
        List<Sample> samples = new ArrayList<>();
        for (Service s : services) {
            columns.addAll(List.of(s.name() + " idle", s.name() + " " + n + " pulls", s.name() + " idle after"));
            samples.addAll(Arrays.asList(idleStart.get(s.name()), peak.get(s.name()), idleAfter.get(s.name())));
        }
        System.out.printf(Locale.ROOT, "%nNMT committed MB (during the pulls: the sample with the largest total)%n");
        System.out.println("| category | " + String.join(" | ", columns) + " |");
        System.out.println("|---|" + "---|".repeat(columns.size()));
        List<String> categories = new ArrayList<>();
        for (Sample s : samples) {
            if (s != null) {
                s.committedMb().keySet().stream().filter(c -> !categories.contains(c)).forEach(categories::add);
            }
        }
        for (String c : categories) {
            StringBuilder line = new StringBuilder("| " + c + " |");
            for (Sample s : samples) {
                line.append(String.format(Locale.ROOT, " %.1f |", s == null ? 0.0 : s.committedMb().getOrDefault(c,
                        0.0)));
            }
            System.out.println(line);
        }
        StringBuilder rss = new StringBuilder("| RSS at the sample |");
        for (Sample s : samples) {
            rss.append(String.format(Locale.ROOT, " %.1f |", s == null ? 0.0 : s.rssMb()));
        }
        System.out.println(rss);
    }
}

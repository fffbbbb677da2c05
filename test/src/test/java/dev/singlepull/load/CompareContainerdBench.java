package dev.singlepull.load;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.ContainerdProcess;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: singlepull and containerd 1.6 (Debian's, CRI plugin, overlayfs) side by side, as users run them.
 * Three long-running services, each warmed up by one pull before anything is timed: containerd with its defaults,
 * singlepull with its defaults ({@code snapshot_sync = "syncfs"}: a snapshot is committed only once its files are
 * on the disk), and singlepull with {@code snapshot_sync = "none"}, which is containerd's durability (it leaves
 * unpacked files dirty in the page cache). Every round is cold for every service: all images removed through CRI
 * RemoveImage (both services collect content and snapshots before they answer), then {@code sync}, outside the
 * timed window; the services' rounds are interleaved so that a slow spell of the disk hits all alike.
 *
 * <p>Two drivers: {@code singlepull load-test} (one process, N concurrent CRI calls) and N {@code crictl pull}
 * processes started at once, when a crictl binary is given ({@code -Dbench.crictl=PATH}; the script finds or builds
 * one where it can). Prints, per run, a "defaults" row (containerd against singlepull's default) and an "equal
 * durability" row (against {@code none}), then what 19 extra callers add to each service's wall time, the cost of
 * singlepull's durability, and each service's peak RSS. CPU is the service process's, with its waited-for children
 * (containerd's {@code unpigz}). Run with {@code bench/compare-containerd.sh}; {@code -Dbench.images=large} keeps
 * only the named shapes ({@code small,medium,large}), {@code -Dbench.rounds=N} sets the rounds (3).
 */
class CompareContainerdBench {
    @TempDir
    Path dir;

    private RegistryProcess registry;

    private record Service(String name, Path socket, long pid) { }

    /** One service's figures for one run, over the rounds. */
    private record Measured(List<Double> walls, double cpu, long blobGets, long blobBytes, long manifests) {
        double wall() {
            return BenchStats.median(walls);
        }
    }

    /** How a run's N pulls are made: all at once, the wall time from the first start to the last answer. */
    private interface Driver {
        String name();

        double pull(Service service, String ref, int n) throws Exception;
    }

    @Test
    void sideBySide() throws Exception {
        ContainerdProcess.assumeUsable();
        int rounds = Integer.getInteger("bench.rounds", 3);
        List<String> shapes = List.of(System.getProperty("bench.images", "small,medium,large").split(","));
        List<Driver> drivers = new ArrayList<>(List.of(new LoadTestDriver()));
        String crictl = System.getProperty("bench.crictl", "");
        if (!crictl.isEmpty()) {
            drivers.add(new CrictlDriver(Path.of(crictl)));
        } else {
            System.out.println("no crictl given (-Dbench.crictl=PATH): the crictl rows are left out");
        }
        registry = RegistryProcess.start();
        try {
            System.out.println("building and pushing images ...");
            BenchImages.Pushed images = BenchImages.push(registry);
            List<PushedImage> chosen = new ArrayList<>();
            for (PushedImage image : images.all()) {
                if (shapes.contains(image.reference().replaceAll(".*/bench/([a-z]+):.*", "$1"))) {
                    chosen.add(image);
                }
            }
            try (ContainerdProcess containerd = ContainerdProcess.builder().plainHttpRegistry(registry.hostPort())
                    .start()) {
                Process durable = BenchProcesses.serve(dir, "sp");
                Process none = BenchProcesses.serve(dir, "sp-none", "--snapshot-sync", "none");
                try {
                    List<Service> services = List.of(
                            new Service("containerd", containerd.socket(), containerd.pid()),
                            new Service("singlepull", BenchProcesses.socket(dir, "sp"), durable.pid()),
                            new Service("singlepull none", BenchProcesses.socket(dir, "sp-none"), none.pid()));
                    System.out.println("warming up: one pull of the largest image on each service ...");
                    for (Service service : services) {
                        drivers.getFirst().pull(service, chosen.getLast().reference(), 1);
                        ProcStats.resetPeakRss(service.pid());
                    }
                    Map<String, List<Measured>> runs = new LinkedHashMap<>();
                    for (PushedImage image : chosen) {
                        for (Driver driver : drivers) {
                            for (int n : List.of(1, 20)) {
                                String run = String.format(Locale.ROOT, "%s, %d pull%s, %s", BenchImages.label(image),
                                        n, n == 1 ? "" : "s", driver.name());
                                runs.put(run, measure(run, services, rounds, images,
                                        service -> driver.pull(service, image.reference(), n)));
                            }
                        }
                    }
                    if (chosen.size() == images.all().size()) {
                        String mixed = BenchImages.label(images.medium()) + " + " + BenchImages.label(images.large())
                                + ", 10 pulls each at once, load-test";
                        runs.put(mixed, measure(mixed, services, rounds, images, service -> {
                            long t0 = System.nanoTime();
                            Process a = BenchProcesses.startLoadTest(service.socket(), images.medium().reference(),
                                    10, "--keep-warm");
                            Process b = BenchProcesses.startLoadTest(service.socket(), images.large().reference(),
                                    10, "--keep-warm");
                            BenchProcesses.finish(a);
                            BenchProcesses.finish(b);
                            return (System.nanoTime() - t0) / 1e9;
                        }));
                    }
                    print(runs, rounds);
                    extraCallers(runs, chosen, drivers);
                    durability(runs);
                    System.out.println();
                    for (Service service : services) {
                        System.out.printf(Locale.ROOT, "%s peak RSS over the timed runs: %.0f MB%n", service.name(),
                                ProcStats.peakRssMb(service.pid()));
                    }
                } finally {
                    BenchProcesses.stop(durable);
                    BenchProcesses.stop(none);
                }
            }
        } finally {
            registry.close();
        }
    }

    private interface Round {
        double run(Service service) throws Exception;
    }

    /** {@code rounds} rounds of {@code round} on every service in turn, each made cold first. */
    private List<Measured> measure(String run, List<Service> services, int rounds, BenchImages.Pushed images,
                                   Round round) throws Exception {
        List<List<Double>> walls = new ArrayList<>();
        double[] cpu = new double[services.size()];
        long[][] counts = new long[services.size()][3];
        for (int k = 0; k < services.size(); k++) {
            walls.add(new ArrayList<>());
        }
        for (int i = 0; i < rounds; i++) {
            for (int k = 0; k < services.size(); k++) {
                Service service = services.get(k);
                cold(service, images.references());
                registry.awaitLogQuiet();
                registry.clearLog();
                double cpu0 = ProcStats.cpuSeconds(service.pid());
                walls.get(k).add(Math.round(round.run(service) * 1000) / 1000.0);
                cpu[k] += ProcStats.cpuSeconds(service.pid()) - cpu0;
                registry.awaitLogQuiet();
                counts[k][0] = Math.max(counts[k][0], registry.blobGetsTotal());
                counts[k][1] = Math.max(counts[k][1], registry.blobBytesServed());
                counts[k][2] = Math.max(counts[k][2], registry.manifestRequests());
            }
        }
        List<Measured> measured = new ArrayList<>();
        for (int k = 0; k < services.size(); k++) {
            Measured m = new Measured(walls.get(k), cpu[k] / rounds, counts[k][0], counts[k][1], counts[k][2]);
            measured.add(m);
            System.out.printf(Locale.ROOT, "%-45s %-16s walls=%s blob_gets=%d blob_bytes=%d manifest_requests=%d "
                    + "cpu=%.1fs%n", run, services.get(k).name(), m.walls(), m.blobGets(), m.blobBytes(),
                    m.manifests(), m.cpu());
        }
        return measured;
    }

    /** No image, content or snapshot of the benchmark's images left on the service, and the disk synced. */
    private static void cold(Service service, String... refs) throws Exception {
        try (CriClient cri = new CriClient("unix://" + service.socket())) {
            for (String ref : refs) {
                cri.images().removeImage(Cri.remove(ref));
            }
        }
        BenchProcesses.sync();
    }

    /** {@code singlepull load-test}: one process, N concurrent PullImage calls; its own wall figure. */
    private static final class LoadTestDriver implements Driver {
        @Override
        public String name() {
            return "load-test";
        }

        @Override
        public double pull(Service service, String ref, int n) throws Exception {
            return BenchProcesses.value(BenchProcesses.finish(BenchProcesses.startLoadTest(service.socket(), ref,
                    n)), "wall");
        }
    }

    /** N {@code crictl pull} processes started at once, as N kubelets' pulls or a shell loop would make them. */
    private record CrictlDriver(Path crictl) implements Driver {
        @Override
        public String name() {
            return "crictl";
        }

        @Override
        public double pull(Service service, String ref, int n) throws Exception {
            String endpoint = "unix://" + service.socket();
            List<Process> processes = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                processes.add(new ProcessBuilder(crictl.toString(), "--runtime-endpoint", endpoint,
                        "--image-endpoint", endpoint, "pull", ref).redirectErrorStream(true).start());
            }
            for (Process p : processes) {
                if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("crictl pull failed: "
                            + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                }
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            for (Process p : processes) {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!out.startsWith("Image is up to date for ")) {
                    throw new IllegalStateException("crictl pull printed: " + out);
                }
            }
            return wall;
        }
    }

    private static void print(Map<String, List<Measured>> runs, int rounds) {
        System.out.printf(Locale.ROOT, "%n| run (cold, median of %d) | terms | containerd wall | singlepull wall "
                + "| singlepull / containerd | service CPU s (ctr / sp) | blob GETs (ctr / sp) "
                + "| blob MB served (ctr / sp) | manifest requests (ctr / sp) |%n", rounds);
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (var run : runs.entrySet()) {
            Measured c = run.getValue().get(0);
            row(run.getKey(), "defaults", c, run.getValue().get(1));
            row(run.getKey(), "equal durability (`none`)", c, run.getValue().get(2));
        }
    }

    private static void row(String run, String terms, Measured c, Measured s) {
        System.out.printf(Locale.ROOT, "| %s | %s | %.2f s | %.2f s | %.2fx | %.1f / %.1f | %d / %d | %.1f / %.1f "
                + "| %d / %d |%n", run, terms, c.wall(), s.wall(), s.wall() / c.wall(), c.cpu(), s.cpu(),
                c.blobGets(), s.blobGets(), c.blobBytes() / 1e6, s.blobBytes() / 1e6, c.manifests(), s.manifests());
    }

    /** What 19 extra callers add: the 20-pull wall less the 1-pull wall, per image, driver and service. */
    private static void extraCallers(Map<String, List<Measured>> runs, List<PushedImage> images,
                                     List<Driver> drivers) {
        System.out.println();
        System.out.println("| 19 extra callers add (20 pulls less 1) | containerd | singlepull | singlepull none |");
        System.out.println("|---|---|---|---|");
        for (PushedImage image : images) {
            for (Driver driver : drivers) {
                String label = BenchImages.label(image);
                List<Measured> one = runs.get(String.format(Locale.ROOT, "%s, 1 pull, %s", label, driver.name()));
                List<Measured> twenty = runs.get(String.format(Locale.ROOT, "%s, 20 pulls, %s", label,
                        driver.name()));
                System.out.printf(Locale.ROOT, "| %s, %s | %+.2f s | %+.2f s | %+.2f s |%n", label, driver.name(),
                        twenty.get(0).wall() - one.get(0).wall(), twenty.get(1).wall() - one.get(1).wall(),
                        twenty.get(2).wall() - one.get(2).wall());
            }
        }
    }

    /** singlepull's durable default against {@code none}, run by run. */
    private static void durability(Map<String, List<Measured>> runs) {
        System.out.println();
        System.out.println("| durability cost | singlepull (syncfs) | singlepull none | syncfs / none |");
        System.out.println("|---|---|---|---|");
        for (var run : runs.entrySet()) {
            Measured durable = run.getValue().get(1);
            Measured none = run.getValue().get(2);
            System.out.printf(Locale.ROOT, "| %s | %.2f s | %.2f s | %.2fx |%n", run.getKey(), durable.wall(),
                    none.wall(), durable.wall() / none.wall());
        }
    }
}

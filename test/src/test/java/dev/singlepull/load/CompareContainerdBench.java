package dev.singlepull.load;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.ContainerdProcess;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: singlepull and containerd 1.6 (Debian's, CRI plugin, overlayfs) side by side, driven the same way
 * by {@code singlepull load-test} over their CRI sockets, cold every round, against one local distribution
 * registry, with the image shapes of {@link BenchImages}. Prints one table: wall time (median of the rounds), blob
 * GETs and manifest requests per round (from the registry's access log), service CPU seconds and peak RSS. Durability
 * on equal terms: containerd does not sync unpacked files, so singlepull runs with {@code snapshot_sync = "none"} in
 * the table, and the cost of its default ({@code syncfs}) is measured after it as a line of its own. Run with
 * {@code bench/compare-containerd.sh}.
 */
class CompareContainerdBench {
    @TempDir
    Path dir;

    private RegistryProcess registry;

    private record Service(String name, Path socket, long pid) { }

    private record Row(String run, String service, double wall, long blobGets, long blobBytes, long manifestRequests,
                       double cpu) { }

    @Test
    void sideBySide() throws Exception {
        ContainerdProcess.assumeUsable();
        int rounds = Integer.getInteger("bench.rounds", 3);
        registry = RegistryProcess.start();
        try {
            System.out.println("building and pushing images ...");
            BenchImages.Pushed images = BenchImages.push(registry);
            PushedImage medium = images.medium();
            PushedImage large = images.large();
            if ("durability".equals(System.getProperty("bench.only"))) {
                durabilityCost(large, rounds); // -Dbench.only=durability: that table alone
                return;
            }
            List<Row> rows = new ArrayList<>();
            try (ContainerdProcess containerd = ContainerdProcess.builder().plainHttpRegistry(registry.hostPort())
                    .start()) {
                Process singlepull = BenchProcesses.serve(dir, "sp", "--snapshot-sync", "none");
                try {
                    List<Service> services = List.of(
                            new Service("containerd", containerd.socket(), containerd.pid()),
                            new Service("singlepull", BenchProcesses.socket(dir, "sp"), singlepull.pid()));
                    for (PushedImage image : images.all()) {
                        for (int n : List.of(1, 20)) {
                            String run = String.format(Locale.ROOT, "%s, %d pull%s", BenchImages.label(image), n,
                                    n == 1 ? "" : "s");
                            for (Service service : services) {
                                rows.add(measure(run, service, rounds, () -> {
                                    removeImages(service, images.references()); // cold: no shared layer present
                                    return loadTest(service, image.reference(), n, false);
                                }));
                            }
                        }
                    }
                    String mixed = BenchImages.label(medium) + " + " + BenchImages.label(large)
                            + ", 10 pulls each at once";
                    for (Service service : services) {
                        rows.add(measure(mixed, service, rounds, () -> {
                            removeImages(service, images.references());
                            long t0 = System.nanoTime();
                            Process a = startLoadTest(service, medium.reference(), 10, true);
                            Process b = startLoadTest(service, large.reference(), 10, true);
                            finish(a);
                            finish(b);
                            return (System.nanoTime() - t0) / 1e9;
                        }));
                    }
                    for (Service service : services) {
                        System.out.printf(Locale.ROOT, "%s peak RSS over the whole run: %.0f MB%n", service.name(),
                                ProcStats.peakRssMb(service.pid()));
                    }
                } finally {
                    BenchProcesses.stop(singlepull);
                }
            }
            print(rows);
            durabilityCost(large, rounds);
        } finally {
            registry.close();
        }
    }

    private interface Round {
        double run() throws Exception;
    }

    private Row measure(String run, Service service, int rounds, Round round) throws Exception {
        List<Double> walls = new ArrayList<>();
        long gets = 0;
        long bytes = 0;
        long manifests = 0;
        double cpu = 0;
        for (int i = 0; i < rounds; i++) {
            registry.awaitLogQuiet();
            registry.clearLog();
            double cpu0 = ProcStats.cpuSeconds(service.pid());
            walls.add(round.run());
            cpu += ProcStats.cpuSeconds(service.pid()) - cpu0;
            registry.awaitLogQuiet();
            gets = Math.max(gets, registry.blobGetsTotal());
            bytes = Math.max(bytes, registry.blobBytesServed());
            manifests = Math.max(manifests, registry.manifestRequests());
        }
        walls.sort(Double::compare);
        Row row = new Row(run, service.name(), walls.get(walls.size() / 2), gets, bytes, manifests, cpu / rounds);
        System.out.printf(Locale.ROOT, "%-40s %-11s walls=%s blob_gets=%d blob_bytes=%d manifest_requests=%d "
                + "cpu=%.1fs%n", run, service.name(), walls, gets, bytes, manifests, row.cpu());
        return row;
    }

    private double loadTest(Service service, String ref, int n, boolean keepWarm) throws Exception {
        return finish(startLoadTest(service, ref, n, keepWarm));
    }

    private static Process startLoadTest(Service service, String ref, int n, boolean keepWarm) throws Exception {
        return keepWarm ? BenchProcesses.startLoadTest(service.socket(), ref, n, "--keep-warm")
                : BenchProcesses.startLoadTest(service.socket(), ref, n);
    }

    private static double finish(Process p) throws Exception {
        return BenchProcesses.value(BenchProcesses.finish(p), "wall");
    }

    private static void removeImages(Service service, String... refs) {
        try (CriClient cri = new CriClient("unix://" + service.socket())) {
            for (String ref : refs) {
                cri.images().removeImage(Cri.remove(ref));
            }
        }
    }

    /**
     * The cost of singlepull's snapshot durability, as its own table: the large image's cold single pull with
     * {@code snapshot_sync} none (what containerd does: no sync of unpacked files) and syncfs (singlepull's
     * default), each on a service of its own, warmed up by one pull first, the rounds interleaved. {@code -Dbench.only=durability} runs this
     * table alone.
     */
    private void durabilityCost(PushedImage large, int rounds) throws Exception {
        Process none = BenchProcesses.serve(dir, "sp-none", "--snapshot-sync", "none");
        Process syncfs = BenchProcesses.serve(dir, "sp-syncfs", "--snapshot-sync", "syncfs");
        try {
            String run = BenchImages.label(large) + ", 1 pull";
            List<Service> services = List.of(
                    new Service("snapshot_sync none", BenchProcesses.socket(dir, "sp-none"), none.pid()),
                    new Service("snapshot_sync syncfs", BenchProcesses.socket(dir, "sp-syncfs"), syncfs.pid()));
            List<List<Double>> walls = new ArrayList<>();
            List<Double> cpu = new ArrayList<>();
            for (Service service : services) {
                loadTest(service, large.reference(), 1, false); // warm-up pulls, not timed: every service runs warm
                walls.add(new ArrayList<>());
                cpu.add(0.0);
            }
            for (int i = 0; i < rounds; i++) { // rounds interleaved, so a slow spell of the disk hits all alike
                for (int k = 0; k < services.size(); k++) {
                    Service service = services.get(k);
                    double cpu0 = ProcStats.cpuSeconds(service.pid());
                    walls.get(k).add(loadTest(service, large.reference(), 1, false));
                    cpu.set(k, cpu.get(k) + ProcStats.cpuSeconds(service.pid()) - cpu0);
                }
            }
            System.out.printf(Locale.ROOT, "%n| durability (%s, cold, median of %d, interleaved) | wall | / none "
                    + "| service CPU |%n|---|---|---|---|%n", run, rounds);
            double base = BenchStats.median(walls.getFirst());
            for (int k = 0; k < services.size(); k++) {
                System.out.printf(Locale.ROOT, "| %s | %.2f s | %.2fx | %.1f s |   walls=%s%n", services.get(k).name(),
                        BenchStats.median(walls.get(k)), BenchStats.median(walls.get(k)) / base, cpu.get(k) / rounds, walls.get(k));
            }
        } finally {
            BenchProcesses.stop(none);
            BenchProcesses.stop(syncfs);
        }
    }

    private static void print(List<Row> rows) {
        System.out.println();
        System.out.println("| run (cold, median) | containerd wall | singlepull wall | singlepull/containerd "
                + "| blob GETs (ctr / sp) | blob MB served (ctr / sp) | manifest requests (ctr / sp) "
                + "| service CPU s (ctr / sp) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (int i = 0; i + 1 < rows.size(); i += 2) {
            Row c = rows.get(i);
            Row s = rows.get(i + 1);
            System.out.printf(Locale.ROOT, "| %s | %.2f s | %.2f s | %.2f | %d / %d | %.1f / %.1f | %d / %d "
                    + "| %.1f / %.1f |%n", c.run(), c.wall(), s.wall(), s.wall() / c.wall(), c.blobGets(),
                    s.blobGets(), c.blobBytes() / 1e6, s.blobBytes() / 1e6,
                    c.manifestRequests(), s.manifestRequests(), c.cpu(), s.cpu());
        }
    }
}

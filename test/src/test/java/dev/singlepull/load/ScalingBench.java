package dev.singlepull.load;

import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: N concurrent callers of one cold image (the large shape of {@link BenchImages}, about 530 MB), for N
 * = 1, 20, 100 and 1000, against {@code bin/singlepull serve} as a process with the launcher's heap settings and its
 * default durability. Each round removes the image first (cold) and runs {@code load-test} with a ListImages call
 * every 50 ms beside the pulls. Per N it prints the median wall time and its ratio to N=1, the service's CPU seconds
 * and peak RSS in the round (the kernel's high-water mark, reset before each round through
 * {@code /proc/PID/clear_refs}), the p99 of the ListImages calls, and the blob GETs and manifest requests the
 * registry saw. After two warm-up pulls that are not counted; the N values take turns within each round.
 *
 * <p>Run: {@code scripts/bench.sh -Dtest=ScalingBench} ({@code -Dbench.n=1,20,100,1000}, {@code -Dbench.rounds=3}).
 */
class ScalingBench {
    private static final int WARM_UP_PULLS = 2;

    @TempDir
    Path dir;

    private record Row(int n, double wall, double cpu, double rssMb, double listP99, double listMax, long listCalls,
                       long blobGets, long blobBytes, long manifests) { }

    @Test
    void scaling() throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 3);
        int[] ns = Arrays.stream(System.getProperty("bench.n", "1,20,100,1000").split(","))
                .mapToInt(v -> Integer.parseInt(v.trim())).toArray();
        try (RegistryProcess registry = RegistryProcess.start()) {
            PushedImage image = BenchImages.large(registry);
            BenchImages.describe(image);
            Process service = BenchProcesses.serve(dir, "sp");
            try {
                Path socket = BenchProcesses.socket(dir, "sp");
                for (int i = 0; i < WARM_UP_PULLS; i++) { // JIT warm-up, not counted
                    BenchProcesses.finish(BenchProcesses.startLoadTest(socket, image.reference(), 1));
                }
                List<List<Row>> runs = new ArrayList<>();
                for (int round = 0; round < rounds; round++) {
                    for (int i = 0; i < ns.length; i++) { // N values take turns, so a slow spell hits them all
                        if (round == 0) {
                            runs.add(new ArrayList<>());
                        }
                        runs.get(i).add(round(registry, service.pid(), socket, image.reference(), ns[i]));
                    }
                }
                List<Row> rows = new ArrayList<>();
                for (List<Row> ofN : runs) {
                    ofN.sort((a, b) -> Double.compare(a.wall(), b.wall()));
                    rows.add(ofN.get(ofN.size() / 2));
                }
                print(image, rounds, rows);
            } finally {
                BenchProcesses.stop(service);
            }
        }
    }

    private static Row round(RegistryProcess registry, long pid, Path socket, String ref, int n) throws Exception {
        registry.awaitLogQuiet();
        registry.clearLog();
        ProcStats.resetPeakRss(pid);
        double cpu0 = ProcStats.cpuSeconds(pid);
        String out = BenchProcesses.finish(BenchProcesses.startLoadTest(socket, ref, n, "--probe-list-images", "50"));
        double cpu = ProcStats.cpuSeconds(pid) - cpu0;
        double rss = ProcStats.peakRssMb(pid);
        registry.awaitLogQuiet();
        Row row = new Row(n, BenchProcesses.value(out, "wall"), cpu, rss, BenchProcesses.value(out, "list_p99"),
                BenchProcesses.value(out, "list_max"), (long) BenchProcesses.value(out, "list_images"),
                registry.blobGetsTotal(), registry.blobBytesServed(), registry.manifestRequests());
        System.out.printf(Locale.ROOT, "round: n=%d wall=%.2fs cpu=%.1fs peak_rss=%.0fMB list_p99=%.1fms "
                        + "list_max=%.1fms list_calls=%d blob_gets=%d blob_bytes=%d manifest_requests=%d%n", n, row.wall(), cpu,
                rss, row.listP99() * 1000, row.listMax() * 1000, row.listCalls(), row.blobGets(), row.blobBytes(),
                row.manifests());
        return row;
    }

    private static void print(PushedImage image, int rounds, List<Row> rows) {
        double base = rows.getFirst().wall();
        System.out.printf(Locale.ROOT, "%n%s, cold, median of %d rounds (by wall time)%n", BenchImages.label(image),
                rounds);
        System.out.println("| N | wall | / N=1 | service CPU s | peak RSS | ListImages p99 (max) every 50 ms "
                + "| blob GETs | blob MB served | manifest requests |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %d | %.2f s | %.2f | %.1f | %.0f MB | %.1f ms (%.1f ms) | %d | %.1f | %d |%n",
                    r.n(), r.wall(), r.wall() / base, r.cpu(), r.rssMb(), r.listP99() * 1000, r.listMax() * 1000,
                    r.blobGets(), r.blobBytes() / 1e6, r.manifests());
        }
    }
}

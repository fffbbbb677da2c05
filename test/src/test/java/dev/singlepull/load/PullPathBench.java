package dev.singlepull.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.pull.ParallelParts;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Not a test: the cold single pull of one image through the variants of the pull path, each on a fresh root of an
 * in-process service, against the real registry on loopback and through a proxy that caps every connection (as a
 * CDN or a distant registry does). Prints the median wall time per variant and its ratio to the first line, the
 * old pull path (download, then unpack; one stream per blob), in the same run, after one warm-up pull. Variants
 * take turns within each round, so that a slow spell of a shared machine spreads over all of them.
 *
 * <p>Run: {@code scripts/bench.sh -Dtest=PullPathBench} ({@code -Dbench.imageMb=530}, {@code -Dbench.rounds=3},
 * {@code -Dbench.capMbps=40}: the per-connection cap in MB/s).
 */
class PullPathBench {
    private record Variant(String name, boolean capped, UnaryOperator<ShimConfig.Builder> config) { }

    @Test
    void pullPathVariants() throws Exception {
        long imageBytes = Long.getLong("bench.imageMb", 530) * 1_000_000L;
        int rounds = Integer.getInteger("bench.rounds", 3);
        long cap = Long.getLong("bench.capMbps", 40) * 1_000_000L;
        ParallelParts four = new ParallelParts(4, 32L << 20);
        List<Variant> variants = List.of(
                new Variant("download, then unpack; 1 stream", false,
                        b -> b.unpackWhileDownloading(false).parallelParts(ParallelParts.OFF)),
                new Variant("unpack while downloading; 1 stream", false,
                        b -> b.unpackWhileDownloading(true).parallelParts(ParallelParts.OFF)),
                new Variant("unpack while downloading; 4 ranges", false,
                        b -> b.unpackWhileDownloading(true).parallelParts(four)),
                new Variant("download, then unpack; 1 stream; capped", true,
                        b -> b.unpackWhileDownloading(false).parallelParts(ParallelParts.OFF)),
                new Variant("unpack while downloading; 1 stream; capped", true,
                        b -> b.unpackWhileDownloading(true).parallelParts(ParallelParts.OFF)),
                new Variant("unpack while downloading; 4 ranges; capped", true,
                        b -> b.unpackWhileDownloading(true).parallelParts(four)));
        try (RegistryProcess registry = RegistryProcess.start(); ProxyServer proxy = ProxyServer.start(registry)) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("bench/path", "v1", imageBytes, 7));
            proxy.throttle(ProxyServer.blobs(), cap);
            System.out.printf(Locale.ROOT, "image: %d layers, %.1f MB compressed; cap %d MB/s per connection; "
                    + "snapshot_sync none; %d rounds, cold (fresh root) each%n", image.layerDigests().size(),
                    image.totalSize() / 1e6, cap / 1_000_000, rounds);
            pull(registry.hostPort() + "/bench/path:v1", image, b -> b.snapshotSync(SnapshotSync.NONE)); // JIT warm-up
            List<double[]> results = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                for (int v = 0; v < variants.size(); v++) {
                    if (round == 0) {
                        results.add(new double[rounds]);
                    }
                    Variant variant = variants.get(v);
                    String host = variant.capped() ? proxy.hostPort() : registry.hostPort();
                    results.get(v)[round] = pull(host + "/bench/path:v1", image,
                            b -> variant.config().apply(b.snapshotSync(SnapshotSync.NONE)));
                }
            }
            System.out.printf(Locale.ROOT, "%-46s %10s %8s   %s%n", "variant", "median s", "ratio", "rounds");
            for (int v = 0; v < variants.size(); v++) {
                double[] walls = results.get(v).clone();
                java.util.Arrays.sort(walls);
                double base = BenchStats.median(results.get(variants.get(v).capped() ? 3 : 0));
                System.out.printf(Locale.ROOT, "%-46s %10.2f %8.2f   %s%n", variants.get(v).name(), BenchStats.median(walls),
                        BenchStats.median(walls) / base, java.util.Arrays.toString(results.get(v)));
            }
        }
    }

    private static double pull(String ref, PushedImage image, UnaryOperator<ShimConfig.Builder> config)
            throws Exception {
        try (SinglepullServer server = SinglepullServer.start(config); CriClient cri = server.client()) {
            long t0 = System.nanoTime();
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
            return (System.nanoTime() - t0) / 1e9;
        }
    }
}

package dev.singlepull.unpack;

import dev.singlepull.unpack.tar.GzipDecoder;
import dev.singlepull.unpack.tar.LayerApplier;
import dev.singlepull.unpack.testing.FileTrees;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Not a test: the unpack leg of the buffer-size sweep. One gzip -6 and one zstd -3 layer
 * ({@link UnpackBench#mixedLayer}) go through {@link LayerPipeline} (decompress and DiffID on one thread, tar apply
 * into tmpfs on the other) with pipe chunks of 16 KiB to 4 MiB. Prints MB/s of uncompressed data (median of the
 * runs, sizes taking turns within each round), the ratio to the 256 KiB default, and the memory the pipe pins: its
 * {@code depth + 2} chunks per layer, times {@code max_concurrent_unpacks} (2 on this machine).
 *
 * <pre>
 * mvn -B -o test -pl unpacker -am -Dtest=PipeChunkBench -Dsurefire.failIfNoSpecifiedTests=false \
 *     [-Dbench.mb=200] [-Dbench.runs=5] [-Dbench.tmpfs=/dev/shm]
 * </pre>
 */
class PipeChunkBench {
    private static final int[] SIZES = {16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20};
    private static final int CONCURRENT_UNPACKS = 2;

    @Test
    void sweep() throws Exception {
        int megabytes = Integer.getInteger("bench.mb", 200);
        int runs = Integer.getInteger("bench.runs", 5);
        Path tmpfs = Path.of(System.getProperty("bench.tmpfs", "/dev/shm"));
        UnpackBench.Layer layer = UnpackBench.mixedLayer(megabytes * 1_000_000L);
        byte[] gzip = UnpackBench.gzip(layer.tar());
        byte[] zstd = UnpackBench.zstd(layer.tar());
        System.out.printf(Locale.ROOT, "PipeChunkBench: %.1f MB uncompressed in %,d files, into %s; gzip (%s) and "
                        + "zstd; %d runs, medians%n", layer.tar().length / 1e6, layer.files(), tmpfs,
                GzipDecoder.AUTO.resolved().configName(), runs);
        for (var format : List.of(new UnpackBench.Format("gzip", TarFixtures.OCI_GZIP, gzip),
                new UnpackBench.Format("zstd", TarFixtures.OCI_ZSTD, zstd))) {
            double[][] rates = new double[SIZES.length][runs];
            for (int round = 0; round < runs; round++) {
                for (int s = 0; s < SIZES.length; s++) {
                    long start = System.nanoTime();
                    apply(format.mediaType(), format.blob(), tmpfs, SIZES[s]);
                    rates[s][round] = layer.tar().length / 1e6 / ((System.nanoTime() - start) / 1e9);
                }
            }
            double base = GzipDecoderBench.median(rates[2]);
            for (int s = 0; s < SIZES.length; s++) {
                long pinned = (long) (LayerPipeline.DEPTH + 2) * SIZES[s];
                System.out.printf(Locale.ROOT, "PipeChunkBench: %s chunk %5d KiB  %6.0f MB/s  %5.2fx  pinned %6.2f MiB"
                                + " per layer, %6.2f MiB at %d unpacks  (runs:%s)%n", format.name(), SIZES[s] >> 10,
                        GzipDecoderBench.median(rates[s]), GzipDecoderBench.median(rates[s]) / base,
                        pinned / 1048576.0, pinned * CONCURRENT_UNPACKS / 1048576.0, CONCURRENT_UNPACKS,
                        GzipDecoderBench.list(rates[s]));
            }
        }
    }

    private static void apply(String mediaType, byte[] blob, Path base, int chunk) throws IOException {
        Path dir = Files.createTempDirectory(base, "chunk-bench-");
        try {
            LayerPipeline.run(new ByteArrayInputStream(blob), mediaType, dir, "bench", LayerApplier.tar(),
                    UnpackLimits.defaults(), chunk).applied().finish(List.of());
        } finally {
            FileTrees.deleteContents(dir);
            Files.delete(dir);
        }
    }
}

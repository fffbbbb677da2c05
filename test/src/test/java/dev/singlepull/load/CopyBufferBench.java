package dev.singlepull.load;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.cri.registry.RegistryListener;
import dev.singlepull.cri.registry.RegistrySettings;
import dev.singlepull.it.fixture.BuiltLayer;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: the download leg of the buffer-size sweep. One incompressible layer is fetched from the real registry
 * on loopback through {@link RegistryClient#openBlob} into a {@link LocalContentStore} ingest (hashed as written,
 * then committed: fsync, digest check, rename), copied with buffers of 16 KiB to 4 MiB, the loop the pull's
 * download runs. Prints MB/s (median of the runs, sizes taking turns within each round, a fresh store each time),
 * the ratio to the 256 KiB default, and the memory the buffers pin when every download slot fetches its blob as
 * parallel ranges ({@code max_concurrent_downloads} 6 x {@code parallel_parts_per_blob} 4 = 24 streams).
 *
 * <p>Run: {@code scripts/bench.sh -Dtest=CopyBufferBench} ({@code -Dbench.mb=256}, {@code -Dbench.runs=5},
 * {@code -Dbench.disk=/var/tmp}).
 */
class CopyBufferBench {
    private static final int[] SIZES = {16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20};
    private static final int STREAMS = 6 * 4;

    @TempDir
    Path dir;

    @Test
    void sweep() throws Exception {
        int megabytes = Integer.getInteger("bench.mb", 256);
        int runs = Integer.getInteger("bench.runs", 5);
        Path disk = Path.of(System.getProperty("bench.disk", "/var/tmp"));
        try (RegistryProcess registry = RegistryProcess.start()) {
            PushedImage image = TestImages.push(registry, ImageSpec.builder("bench/copy", "v1")
                    .layer(LayerSpec.gzip(LayerEntry.randomFile("blob.bin", megabytes * 1_000_000, 3)))
                    .config(ImageConfig.defaults()).build());
            BuiltLayer layer = image.layers().getFirst();
            Descriptor blob = Descriptor.of(layer.mediaType(), Digest.parse(layer.digest()), layer.size());
            ImageRef ref = ImageRef.parse(image.reference());
            var client = new RegistryClient(RegistrySettings.DEFAULTS, RegistryListener.NONE);
            System.out.printf(Locale.ROOT, "CopyBufferBench: one %.1f MB blob from the registry on loopback into an "
                    + "ingest under %s; %d runs, medians%n", blob.size() / 1e6, disk, runs);
            double[][] rates = new double[SIZES.length][runs];
            for (int round = 0; round < runs; round++) {
                for (int s = 0; s < SIZES.length; s++) {
                    rates[s][round] = blob.size() / 1e6 / fetch(client, ref, blob, disk, SIZES[s]);
                }
            }
            double base = BenchStats.median(rates[2]);
            for (int s = 0; s < SIZES.length; s++) {
                System.out.printf(Locale.ROOT, "CopyBufferBench: buffer %5d KiB  %6.0f MB/s  %5.2fx  pinned %7.2f MiB"
                        + " at %d streams  (runs:%s)%n", SIZES[s] >> 10, BenchStats.median(rates[s]), BenchStats.median(rates[s]) / base,
                        (double) SIZES[s] * STREAMS / 1048576.0, STREAMS, list(rates[s]));
            }
        }
    }

    /** Seconds to fetch, hash and commit the blob with a copy buffer of {@code bufferBytes}. */
    private static double fetch(RegistryClient client, ImageRef ref, Descriptor blob, Path disk, int bufferBytes)
            throws Exception {
        Path root = Files.createTempDirectory(disk, "copy-bench-");
        try (MetadataDb db = MetadataDb.open(root.resolve("meta.db"));
             ContentStore store = LocalContentStore.open(root, db)) {
            BenchProcesses.sync();
            long start = System.nanoTime();
            try (ContentWriter writer = store.writer("bench", blob.digest(), blob.size());
                 InputStream body = client.openBlob(ref, blob, 0, Credentials.ANONYMOUS).body()) {
                byte[] buffer = new byte[bufferBytes];
                int n;
                while ((n = body.read(buffer)) >= 0) {
                    writer.write(ByteBuffer.wrap(buffer, 0, n));
                }
                writer.commit();
            }
            return (System.nanoTime() - start) / 1e9;
        } finally {
            new ProcessBuilder("rm", "-rf", root.toString()).inheritIO().start().waitFor();
        }
    }

    private static String list(double[] values) {
        StringBuilder all = new StringBuilder();
        for (double r : values) {
            all.append(String.format(Locale.ROOT, " %.0f", r));
        }
        return all.toString();
    }
}

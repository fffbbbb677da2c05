package dev.singlepull.unpack;

import com.github.luben.zstd.ZstdOutputStream;
import dev.singlepull.content.Digest;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.tar.Decompression;
import dev.singlepull.unpack.tar.LayerApplier;
import dev.singlepull.unpack.testing.FileTrees;
import dev.singlepull.unpack.testing.InMemorySnapshotStore;
import dev.singlepull.unpack.testing.MapContentProvider;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/**
 * Unpack throughput, in MB/s (10^6 bytes per second) of uncompressed layer data, for one large layer of mixed files
 * (text, binaries, incompressible blobs, zero-filled files; about 2x compressible overall)
 * compressed with gzip (level 6) and with zstd (level 3). Not part of the test run (surefire's default includes skip {@code *Bench}); run it with
 *
 * <pre>
 * mvn -B -o test -pl unpacker -am -Dtest=UnpackBench -Dsurefire.failIfNoSpecifiedTests=false \
 *     [-Dbench.mb=300] [-Dbench.runs=3] [-Dbench.tmpfs=/dev/shm] [-Dbench.disk=/var/tmp]
 * </pre>
 *
 * <p>Every run starts after a {@code sync}. For each compression it prints the median of {@code bench.runs} runs of: decompressing and hashing only (the
 * ceiling); decompress, hash and apply into a fresh directory ({@code LayerPipeline}, no fsync) on tmpfs and on
 * disk; and the whole {@code Unpacker.unpack} (the same, plus fsync of every file and directory, rename and record:
 * what a pull waits for) on tmpfs and on disk.
 */
class UnpackBench {
    private static final String[] WORDS = {"image", "layer", "blob", "digest", "manifest", "registry", "container",
        "snapshot", "content", "overlay", "whiteout", "the", "a", "of", "and", "to", "in", "is", "with", "for"};

    @Test
    void throughput() throws Exception {
        int megabytes = Integer.getInteger("bench.mb", 300);
        int runs = Integer.getInteger("bench.runs", 3);
        Path tmpfs = Path.of(System.getProperty("bench.tmpfs", "/dev/shm"));
        Path disk = Path.of(System.getProperty("bench.disk", "/var/tmp"));

        long t0 = System.nanoTime();
        Layer layer = mixedLayer(megabytes * 1_000_000L);
        byte[] gzip = gzip(layer.tar);
        byte[] zstd = zstd(layer.tar);
        System.out.printf(Locale.ROOT, "UnpackBench: one layer of %.1f MB uncompressed in %,d files; gzip -6 %.1f MB,"
                        + " zstd -3 %.1f MB (built in %.0f s); %d runs each, medians; %d cores%n",
                layer.tar.length / 1e6, layer.files, gzip.length / 1e6, zstd.length / 1e6,
                (System.nanoTime() - t0) / 1e9, runs, Runtime.getRuntime().availableProcessors());

        for (var format : List.of(new Format("gzip", TarFixtures.OCI_GZIP, gzip),
                new Format("zstd", TarFixtures.OCI_ZSTD, zstd))) {
            report(format.name, "decompress + DiffID only", runs, layer, () -> decompressOnly(format));
            for (var target : List.of(new Target("tmpfs", tmpfs), new Target("disk", disk))) {
                report(format.name, target.name + "  apply (LayerPipeline, no fsync)", runs, layer,
                        () -> apply(format, target.dir));
                report(format.name, target.name + "  unpack + commit (fsync, rename)", runs, layer,
                        () -> unpack(format, target.dir, layer));
            }
        }
    }

    record Layer(byte[] tar, int files) { }

    record Format(String name, String mediaType, byte[] blob) { }

    private record Target(String name, Path dir) { }

    private interface Run {
        void run() throws Exception;
    }

    private static void report(String format, String what, int runs, Layer layer, Run run) throws Exception {
        double[] rates = new double[runs];
        for (int i = 0; i < runs; i++) {
            sync(); // start every run without dirty pages of the last one waiting to be written
            long start = System.nanoTime();
            run.run();
            rates[i] = layer.tar.length / 1e6 / ((System.nanoTime() - start) / 1e9);
        }
        double[] sorted = rates.clone();
        Arrays.sort(sorted);
        StringBuilder all = new StringBuilder();
        for (double r : rates) {
            all.append(String.format(Locale.ROOT, " %.0f", r));
        }
        System.out.printf(Locale.ROOT, "UnpackBench: %-4s %-42s %6.0f MB/s  (runs:%s)%n", format, what,
                sorted[runs / 2], all);
    }

    static void sync() throws IOException, InterruptedException {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
    }

    private static void decompressOnly(Format format) throws IOException {
        try (InputStream in = new DigestInputStream(Decompression.open(format.mediaType,
                new ByteArrayInputStream(format.blob), "bench"), Digest.newSha256())) {
            in.transferTo(OutputStream.nullOutputStream());
        }
    }

    private static void apply(Format format, Path base) throws IOException {
        Path dir = Files.createTempDirectory(base, "unpack-bench-");
        try {
            LayerPipeline.Result result = LayerPipeline.run(new ByteArrayInputStream(format.blob), format.mediaType,
                    dir, "bench", LayerApplier.tar(), UnpackLimits.defaults());
            result.applied().finish(List.of());
        } finally {
            FileTrees.deleteContents(dir);
            Files.delete(dir);
        }
    }

    private static void unpack(Format format, Path base, Layer layer) throws IOException {
        Path root = Files.createTempDirectory(base, "unpack-bench-root-");
        try {
            var content = new MapContentProvider();
            var ref = new LayerRef(content.put(format.blob), format.mediaType, format.blob.length,
                    Digest.sha256(layer.tar));
            var unpacker = new Unpacker(content, new DirectorySnapshotter(root, new InMemorySnapshotStore()),
                    SingleFlight.<ChainId, SnapshotInfo>builder("chain").build(), UnpackLimits.defaults());
            unpacker.unpack(ref, new ChainId(ref.diffId()), null);
        } finally {
            FileTrees.deleteContents(root);
            Files.delete(root);
        }
    }

    /**
     * About {@code bytes} of files, like a distribution's {@code /usr}: by count, 50% text (1-64 KiB), 30% binaries
     * (4-256 KiB of recurring byte runs), 15% incompressible data (16-256 KiB), 5% zero-filled (4-256 KiB).
     */
    static Layer mixedLayer(long bytes) {
        var random = new SplittableRandom(6);
        var tar = TarFixtures.tar();
        tar.dir("usr", 0755).dir("usr/share", 0755).dir("usr/share/doc", 0755).dir("usr/lib", 0755)
                .dir("opt", 0755).dir("var", 0755);
        long written = 0;
        int files = 0;
        String dir = null;
        while (written < bytes) {
            int kind = random.nextInt(100);
            if (files % 100 == 0) {
                dir = List.of("usr/share/doc", "usr/lib", "opt", "var").get(files / 100 % 4) + "/d" + files;
                tar.dir(dir, 0755);
            }
            byte[] content;
            if (kind < 50) {
                content = text(random, 1024 + random.nextInt(63 * 1024));
            } else if (kind < 80) {
                content = binary(random, 4096 + random.nextInt(252 * 1024));
            } else if (kind < 95) {
                content = new byte[16 * 1024 + random.nextInt(240 * 1024)];
                random.nextBytes(content);
            } else {
                content = new byte[4096 + random.nextInt(252 * 1024)];
            }
            tar.file(dir + "/f" + files, content, kind >= 50 && kind < 80 ? 0755 : 0644);
            written += content.length;
            files++;
        }
        return new Layer(tar.build(), files);
    }

    /** Machine-code-like bytes: 32-byte runs from a vocabulary of 512, one in eight random. */
    private static byte[] binary(SplittableRandom random, int size) {
        byte[] out = new byte[size];
        for (int at = 0; at < size; at += 32) {
            int length = Math.min(32, size - at);
            if (random.nextInt(8) == 0) {
                for (int i = 0; i < length; i++) {
                    out[at + i] = (byte) random.nextInt(256);
                }
            } else {
                System.arraycopy(VOCABULARY, 32 * random.nextInt(512), out, at, length);
            }
        }
        return out;
    }

    private static final byte[] VOCABULARY = vocabulary();

    private static byte[] vocabulary() {
        byte[] v = new byte[32 * 512];
        new SplittableRandom(42).nextBytes(v);
        return v;
    }

    private static byte[] text(SplittableRandom random, int size) {
        var b = new StringBuilder(size + 16);
        while (b.length() < size) {
            b.append(WORDS[random.nextInt(WORDS.length)]).append(random.nextInt(12) == 0 ? '\n' : ' ');
        }
        b.setLength(size);
        return b.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    static byte[] gzip(byte[] data) throws IOException {
        var out = new ByteArrayOutputStream(data.length / 2);
        try (var gz = new GZIPOutputStream(out, 1 << 16) {
            {
                def.setLevel(Deflater.DEFAULT_COMPRESSION);
            }
        }) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    static byte[] zstd(byte[] data) throws IOException {
        var out = new ByteArrayOutputStream(data.length / 2);
        try (var z = new ZstdOutputStream(out, 3)) {
            z.write(data);
        }
        return out.toByteArray();
    }
}

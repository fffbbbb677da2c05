package dev.singlepull.unpack;

import dev.singlepull.content.Digest;
import dev.singlepull.unpack.tar.Decompression;
import dev.singlepull.unpack.tar.GzipDecoder;
import dev.singlepull.unpack.tar.LayerApplier;
import dev.singlepull.unpack.testing.FileTrees;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Not a test: the gzip decompressors reachable here, on the same gzip -6 layer ({@link UnpackBench#mixedLayer}).
 * In-process, the two {@link GzipDecoder}s (java.util.zip on the system zlib, and ISA-L through the FFM API), with
 * the DiffID hashed as the pipeline does; as external processes, reading their standard output as containerd reads
 * unpigz's: {@code gzip -dc}, {@code pigz -dc}, {@code libdeflate-gunzip -c} and ISA-L's own {@code igzip -dc}, where
 * installed. zstd-jni on the same layer at zstd -3 for reference. Then the whole layer pipeline (decompress, DiffID,
 * tar apply into tmpfs, no fsync) with each in-process decoder. Prints MB/s of uncompressed data, the median of the
 * runs, and each line's ratio to java.util.zip in the same run. Variants take turns within each round.
 *
 * <pre>
 * mvn -B -o test -pl unpacker -am -Dtest=GzipDecoderBench -Dsurefire.failIfNoSpecifiedTests=false \
 *     [-Dbench.mb=300] [-Dbench.runs=5] [-Dbench.tmpfs=/dev/shm]
 * </pre>
 */
class GzipDecoderBench {
    private record Variant(String name, Run run) { }

    private interface Run {
        void run() throws Exception;
    }

    @Test
    void decoders() throws Exception {
        int megabytes = Integer.getInteger("bench.mb", 300);
        int runs = Integer.getInteger("bench.runs", 5);
        Path tmpfs = Path.of(System.getProperty("bench.tmpfs", "/dev/shm"));
        UnpackBench.Layer layer = UnpackBench.mixedLayer(megabytes * 1_000_000L);
        byte[] gzip = UnpackBench.gzip(layer.tar());
        byte[] zstd = UnpackBench.zstd(layer.tar());
        Path gzipFile = Files.createTempFile(tmpfs, "gzip-bench-", ".gz");
        try {
            Files.write(gzipFile, gzip);
            System.out.printf(Locale.ROOT, "GzipDecoderBench: %.1f MB uncompressed, gzip -6 %.1f MB, zstd -3 %.1f MB;"
                            + " ISA-L %s; %d runs, medians; %d cores%n", layer.tar().length / 1e6, gzip.length / 1e6,
                    zstd.length / 1e6, GzipDecoder.isalUnavailable().map(r -> "NOT USED: " + r).orElse("usable"),
                    runs, Runtime.getRuntime().availableProcessors());
            List<Variant> variants = new ArrayList<>();
            variants.add(new Variant("java.util.zip (zlib), + DiffID", () -> inProcess(GzipDecoder.JDK, gzip)));
            if (GzipDecoder.isalUnavailable().isEmpty()) {
                variants.add(new Variant("ISA-L via FFM, + DiffID", () -> inProcess(GzipDecoder.ISAL, gzip)));
            }
            for (String[] command : List.of(new String[] {"gzip", "-dc"}, new String[] {"pigz", "-dc"},
                    new String[] {"libdeflate-gunzip", "-c"}, new String[] {"igzip", "-dc"})) {
                if (onPath(command[0])) {
                    variants.add(new Variant(String.join(" ", command) + " (process), + DiffID",
                            () -> external(command, gzipFile)));
                }
            }
            variants.add(new Variant("zstd-jni, zstd -3 data, + DiffID",
                    () -> decompress(TarFixtures.OCI_ZSTD, zstd, GzipDecoder.JDK)));
            variants.add(new Variant("pipeline to tmpfs, java.util.zip", () -> apply(GzipDecoder.JDK, gzip, tmpfs)));
            if (GzipDecoder.isalUnavailable().isEmpty()) {
                variants.add(new Variant("pipeline to tmpfs, ISA-L", () -> apply(GzipDecoder.ISAL, gzip, tmpfs)));
            }

            double[][] rates = new double[variants.size()][runs];
            for (int round = 0; round < runs; round++) {
                for (int v = 0; v < variants.size(); v++) {
                    long start = System.nanoTime();
                    variants.get(v).run().run();
                    rates[v][round] = layer.tar().length / 1e6 / ((System.nanoTime() - start) / 1e9);
                }
            }
            double base = median(rates[0]);
            for (int v = 0; v < variants.size(); v++) {
                System.out.printf(Locale.ROOT, "GzipDecoderBench: %-40s %6.0f MB/s  %5.2fx  (runs:%s)%n",
                        variants.get(v).name(), median(rates[v]), median(rates[v]) / base, list(rates[v]));
            }
        } finally {
            Files.deleteIfExists(gzipFile);
        }
    }

    private static void inProcess(GzipDecoder decoder, byte[] gzip) throws IOException {
        decompress(TarFixtures.OCI_GZIP, gzip, decoder);
    }

    private static void decompress(String mediaType, byte[] blob, GzipDecoder decoder) throws IOException {
        try (InputStream in = new DigestInputStream(Decompression.open(mediaType, new ByteArrayInputStream(blob),
                "bench", decoder), Digest.newSha256())) {
            in.transferTo(OutputStream.nullOutputStream());
        }
    }

    /** The command's decompressed standard output, hashed here, as a runtime reading an unpigz pipe does. */
    private static void external(String[] command, Path gzipFile) throws Exception {
        List<String> args = new ArrayList<>(Arrays.asList(command));
        args.add(gzipFile.toString());
        Process p = new ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (InputStream in = new DigestInputStream(p.getInputStream(), Digest.newSha256())) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException(args + " exited " + p.exitValue());
        }
    }

    private static void apply(GzipDecoder decoder, byte[] gzip, Path base) throws IOException {
        Path dir = Files.createTempDirectory(base, "gzip-bench-");
        try {
            LayerPipeline.Result result = LayerPipeline.run(new ByteArrayInputStream(gzip), TarFixtures.OCI_GZIP,
                    dir, "bench", LayerApplier.tar(), UnpackLimits.defaults().withGzipDecoder(decoder));
            result.applied().finish(List.of());
        } finally {
            FileTrees.deleteContents(dir);
            Files.delete(dir);
        }
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static String list(double[] values) {
        StringBuilder all = new StringBuilder();
        for (double r : values) {
            all.append(String.format(Locale.ROOT, " %.0f", r));
        }
        return all.toString();
    }
}

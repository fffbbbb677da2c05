package dev.singlepull.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: prints what {@code singlepull load-test} reports for N=1 and N=20 cold pulls of one image, with the
 * registry's blob and manifest request counts per round, against a service started by the launcher in its own
 * process. Run with {@code scripts/bench.sh} (profile {@code bench}); size with {@code -Dbench.imageMb=100} and
 * {@code -Dbench.repeat=3}.
 */
class LoadTestBench {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();

    @TempDir
    Path dir;

    @Test
    void loadTestColdPulls() throws Exception {
        long imageBytes = Long.getLong("bench.imageMb", 100) * 1_000_000L;
        int repeat = Integer.getInteger("bench.repeat", 3);
        try (RegistryProcess registry = RegistryProcess.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("bench/app", "v1", imageBytes, 99));
            Path socket = dir.resolve("cri.sock");
            Process service = new ProcessBuilder(PROJECT.resolve("bin/singlepull").toString(), "serve",
                    "--root", dir.resolve("root").toString(), "--socket", socket.toString(), "--metrics-address", "")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("service.log").toFile()).start();
            try {
                awaitSocket(service, socket);
                System.out.printf("image %s: %d layers, %.1f MB compressed%n", image.reference(),
                        image.layerDigests().size(), image.totalSize() / 1e6);
                for (int n : List.of(1, 20)) {
                    for (int round = 1; round <= repeat; round++) {
                        registry.awaitLogQuiet();
                        registry.clearLog();
                        String line = loadTest(image.reference(), n, socket);
                        registry.awaitLogQuiet();
                        System.out.printf("%s blob_gets=%d manifest_requests=%d%n", line.strip(),
                                registry.blobGetsTotal(), registry.manifestRequests());
                        assertEquals(image.layerDigests().size() + 1, registry.blobGetsTotal(),
                                "each blob fetched once per cold round");
                    }
                }
            } finally {
                service.destroy();
                service.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static String loadTest(String ref, int n, Path socket) throws Exception {
        Process p = new ProcessBuilder(PROJECT.resolve("bin/singlepull").toString(), "load-test", "--image", ref,
                "-n", Integer.toString(n), "--repeat", "1", "--endpoint", "unix://" + socket)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private static void awaitSocket(Process service, Path socket) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!Files.exists(socket)) {
            if (!service.isAlive() || Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("service did not start");
            }
            Thread.sleep(100);
        }
    }
}

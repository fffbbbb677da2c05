package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built launcher, {@code bin/singlepull serve}, as a separate process, driven by an independent client: Python
 * stubs that Debian's grpc tools generate from the same proto. If this works, the wire names and field numbers are
 * the CRI's, not just whatever our own Java stubs agree on.
 */
@Timeout(300)
class LauncherAndPythonClientIT {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static RegistryProcess registry;
    private static Process service;
    private static Path socket;

    @BeforeAll
    static void start() throws Exception {
        registry = RegistryProcess.start();
        socket = dir.resolve("cri.sock");
        service = new ProcessBuilder(PROJECT.resolve("bin/singlepull").toString(), "serve",
                "--root", dir.resolve("root").toString(), "--socket", socket.toString(), "--metrics-address", "")
                .redirectErrorStream(true).redirectOutput(dir.resolve("service.log").toFile()).start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!Files.exists(socket)) {
            if (!service.isAlive() || Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("service did not start: "
                        + Files.readString(dir.resolve("service.log")));
            }
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (service != null) {
            service.destroy(); // SIGTERM: the shutdown hook closes the socket and the database
            assertTrue(service.waitFor(30, TimeUnit.SECONDS), "service stops on SIGTERM");
            assertEquals(false, Files.exists(socket), "socket removed on shutdown");
        }
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void socketIsGroupReadableOnly() throws IOException {
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(socket)));
    }

    @Test
    void pythonClientPullsListsInspectsAndRemoves() throws Exception {
        assumeTrue(Files.isExecutable(PYTHON), "Debian's python3 with python3-grpcio is needed");
        PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/python", "v1", 200_000, 51));

        JsonNode version = client("version");
        assertEquals("singlepull", version.path("runtime_name").asText());

        JsonNode pulled = client("pull", image.reference());
        assertEquals(image.configDigest(), pulled.path("image_ref").asText());

        JsonNode images = client("images");
        assertTrue(images.toString().contains(image.configDigest()), images.toString());

        JsonNode status = client("status", image.reference(), "--verbose");
        assertEquals(image.configDigest(), status.path("image").path("id").asText());
        assertEquals(1000, status.path("image").path("uid").asLong());
        assertTrue(status.path("info").toString().contains("chainID"), status.toString());

        JsonNode fs = client("fsinfo");
        assertTrue(fs.toString().contains("used_bytes"), fs.toString());

        client("rmi", image.reference());
        assertTrue(client("status", image.reference()).path("image").isNull());

        JsonNode bad = clientExpectingFailure("pull", "Not/A/Valid:Ref!");
        assertEquals("INVALID_ARGUMENT", bad.path("error_code").asText());
    }

    private JsonNode client(String... args) throws Exception {
        Result r = runClient(args);
        assertEquals(0, r.exit, "python client " + String.join(" ", args) + ": " + r.output);
        return JSON.readTree(r.output);
    }

    private JsonNode clientExpectingFailure(String... args) throws Exception {
        Result r = runClient(args);
        assertEquals(3, r.exit, r.output);
        return JSON.readTree(r.output);
    }

    private record Result(int exit, String output) { }

    private Result runClient(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString(),
                PROJECT.resolve("test/src/test/python/cri_client.py").toString(), "--socket", socket.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }
}

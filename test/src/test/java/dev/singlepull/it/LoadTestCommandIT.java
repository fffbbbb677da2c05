package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.it.fixture.InProcessCli;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code singlepull load-test} against the service over its socket: every round starts cold (the image removed and
 * collected), the N calls share one download per blob, and {@code --probe-list-images} times ListImages beside the
 * pulls and reports it on the round's line.
 */
class LoadTestCommandIT {
    private static final Pattern LIST_CALLS = Pattern.compile("list_images=(\\d+) .* list_failures=(\\d+)");

    @Test
    void coldRoundsShareOneDownloadAndTheProbeReportsListImages() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start(); SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/load", "v1", 2_000_000, 91));
            registry.awaitLogQuiet();
            registry.clearLog();

            var result = InProcessCli.run("load-test", "--image", image.reference(), "-n", "8", "--repeat", "2",
                    "--probe-list-images", "10", "--endpoint", "unix://" + server.socket());

            assertEquals(0, result.exit(), result.all());
            String[] rounds = result.out().lines().filter(l -> l.startsWith("round ")).toArray(String[]::new);
            assertEquals(2, rounds.length, result.out());
            for (String round : rounds) {
                assertTrue(round.contains("n=8") && round.contains("failures=0"), round);
                Matcher m = LIST_CALLS.matcher(round);
                assertTrue(m.find(), round);
                assertTrue(Integer.parseInt(m.group(1)) >= 1, "the probe called ListImages: " + round);
                assertEquals("0", m.group(2), round);
            }
            registry.awaitLogQuiet();
            int blobs = image.layerDigests().size() + 1; // the layers and the config
            assertEquals(2L * blobs, registry.blobGetsTotal(), "each round cold, each blob once per round");
            assertEquals(2 * image.totalSize(), registry.blobBytesServed(), "every byte of the image, once per round");
        }
    }
}

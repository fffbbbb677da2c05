package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.pull.ParallelParts;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.ProxyRequest;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.unpack.SnapshotInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A big blob downloaded as parallel ranges, each written at its offset, through the counting proxy: the parts
 * cover the blob exactly once, a cut part resumes inside its range, and a server that ignores ranges gets one
 * stream.
 */
@Timeout(120)
class ParallelRangesIT {
    private static final int DATA_BYTES = 6_000_000;
    private static final long PART = 1L << 20;
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");
    private static RegistryProcess registry;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
    }

    @AfterAll
    static void stop() {
        registry.close();
    }

    private static SinglepullServer server() {
        return SinglepullServer.start(b -> b.parallelParts(new ParallelParts(3, PART)));
    }

    private static void pull(SinglepullServer server, ProxyServer proxy, String name, PushedImage image)
            throws Exception {
        try (CriClient cri = server.client()) {
            assertEquals(image.imageId(),
                    cri.images().pullImage(Cri.pull(proxy.hostPort() + "/" + name)).getImageRef());
        }
        List<SnapshotInfo> snapshots = server.daemon().node().snapshots().list();
        Path file = snapshots.stream().map(s -> s.directory().resolve("data.bin")).filter(Files::exists)
                .findFirst().orElseThrow(() -> new AssertionError("no snapshot holds data.bin: " + snapshots));
        assertArrayEquals(LayerEntry.randomBytes(DATA_BYTES, seedOf(name)), Files.readAllBytes(file));
    }

    private static long seedOf(String name) {
        return name.hashCode();
    }

    private static PushedImage push(String name) {
        String[] repoTag = name.split(":");
        return TestImages.push(registry, SmallImages.of(repoTag[0], repoTag[1], seedOf(name), DATA_BYTES));
    }

    @Test
    void theLayerComesAsBoundedRangesCoveringItOnce() throws Exception {
        String name = "it/ranges:v1";
        PushedImage image = push(name);
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry); SinglepullServer server = server()) {
            pull(server, proxy, name, image);
            List<ProxyRequest> gets = proxy.requests().stream().filter(ProxyServer.blob(layer)).toList();
            long parts = (size + PART - 1) / PART;
            assertEquals(parts, gets.size(), "one GET per part: " + gets);
            var starts = new TreeSet<Long>();
            long covered = 0;
            for (ProxyRequest get : gets) {
                Matcher m = RANGE.matcher(get.header("Range").orElseThrow(() -> new AssertionError(get.toString())));
                assertTrue(m.matches(), get.toString());
                long from = Long.parseLong(m.group(1));
                long to = Long.parseLong(m.group(2));
                assertEquals(0, from % PART);
                assertEquals(Math.min(size, from + PART) - 1, to);
                starts.add(from);
                covered += to - from + 1;
            }
            assertEquals(parts, starts.size());
            assertEquals(size, covered);
            assertTrue(proxy.awaitIdle(Duration.ofSeconds(5)));
            assertEquals(size, proxy.bytesServed(layer), "every byte once");
        }
    }

    @Test
    void aCutPartResumesInsideItsRange() throws Exception {
        String name = "it/ranges-cut:v1";
        PushedImage image = push(name);
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry); SinglepullServer server = server()) {
            proxy.cutAfter(ProxyServer.blob(layer), PART / 2, 1);
            pull(server, proxy, name, image);
            assertEquals(1, proxy.cutConnections());
            assertEquals((size + PART - 1) / PART + 1, proxy.requests().stream().filter(ProxyServer.blob(layer))
                    .count(), "one more GET than parts");
            assertTrue(proxy.awaitIdle(Duration.ofSeconds(5)));
            assertTrue(proxy.bytesServed(layer) <= size + PART / 2, proxy.bytesServed(layer) + " served");
        }
    }

    @Test
    void aServerWithoutRangesGetsOneStream() throws Exception {
        String name = "it/no-ranges:v1";
        PushedImage image = push(name);
        String layer = image.layerDigests().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry); SinglepullServer server = server()) {
            proxy.ignoreRanges(true);
            pull(server, proxy, name, image);
            List<ProxyRequest> gets = proxy.requests().stream().filter(ProxyServer.blob(layer)).toList();
            assertTrue(gets.size() >= 2 && gets.size() <= 4, "the refused parts, then one stream: " + gets);
            // the last GET asks for the rest of the blob as one stream: no Range, or an open-ended one from the
            // bytes a refused part had already written (bytes=N-), never a bounded part
            String last = gets.getLast().header("Range").orElse("");
            assertTrue(last.isEmpty() || last.matches("bytes=\\d+-"), "the last GET is one stream: " + gets);
        }
    }
}

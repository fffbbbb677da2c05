package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.Node;
import dev.singlepull.dedup.FlightInfo;
import dev.singlepull.it.fixture.FaultPlan;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.unpack.SnapshotInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A layer unpacks from its download as the bytes arrive, and its snapshot is committed only from a verified blob:
 * seen in the flight tables while a throttling proxy slows the download, and through downloads that start over,
 * fail or bring the wrong bytes.
 */
@Timeout(120)
class UnpackWhileDownloadingIT {
    private static final int DATA_BYTES = 3_000_000;
    private static RegistryProcess registry;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
    }

    @AfterAll
    static void stop() {
        registry.close();
    }

    /** Pulls on another thread. */
    /**
     * Whether the unpack of {@code layer} (the chain flight whose progress counts the layer's {@code size} bytes)
     * had read some bytes while the layer's download was still running.
     */
    private static boolean unpackingWhileDownloading(Node node, String layer, long size) {
        List<FlightInfo> flights = node.flights();
        boolean downloading = flights.stream().anyMatch(f -> f.tier().equals("blob") && f.key().equals(layer)
                && f.progress().phase().equals("downloading") && f.progress().done() < size);
        boolean unpacking = flights.stream().anyMatch(f -> f.tier().equals("chain")
                && f.progress().phase().equals("unpacking") && f.progress().total() == size
                && f.progress().done() > 0);
        return downloading && unpacking;
    }

    /** Polls during the whole pull; true if the unpack was ever seen reading while the layer downloaded. */
    private static boolean watchPull(SinglepullServer server, String ref, PushedImage image) throws Exception {
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        CompletableFuture<String> pull = server.pullAsync(ref);
        boolean seen = false;
        while (!pull.isDone()) {
            seen |= unpackingWhileDownloading(server.daemon().node(), layer, size);
            Thread.sleep(20);
        }
        assertEquals(image.imageId(), pull.get(60, TimeUnit.SECONDS));
        return seen;
    }

    @Test
    void aLayerUnpacksWhileItDownloads() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/stream", "v1", 701, DATA_BYTES));
        String layer = image.layerDigests().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start()) {
            proxy.throttle(ProxyServer.blob(layer), 1_500_000); // about 2 s for the layer
            assertTrue(watchPull(server, proxy.hostPort() + "/it/stream:v1", image),
                    "the layer's unpack never read while its download ran");
            assertDataFileIntact(server, image, 701);
        }
    }

    @Test
    void withTheSettingOffALayerUnpacksOnlyOnceDownloaded() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/stream-off", "v1", 702, DATA_BYTES));
        String layer = image.layerDigests().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.unpackWhileDownloading(false))) {
            proxy.throttle(ProxyServer.blob(layer), 1_500_000);
            assertFalse(watchPull(server, proxy.hostPort() + "/it/stream-off:v1", image));
        }
    }

    @Test
    void aDownloadThatStartsOverIsUnpackedFromTheVerifiedBlob() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/restart", "v1", 703, DATA_BYTES));
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start()) {
            proxy.ignoreRanges(true); // the resume after the cut gets the whole blob: the ingest starts over
            proxy.throttle(ProxyServer.blob(layer), 3_000_000);
            proxy.cutAfter(ProxyServer.blob(layer), size / 2, 1);
            assertEquals(image.imageId(), server.pullAsync(proxy.hostPort() + "/it/restart:v1")
                    .get(60, TimeUnit.SECONDS));
            assertEquals(2, proxy.requests().stream().filter(ProxyServer.blob(layer)).count());
            assertDataFileIntact(server, image, 703);
        }
    }

    @Test
    void aDownloadThatFailsFailsThePullWithItsOwnErrorAndCommitsNoSnapshot() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/broken", "v1", 704, DATA_BYTES));
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.registry(r -> r.withMaxBlobResumes(1)))) {
            proxy.cutAfter(ProxyServer.blob(layer), size / 4, FaultPlan.ALWAYS); // every response, resumes too
            var e = assertThrows(ExecutionException.class,
                    () -> server.pullAsync(proxy.hostPort() + "/it/broken:v1").get(60, TimeUnit.SECONDS));
            Status status = Status.fromThrowable(e.getCause());
            assertEquals(Status.Code.UNAVAILABLE, status.getCode(), String.valueOf(status));
            assertTrue(status.getDescription().contains("broke after"), status.getDescription());
            assertTrue(e.getCause() instanceof StatusRuntimeException);
            assertNoSnapshotHoldsTheData(server);
        }
    }

    @Test
    void aBlobWithTheWrongBytesFailsAsDataLossAndCommitsNoSnapshotOfIt() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/tampered", "v1", 705, DATA_BYTES));
        String layer = image.layerDigests().getLast();
        registry.corruptBlob(layer);
        try (SinglepullServer server = SinglepullServer.start()) {
            var e = assertThrows(ExecutionException.class,
                    () -> server.pullAsync(image.reference()).get(60, TimeUnit.SECONDS));
            Status status = Status.fromThrowable(e.getCause());
            assertEquals(Status.Code.DATA_LOSS, status.getCode(), String.valueOf(status));
            assertTrue(status.getDescription().contains(layer), status.getDescription());
            assertNoSnapshotHoldsTheData(server);
        }
    }

    private static void assertNoSnapshotHoldsTheData(SinglepullServer server) {
        List<SnapshotInfo> snapshots = server.daemon().node().snapshots().list();
        assertTrue(snapshots.stream().noneMatch(s -> Files.exists(s.directory().resolve("data.bin"))),
                "the failed layer was committed: " + snapshots);
    }

    /** The image's layers are committed, and its data file holds what the image was built with. */
    private static void assertDataFileIntact(SinglepullServer server, PushedImage image, long seed)
            throws Exception {
        List<SnapshotInfo> snapshots = server.daemon().node().snapshots().list();
        assertEquals(image.layerDigests().size(), snapshots.size());
        Path file = snapshots.stream().map(s -> s.directory().resolve("data.bin")).filter(Files::exists)
                .findFirst().orElseThrow(() -> new AssertionError("no snapshot holds data.bin: " + snapshots));
        assertArrayEquals(LayerEntry.randomBytes(DATA_BYTES, seed), Files.readAllBytes(file));
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.BuiltImage;
import dev.singlepull.it.fixture.BuiltLayer;
import dev.singlepull.it.fixture.Compression;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.LayerTar;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.it.fixture.UmociOracle;
import dev.singlepull.it.fixture.UmociOracle.Layer;
import dev.singlepull.content.Digest;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile and corrupt layers pulled over the real socket: each fails with the right status and a message naming the
 * layer (and the entry), writes nothing outside the root, and commits no snapshot for that layer.
 */
@Timeout(300)
class HostileLayerIT {
    private static final AtomicInteger TAGS = new AtomicInteger();
    private static RegistryProcess registry;
    private static SinglepullServer server;
    private static Path sentinel;

    @BeforeAll
    static void start() throws IOException {
        registry = RegistryProcess.start();
        server = SinglepullServer.start(b -> b.expansionLimit(100, 1 << 20));
        sentinel = Files.createDirectories(server.root().getParent().resolve("sentinel"));
        Files.writeString(sentinel.resolve("secret"), "keep");
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void entriesEscapingTheLayerAreInvalidArgument() throws IOException {
        String outside = sentinel.toString();
        assertRefused(Status.Code.INVALID_ARGUMENT, "'../../escape'", tar(t -> t.file("../../escape", "x", 0644)));
        assertRefused(Status.Code.INVALID_ARGUMENT, "'/../../etc/evil'",
                tar(t -> t.file("/../../etc/evil", "x", 0644)));
        assertRefused(Status.Code.INVALID_ARGUMENT, "'passwd'",
                tar(t -> t.hardlink("passwd", "../../../etc/passwd")));
        assertRefused(Status.Code.INVALID_ARGUMENT, "'../.wh.sentinel'", tar(t -> t.file("../.wh.sentinel", "", 0644)));
        assertRefused(Status.Code.INVALID_ARGUMENT, "'s/pwned'",
                tar(t -> t.symlink("s", outside).file("s/pwned", "evil", 0644)));
        assertRefused(Status.Code.INVALID_ARGUMENT, "'stolen'",
                tar(t -> t.symlink("s", outside).hardlink("stolen", "s/secret")));
    }

    @Test
    void writingThroughALowerLayersSymlinkIsInvalidArgument() throws IOException {
        Layer lower = new Layer(LayerTar.pax().symlink("lib", sentinel.toString()).build(), Compression.GZIP);
        Layer upper = new Layer(LayerTar.pax().file("lib/evil.so", "x", 0644).build(), Compression.GZIP);
        BuiltImage image = UmociOracle.build("it/hostile", "lower-symlink", List.of(lower, upper));
        var e = pull(image);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().getDescription());
        assertNames(e, image.primary().layers().get(1).digest(), "'lib/evil.so'");
        List<ChainId> chain = ChainId.chain(image.primary().diffIds().stream().map(Digest::parse).toList());
        assertTrue(snapshots().contains(chain.get(0).toString()), "the lower layer itself is fine");
        assertNoSnapshot(chain.get(1).toString());
        assertNothingOutside();
    }

    @Test
    void aDecompressionBombIsResourceExhausted() throws IOException {
        Layer bomb = new Layer(LayerTar.pax().file("zeros.img", new byte[16 << 20], 0644).build(), Compression.GZIP);
        BuiltImage image = UmociOracle.build("it/hostile", "bomb", List.of(bomb));
        assertTrue(image.primary().layers().getFirst().size() < 1 << 20);
        var e = pull(image);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().getDescription());
        assertNames(e, image.primary().layers().getFirst().digest(), "'zeros.img'");
        assertNoSnapshotOf(image.primary().layers().getFirst());
        assertNothingOutside();
    }

    @Test
    void corruptLayersAreDataLoss() throws IOException {
        // a tar whose header promises more data than follows
        byte[] lying = LayerTar.pax().file("big", "only a few bytes", 0644).build();
        patchSize(lying, 0, 1 << 20);
        assertRefused(Status.Code.DATA_LOSS, "malformed tar", lying);

        // a truncated gzip stream (the blob's own digest is right: the registry checks it)
        byte[] tar = LayerTar.pax().file("data", new byte[300_000], 0644).file("more", "m", 0644).build();
        BuiltLayer whole = UmociOracle.layer(new Layer(tar, Compression.GZIP));
        byte[] cut = Arrays.copyOf(whole.bytes(), whole.bytes().length - 40);
        var truncated = new BuiltLayer(whole.mediaType(), TestImages.sha256Digest(cut), whole.diffId(), cut.length,
                cut, Compression.GZIP);
        var e = pull(UmociOracle.assemble("it/hostile", next(), List.of(truncated)));
        assertEquals(Status.Code.DATA_LOSS, e.getStatus().getCode(), e.getStatus().getDescription());
        assertNames(e, truncated.digest(), "gzip");
        assertNoSnapshotOf(truncated);

        // a DiffID that does not match the uncompressed layer
        BuiltLayer good = UmociOracle.layer(new Layer(LayerTar.pax().file("f", "f", 0644).build(), Compression.GZIP));
        var wrongDiffId = new BuiltLayer(good.mediaType(), good.digest(), TestImages.sha256Digest("other".getBytes()),
                good.size(), good.bytes(), good.compression());
        var d = pull(UmociOracle.assemble("it/hostile", next(), List.of(wrongDiffId)));
        assertEquals(Status.Code.DATA_LOSS, d.getStatus().getCode(), d.getStatus().getDescription());
        assertNames(d, good.digest(), "DiffID");
        assertNoSnapshotOf(wrongDiffId);
        assertNothingOutside();
    }

    // ---------------------------------------------------------------- helpers

    private interface Entries {
        LayerTar add(LayerTar t);
    }

    private static byte[] tar(Entries entries) {
        return entries.add(LayerTar.pax()).build();
    }

    private static String next() {
        return "case-" + TAGS.incrementAndGet();
    }

    private void assertRefused(Status.Code code, String mention, byte[] tar) throws IOException {
        BuiltImage image = UmociOracle.build("it/hostile", next(), List.of(new Layer(tar, Compression.GZIP)));
        var e = pull(image);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().getDescription());
        assertNames(e, image.primary().layers().getFirst().digest(), mention);
        assertNoSnapshotOf(image.primary().layers().getFirst());
        assertNothingOutside();
    }

    private static StatusRuntimeException pull(BuiltImage image) {
        PushedImage pushed = TestImages.push(registry.baseUri(), null, image, image.spec().repository(),
                image.spec().tag());
        try (CriClient cri = server.client()) {
            return assertThrows(StatusRuntimeException.class, () -> cri.images().pullImage(Cri.pull(pushed.reference())));
        }
    }

    private static void assertNames(StatusRuntimeException e, String layerDigest, String mention) {
        String message = e.getStatus().getDescription();
        assertTrue(message.contains(layerDigest), "names the layer: " + message);
        assertTrue(message.contains(mention), "mentions " + mention + ": " + message);
    }

    /** A bottom layer's ChainID is its DiffID. */
    private static void assertNoSnapshotOf(BuiltLayer bottomLayer) {
        assertNoSnapshot(bottomLayer.diffId());
    }

    private static Set<String> snapshots() {
        return server.daemon().node().snapshots().list().stream().map(SnapshotInfo::chainId)
                .map(Object::toString).collect(Collectors.toSet());
    }

    private static void assertNoSnapshot(String chainId) {
        Set<String> chains = snapshots();
        assertTrue(!chains.contains(chainId), "no snapshot for " + chainId + " in " + chains);
        try (Stream<Path> dirs = Files.list(server.root().resolve("snapshots"))) {
            List<String> staging = dirs.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("staging-"))
                    .toList();
            assertEquals(List.of(), staging, "no staging directory left");
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    private static void assertNothingOutside() throws IOException {
        try (Stream<Path> children = Files.list(server.root().getParent())) {
            assertEquals(Set.of("root", "cri.sock", "cri-snapshotter.sock", "sentinel"),
                    children.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
        }
        try (Stream<Path> children = Files.list(sentinel)) {
            assertEquals(List.of(sentinel.resolve("secret")), children.toList());
        }
        assertEquals("keep", Files.readString(sentinel.resolve("secret")));
    }

    /** Sets the size field of the header at block {@code block} and fixes its checksum. */
    private static void patchSize(byte[] tar, int block, long size) {
        int at = block * 512;
        byte[] octal = String.format("%011o", size).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(octal, 0, tar, at + 124, 11);
        Arrays.fill(tar, at + 148, at + 156, (byte) ' ');
        long sum = 0;
        for (int i = at; i < at + 512; i++) {
            sum += tar[i] & 0xff;
        }
        byte[] checksum = String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(checksum, 0, tar, at + 148, 6);
        tar[at + 154] = 0;
    }
}

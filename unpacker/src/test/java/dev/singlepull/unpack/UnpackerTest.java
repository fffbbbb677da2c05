package dev.singlepull.unpack;

import static dev.singlepull.unpack.testing.TarFixtures.OCI_GZIP;
import static dev.singlepull.unpack.testing.TarFixtures.OCI_TAR;
import static dev.singlepull.unpack.testing.TarFixtures.OCI_ZSTD;
import static dev.singlepull.unpack.testing.TarFixtures.gzip;
import static dev.singlepull.unpack.testing.TarFixtures.tar;
import static dev.singlepull.unpack.testing.TarFixtures.zstd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import dev.singlepull.dedup.FlightInfo;
import dev.singlepull.dedup.FlightListener;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.snapshot.Snapshotter;
import dev.singlepull.unpack.snapshot.Staging;
import dev.singlepull.unpack.testing.InMemorySnapshotStore;
import dev.singlepull.unpack.testing.MapContentProvider;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class UnpackerTest {
    @TempDir
    Path root;
    final InMemorySnapshotStore store = new InMemorySnapshotStore();
    final MapContentProvider content = new MapContentProvider();
    SingleFlight<ChainId, SnapshotInfo> chains;
    DirectorySnapshotter snapshotter;
    Unpacker unpacker;

    private void start(int maxConcurrent, FlightListener listener) {
        start(maxConcurrent, listener, null);
    }

    private void start(int maxConcurrent, FlightListener listener, Duration grace) {
        start(new UnpackLimits(maxConcurrent), listener, grace);
    }

    private void start(UnpackLimits limits, FlightListener listener, Duration grace) {
        snapshotter = new DirectorySnapshotter(root, store);
        chains = SingleFlight.<ChainId, SnapshotInfo>builder("chain").listener(listener).grace(grace).build();
        unpacker = new Unpacker(content, snapshotter, chains, limits);
    }

    private void start() {
        start(4, FlightListener.NONE);
    }

    /** Stores a layer whose tar holds one file {@code name} with {@code text}, compressed as {@code mediaType}. */
    private LayerRef layer(String name, String text, String mediaType) {
        return layer(tar().dir("layer-" + name, 0755).file("layer-" + name + "/" + name, text).build(), mediaType);
    }

    private LayerRef layer(byte[] tar, String mediaType) {
        byte[] blob = switch (mediaType) {
            case OCI_GZIP -> gzip(tar);
            case OCI_ZSTD -> zstd(tar);
            default -> tar;
        };
        return new LayerRef(content.put(blob), mediaType, blob.length, Digest.sha256(tar));
    }

    private List<String> snapshotsDir() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("snapshots"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void anUnpackStartedWithASourceReadsItAndNotTheStore() throws Exception {
        start();
        byte[] tar = tar().dir("streamed", 0755).file("streamed/f", "from the source").build();
        byte[] blob = gzip(tar);
        var layer = new LayerRef(Digest.sha256(blob), OCI_GZIP, blob.length, Digest.sha256(tar)); // not in the store
        var opened = new AtomicInteger();
        SnapshotInfo info = unpacker.join(layer, new ChainId(layer.diffId()), null, () -> {
            opened.incrementAndGet();
            return new ByteArrayInputStream(blob);
        }).await();
        assertEquals(1, opened.get());
        assertEquals(0, content.opens());
        assertEquals("from the source", Files.readString(info.directory().resolve("streamed/f")));
    }

    @Test
    void aSourceThatBreaksFailsTheUnpackWithItsCauseAndCommitsNothing() throws Exception {
        start();
        byte[] tar = tar().dir("broken", 0755).file("broken/f", "x".repeat(100_000)).build();
        byte[] blob = gzip(tar);
        var layer = new LayerRef(Digest.sha256(blob), OCI_GZIP, blob.length, Digest.sha256(tar));
        var broken = new IOException("the download went away");
        var e = assertThrows(SinglepullException.class, () -> unpacker.join(layer, new ChainId(layer.diffId()), null,
                () -> new SequenceInputStream(new ByteArrayInputStream(blob, 0, blob.length / 2),
                        new InputStream() {
                            @Override
                            public int read() throws IOException {
                                throw broken;
                            }
                        })).await());
        Throwable cause = e;
        while (cause != null && cause != broken) {
            cause = cause.getCause();
        }
        assertSame(broken, cause, "the source's exception is kept as the cause: " + e);
        assertEquals(List.of(), snapshotter.list());
    }

    @Test
    void twentyConcurrentCallersForOneChainUnpackOnce() throws Exception {
        var joined = new CountDownLatch(19);
        var started = new CountDownLatch(1);
        start(4, new FlightListener() {
            @Override
            public void started(String tier) {
                started.countDown();
            }

            @Override
            public void joined(String tier) {
                joined.countDown();
            }
        });
        var gate = new CountDownLatch(1);
        content.wrapStreams(in -> new GatedStream(in, gate, null));
        LayerRef layer = layer("f", "shared", OCI_GZIP);
        ChainId chain = new ChainId(layer.diffId());

        List<Future<SnapshotInfo>> results = new ArrayList<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 20; i++) {
                results.add(threads.submit(() -> unpacker.unpack(layer, chain, null)));
            }
            started.await();
            joined.await(); // all 20 are attached to the one flight, whose work waits at the gate
            gate.countDown();
            Set<SnapshotInfo> distinct = new HashSet<>();
            for (var r : results) {
                distinct.add(r.get());
            }
            assertEquals(1, distinct.size());
        }
        assertEquals(1, unpacker.unpacksPerformed());
        assertEquals(1, content.opens());
        assertEquals(1, store.inserts());
        assertEquals(0, chains.inFlightCount());

        // committed: a later call finds the snapshot without unpacking
        SnapshotInfo again = unpacker.unpack(layer, chain, null);
        assertEquals(1, unpacker.unpacksPerformed());
        assertEquals(snapshotter.stat(chain).orElseThrow(), again);
        assertEquals("shared", Files.readString(again.directory().resolve("layer-f/f")));
    }

    @Test
    void unpackAllGivesOneSnapshotPerLayerWithParents() throws IOException {
        start();
        List<LayerRef> layers = List.of(layer("a", "A", OCI_GZIP), layer("b", "B", OCI_ZSTD),
                layer("c", "C", OCI_TAR));
        List<ChainId> ids = ChainId.chain(layers.stream().map(LayerRef::diffId).toList());

        List<SnapshotInfo> snapshots = unpacker.unpackAll(layers);

        assertEquals(3, snapshots.size());
        assertEquals(ids, snapshots.stream().map(SnapshotInfo::chainId).toList());
        assertNull(snapshots.get(0).parent());
        assertEquals(ids.get(0), snapshots.get(1).parent());
        assertEquals(ids.get(1), snapshots.get(2).parent());
        for (int i = 0; i < 3; i++) {
            String name = List.of("a", "b", "c").get(i);
            Path fs = snapshots.get(i).directory();
            try (Stream<Path> top = Files.list(fs)) {
                assertEquals(List.of(fs.resolve("layer-" + name)), top.toList()); // this layer's diff only
            }
            assertEquals(name.toUpperCase(), Files.readString(fs.resolve("layer-" + name + "/" + name)));
            assertEquals(snapshots.get(i), snapshotter.stat(ids.get(i)).orElseThrow());
            assertEquals(i == 0 ? null : ids.get(i - 1).toString(),
                    store.get(ids.get(i).toString()).orElseThrow().parent());
        }
        assertEquals(3, unpacker.unpacksPerformed());
        assertEquals(3, store.list().size());
        assertEquals(List.of(), unpacker.unpackAll(List.of()));
    }

    @Test
    void wrongDiffIdIsDataLossAndCommitsNothing() throws IOException {
        start();
        LayerRef good = layer("f", "content", OCI_GZIP);
        Digest wrong = Digest.sha256("something else".getBytes());
        LayerRef bad = new LayerRef(good.blob(), good.mediaType(), good.size(), wrong);

        var e = assertThrows(SinglepullException.class, () -> unpacker.unpack(bad, new ChainId(wrong), null));

        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains(good.blob().toString()), e.getMessage());
        assertTrue(e.getMessage().contains(wrong.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(good.diffId().toString()), e.getMessage());
        assertEquals(List.of(), store.list());
        assertEquals(List.of(), snapshotsDir());

        // failures are not cached: the next caller with the right DiffID succeeds
        SnapshotInfo info = unpacker.unpack(good, new ChainId(good.diffId()), null);
        assertEquals("content", Files.readString(info.directory().resolve("layer-f/f")));
    }

    @Test
    void truncatedBlobIsDataLossAndCommitsNothing() throws IOException {
        start();
        byte[] tar = tar().file("big", new byte[1 << 20], 0644).build();
        byte[] blob = gzip(tar);
        byte[] truncated = TarFixtures.truncate(blob, blob.length - 100);
        var layer = new LayerRef(content.put(truncated), OCI_GZIP, truncated.length, Digest.sha256(tar));

        var e = assertThrows(SinglepullException.class,
                () -> unpacker.unpack(layer, new ChainId(layer.diffId()), null));

        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertEquals(List.of(), store.list());
        assertEquals(List.of(), snapshotsDir());
    }

    @Test
    void hostileLayerIsInvalidArgumentAndCommitsNothing() throws IOException {
        start();
        LayerRef layer = layer(tar().file("ok", "fine").file("../../escape", "evil").build(), OCI_GZIP);

        var e = assertThrows(SinglepullException.class,
                () -> unpacker.unpack(layer, new ChainId(layer.diffId()), null));

        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertEquals(List.of(), store.list());
        assertEquals(List.of(), snapshotsDir());
    }

    @Test
    void missingBlobIsNotFoundAndUnknownMediaTypeIsFailedPrecondition() throws IOException {
        start();
        LayerRef layer = layer("f", "x", OCI_GZIP);
        var absent = new LayerRef(Digest.sha256("absent".getBytes()), OCI_GZIP, 10, layer.diffId());
        var e = assertThrows(SinglepullException.class,
                () -> unpacker.unpack(absent, new ChainId(absent.diffId()), null));
        assertEquals(ErrorKind.NOT_FOUND, e.kind());

        var odd = new LayerRef(layer.blob(), "application/vnd.oci.image.layer.v1.tar+lz4", 10, layer.diffId());
        var f = assertThrows(SinglepullException.class,
                () -> unpacker.unpack(odd, new ChainId(odd.diffId()), null));
        assertEquals(ErrorKind.FAILED_PRECONDITION, f.kind());
        assertTrue(f.getMessage().contains("tar+lz4"), f.getMessage());
        assertEquals(List.of(), snapshotsDir());
    }

    @Test
    void progressIsPublishedOnTheFlight() throws Exception {
        start();
        byte[] big = new byte[2 << 20];
        new Random(1).nextBytes(big);
        LayerRef layer = layer(tar().file("big", big, 0644).build(), OCI_GZIP);
        var gate = new CountDownLatch(1);
        var reached = new CountDownLatch(1);
        content.wrapStreams(in -> new GatedStream(in, gate, reached, 64 * 1024));

        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<SnapshotInfo> result = threads.submit(() -> unpacker.unpack(layer, new ChainId(layer.diffId()),
                    null));
            reached.await();
            FlightInfo flight = chains.flights().getFirst();
            assertEquals("unpacking", flight.progress().phase());
            assertEquals(layer.size(), flight.progress().total());
            assertTrue(flight.progress().done() >= 64 * 1024, "done " + flight.progress().done());
            gate.countDown();
            result.get();
        }
    }

    @Test
    void unpackPermitsBoundConcurrentUnpacks() throws Exception {
        start(2, FlightListener.NONE);
        List<LayerRef> layers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            layers.add(layer("l" + i, "content " + i, OCI_GZIP));
        }
        var open = new AtomicInteger();
        var maxOpen = new AtomicInteger();
        var twoOpen = new CountDownLatch(2);
        var gate = new CountDownLatch(1);
        content.wrapStreams(in -> {
            maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
            twoOpen.countDown();
            return new GatedStream(in, gate, null) {
                @Override
                public void close() throws IOException {
                    open.decrementAndGet();
                    super.close();
                }
            };
        });

        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<List<SnapshotInfo>> all = threads.submit(() -> unpacker.unpackAll(layers));
            twoOpen.await();
            gate.countDown();
            assertEquals(6, all.get().size());
        }
        assertEquals(2, maxOpen.get());
        assertEquals(6, unpacker.unpacksPerformed());
    }

    @Test
    void unpackAllThrowsTheFailureAndLeavesTheOtherLayersToFinish() throws IOException {
        start();
        LayerRef a = layer("a", "A", OCI_GZIP);
        LayerRef b = layer("b", "B", OCI_GZIP);
        LayerRef c = layer("c", "C", OCI_GZIP);
        var badB = new LayerRef(b.blob(), b.mediaType(), b.size(), Digest.sha256("not b".getBytes()));

        var e = assertThrows(SinglepullException.class, () -> unpacker.unpackAll(List.of(a, badB, c)));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());

        // the good layers' flights ran on (or are still running): asking again joins or finds them, no redo
        List<ChainId> ids = ChainId.chain(List.of(a.diffId(), badB.diffId(), c.diffId()));
        unpacker.unpack(a, ids.get(0), null);
        unpacker.unpack(c, ids.get(2), ids.get(1));
        assertEquals(3, unpacker.unpacksPerformed());
        assertEquals(Set.of(ids.get(0).toString(), ids.get(2).toString()),
                store.list().stream().map(r -> r.key()).collect(Collectors.toSet()));
    }

    @Test
    void whenTheLastCallerLeavesTheUnpackIsCancelledAndNothingCommitted() throws Exception {
        var cancelled = new CountDownLatch(1);
        start(4, new FlightListener() {
            @Override
            public void cancelled(String tier) {
                cancelled.countDown();
            }
        }, Duration.ZERO);
        byte[] big = new byte[1 << 20];
        new Random(3).nextBytes(big);
        LayerRef layer = layer(tar().file("big", big, 0644).build(), OCI_GZIP);
        var gate = new CountDownLatch(1); // never opened: only cancellation ends the read
        var reached = new CountDownLatch(1);
        content.wrapStreams(in -> new GatedStream(in, gate, reached, 64 * 1024));
        var outcome = new java.util.concurrent.CompletableFuture<Throwable>();

        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                unpacker.unpack(layer, new ChainId(layer.diffId()), null);
                outcome.complete(null);
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        reached.await();
        caller.interrupt();

        assertEquals(ErrorKind.CANCELLED, SinglepullException.kindOf(outcome.get()));
        cancelled.await(); // the work has returned, staging aborted
        assertEquals(List.of(), store.list());
        assertEquals(List.of(), snapshotsDir());
        assertEquals(1, unpacker.unpacksPerformed());
    }

    @Test
    void aLayerGivesUpItsPermitWhileItsCommitWaitsForTheDisk() throws Exception {
        LayerRef first = layer(tar().file("a", "a").build(), OCI_GZIP);
        LayerRef second = layer(tar().file("b", "b").build(), OCI_GZIP);
        ChainId firstId = ChainId.chain(List.of(first.diffId())).getFirst();
        ChainId secondId = ChainId.chain(List.of(second.diffId())).getFirst();
        var committing = new CountDownLatch(1);
        var diskDone = new CountDownLatch(1);
        snapshotter = new DirectorySnapshotter(root, store);
        Snapshotter slowDisk = new DelegatingSnapshotter(snapshotter) { // the first commit waits as on a slow sync
            @Override
            public SnapshotInfo commit(Staging staging, ChainId chainId, ChainId parent) {
                if (chainId.equals(firstId)) {
                    committing.countDown();
                    try {
                        diskDone.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
                return super.commit(staging, chainId, parent);
            }
        };
        chains = SingleFlight.<ChainId, SnapshotInfo>builder("chain").build();
        unpacker = new Unpacker(content, slowDisk, chains, new UnpackLimits(1));

        var firstCall = unpacker.join(first, firstId, null);
        committing.await();
        SnapshotInfo other = unpacker.unpack(second, secondId, null); // one permit, held by nobody now
        diskDone.countDown();

        assertEquals("b", Files.readString(other.directory().resolve("b")));
        assertEquals("a", Files.readString(firstCall.await().directory().resolve("a")));
        assertEquals(2, unpacker.unpacksPerformed());
    }

    @Test
    void aLayerThatLinksToTheLayerBelowWaitsForItWithoutHoldingItsPermit() throws Exception {
        LayerRef lower = layer(tar().dir("bin", 0711).file("bin/tool", "T".getBytes(), 0755).build(), OCI_GZIP);
        LayerRef upper = layer(tar().hardlink("usr/bin/tool", "bin/tool").file("bin/extra", "e").build(), OCI_ZSTD);
        List<ChainId> ids = ChainId.chain(List.of(lower.diffId(), upper.diffId()));
        var waiting = new CountDownLatch(1);
        snapshotter = new DirectorySnapshotter(root, store);
        Snapshotter watched = new DelegatingSnapshotter(snapshotter) { // tells when the upper layer looks below
            @Override
            public java.util.Optional<SnapshotInfo> stat(ChainId chainId) {
                if (chainId.equals(ids.get(0))) {
                    waiting.countDown();
                }
                return super.stat(chainId);
            }
        };
        chains = SingleFlight.<ChainId, SnapshotInfo>builder("chain").build();
        unpacker = new Unpacker(content, watched, chains, new UnpackLimits(1)); // the upper layer must give it back

        var upperCall = unpacker.join(upper, ids.get(1), ids.get(0)); // before the layer below even started
        waiting.await();
        assertEquals("waiting for the layers below", upperCall.progress().snapshot().phase());
        SnapshotInfo below = unpacker.unpack(lower, ids.get(0), null);
        SnapshotInfo above = upperCall.await();

        assertEquals(ids.get(0), above.parent());
        Path fs = above.directory();
        assertEquals(Files.getAttribute(fs.resolve("bin/tool"), "unix:ino"),
                Files.getAttribute(fs.resolve("usr/bin/tool"), "unix:ino"));
        assertEquals("T", Files.readString(fs.resolve("usr/bin/tool")));
        assertEquals(0711, (Integer) Files.getAttribute(fs.resolve("bin"), "unix:mode") & 07777,
                "bin, which the upper tar does not list, shows the lower directory");
        assertEquals(1, (Integer) Files.getAttribute(below.directory().resolve("bin/tool"), "unix:nlink"));
        assertEquals(2, unpacker.unpacksPerformed());
    }

    @Test
    void aLayerThatNeedsTheLayersBelowWaitsForEachOfThemNotOnlyItsParent() throws Exception {
        start(1, FlightListener.NONE);
        LayerRef bottom = layer(tar().dir("usr", 0750).dir("usr/src", 0700).file("usr/src/a", "a").build(), OCI_GZIP);
        LayerRef middle = layer(tar().file("m", "m").build(), OCI_GZIP); // needs nothing below: commits at once
        LayerRef top = layer(tar().dir("usr", 0750).dir("usr/src/top", 0755).file("usr/src/top/t", "t").build(),
                OCI_ZSTD); // does not list usr/src, which comes from the bottom layer
        List<ChainId> ids = ChainId.chain(List.of(bottom.diffId(), middle.diffId(), top.diffId()));

        var topCall = unpacker.join(top, ids.get(2), ids.get(1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!"waiting for the layers below".equals(topCall.progress().snapshot().phase())) {
            assertTrue(System.nanoTime() < deadline, "the top layer never waited for the layers below");
            Thread.sleep(5);
        }
        SnapshotInfo mid = unpacker.unpack(middle, ids.get(1), ids.get(0)); // committed while the bottom is not
        assertEquals(ids.get(1), mid.chainId());
        SnapshotInfo low = unpacker.unpack(bottom, ids.get(0), null);
        SnapshotInfo above = topCall.await();

        assertEquals(0700, (Integer) Files.getAttribute(above.directory().resolve("usr/src"), "unix:mode") & 07777,
                "usr/src, which the top tar does not list, shows the bottom layer's directory");
        assertEquals(ids.get(0), low.chainId());
        assertEquals(3, store.list().size());
    }

    @Test
    void unpackAllFinishesLayersThatNeedTheLayersBelowInOrder() throws IOException {
        start(2, FlightListener.NONE);
        List<LayerRef> layers = List.of(
                layer(tar().owner(5, 5).dir("opt", 0700).file("opt/a", "a").build(), OCI_GZIP),
                layer(tar().file("opt/b", "b").hardlink("a-link", "opt/a").build(), OCI_GZIP),
                layer(tar().file("opt/c", "c").hardlink("b-link", "opt/b").build(), OCI_TAR));

        List<SnapshotInfo> snapshots = unpacker.unpackAll(layers);

        for (SnapshotInfo s : snapshots) {
            assertEquals(0700, (Integer) Files.getAttribute(s.directory().resolve("opt"), "unix:mode") & 07777);
        }
        assertEquals("a", Files.readString(snapshots.get(1).directory().resolve("a-link")));
        assertEquals("b", Files.readString(snapshots.get(2).directory().resolve("b-link")));
        assertEquals(3, store.list().size());
    }

    @Test
    void writingUnderALowerLayersSymlinkIsInvalidArgumentAndCommitsNothing() throws IOException {
        start();
        LayerRef lower = layer(tar().symlink("lib", "/etc").build(), OCI_GZIP);
        LayerRef upper = layer(tar().file("lib/evil.so", "x").build(), OCI_GZIP);

        var e = assertThrows(SinglepullException.class, () -> unpacker.unpackAll(List.of(lower, upper)));

        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains(upper.blob().toString()) && e.getMessage().contains("'lib/evil.so'"),
                e.getMessage());
        assertEquals(List.of(new ChainId(lower.diffId()).toString()),
                store.list().stream().map(r -> r.key()).toList());
        assertEquals(1, snapshotsDir().size(), "only the lower layer's snapshot: " + snapshotsDir());
    }

    @Test
    void aDecompressionBombIsResourceExhaustedNamingTheLayerAndTheEntry() throws IOException {
        start(new UnpackLimits(2).withExpansionLimit(100, 4L << 20), FlightListener.NONE, null);
        byte[] zeros = new byte[64 << 20];
        LayerRef bomb = layer(tar().file("ok", "fine").file("zeros.img", zeros, 0644).build(), OCI_GZIP);
        assertTrue(bomb.size() < (1 << 20), "gzip makes " + bomb.size() + " bytes of it");

        var e = assertThrows(SinglepullException.class,
                () -> unpacker.unpack(bomb, new ChainId(bomb.diffId()), null));

        assertEquals(ErrorKind.RESOURCE_EXHAUSTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(bomb.blob().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'zeros.img'"), e.getMessage());
        assertTrue(e.getMessage().contains("max_layer_expansion_ratio"), e.getMessage());
        assertEquals(List.of(), store.list());
        assertEquals(List.of(), snapshotsDir());

        // the same layer passes with the check off
        start(new UnpackLimits(2).withExpansionLimit(0, 0), FlightListener.NONE, null);
        assertEquals(64 << 20, Files.size(unpacker.unpack(bomb, new ChainId(bomb.diffId()), null).directory()
                .resolve("zeros.img")));
    }

    @Test
    void waitingForLayersBelowThatNeverComeEndsWithDeadlineExceeded() throws IOException {
        start(new UnpackLimits(2).withLowerLayerWait(Duration.ofMillis(200)), FlightListener.NONE, null);
        LayerRef lower = layer(tar().file("f", "f").build(), OCI_GZIP);
        LayerRef upper = layer(tar().hardlink("g", "f").build(), OCI_GZIP);
        List<ChainId> ids = ChainId.chain(List.of(lower.diffId(), upper.diffId()));

        var e = assertThrows(SinglepullException.class, () -> unpacker.unpack(upper, ids.get(1), ids.get(0)));

        assertEquals(ErrorKind.DEADLINE_EXCEEDED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(upper.blob().toString()), e.getMessage());
        assertEquals(List.of(), snapshotsDir());
    }

    /** Blocks its first read past {@code after} bytes until {@code gate} opens, announcing it on {@code reached}. */
    private static class GatedStream extends FilterInputStream {
        private final CountDownLatch gate;
        private final CountDownLatch reached;
        private final long after;
        private long served;

        GatedStream(InputStream in, CountDownLatch gate, CountDownLatch reached) {
            this(in, gate, reached, 0);
        }

        GatedStream(InputStream in, CountDownLatch gate, CountDownLatch reached, long after) {
            super(in);
            this.gate = gate;
            this.reached = reached;
            this.after = after;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int limit = served < after ? (int) Math.min(len, after - served) : len;
            if (served >= after && gate.getCount() > 0) {
                if (reached != null) {
                    reached.countDown();
                }
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    throw new InterruptedIOException();
                }
            }
            int n = super.read(b, off, limit);
            served += Math.max(n, 0);
            return n;
        }

        @Override
        public int read() throws IOException {
            throw new UncheckedIOException(new IOException("single-byte reads not expected"));
        }
    }

    /** A snapshotter that does what another does; tests override the step they watch or slow down. */
    private static class DelegatingSnapshotter implements Snapshotter {
        private final Snapshotter inner;

        DelegatingSnapshotter(Snapshotter inner) {
            this.inner = inner;
        }

        @Override
        public java.util.Optional<SnapshotInfo> stat(ChainId chainId) {
            return inner.stat(chainId);
        }

        @Override
        public Staging prepare() {
            return inner.prepare();
        }

        @Override
        public SnapshotInfo commit(Staging staging, ChainId chainId, ChainId parent) {
            return inner.commit(staging, chainId, parent);
        }

        @Override
        public void abort(Staging staging) {
            inner.abort(staging);
        }

        @Override
        public long remove(ChainId chainId) {
            return inner.remove(chainId);
        }

        @Override
        public List<SnapshotInfo> list() {
            return inner.list();
        }
    }
}

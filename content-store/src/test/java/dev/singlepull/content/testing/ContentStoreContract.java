package dev.singlepull.content.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.IngestStatus;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour every {@link ContentStore} must have. A store implementation's test extends this class and says how
 * to open a store and how to move its clock.
 */
public abstract class ContentStoreContract {
    @TempDir
    protected Path dir;

    protected ContentStore store;

    /** A fresh, empty store under {@code dir}. */
    protected abstract ContentStore newStore(Path dir);

    /** Moves the store's clock forward (used to make ingests stale). */
    protected abstract void advanceClock(Duration by);

    @BeforeEach
    final void openStore() {
        store = newStore(dir);
    }

    @AfterEach
    final void closeStore() {
        store.close();
    }

    // ---- helpers

    protected static byte[] blob(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    protected final ContentInfo put(String ref, byte[] data) {
        try (ContentWriter writer = store.writer(ref, Digest.sha256(data), data.length)) {
            writer.write(ByteBuffer.wrap(data, (int) writer.offset(), data.length - (int) writer.offset()));
            return writer.commit();
        }
    }

    protected final byte[] read(Digest digest) {
        try (InputStream in = store.open(digest)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    protected static ErrorKind kindOf(Runnable action) {
        SinglepullException e = assertThrows(SinglepullException.class, action::run);
        return e.kind();
    }

    // ---- write, commit, read

    @Test
    void writeCommitAndReadBack() {
        byte[] data = blob(100_000, 1);
        Digest digest = Digest.sha256(data);
        ContentInfo info;
        try (ContentWriter writer = store.writer("layer-" + digest, digest, data.length)) {
            assertEquals(0, writer.offset());
            writer.write(ByteBuffer.wrap(data, 0, 40_000));
            writer.write(ByteBuffer.wrap(data, 40_000, data.length - 40_000));
            assertEquals(data.length, writer.offset());
            info = writer.commit();
        }
        assertEquals(digest, info.digest());
        assertEquals(data.length, info.size());
        assertArrayEquals(data, read(digest));
        assertEquals(info, store.info(digest).orElseThrow());
        assertEquals(List.of(digest), store.list().stream().map(ContentInfo::digest).toList());
        assertEquals(List.of(), store.ingests());
    }

    @Test
    void outputStreamAdapterWritesThroughAndStaysOpen() throws IOException {
        byte[] data = blob(70_000, 2);
        Digest digest = Digest.sha256(data);
        try (ContentWriter writer = store.writer("stream", digest, -1)) {
            try (OutputStream out = writer.asOutputStream()) {
                new ByteArrayInputStream(data).transferTo(out);
            }
            assertEquals(data.length, writer.offset());
            assertEquals(data.length, writer.commit().size());
        }
        assertArrayEquals(data, read(digest));
    }

    @Test
    void committingAnAlreadyCommittedBlobIsSuccess() {
        byte[] data = blob(5_000, 3);
        ContentInfo first = put("ref-a", data);
        ContentInfo again = put("ref-a", data);
        ContentInfo otherRef = put("ref-b", data);
        assertEquals(first, again);
        assertEquals(first, otherRef);
        assertArrayEquals(data, read(first.digest()));
        assertEquals(1, store.list().size());
        assertEquals(List.of(), store.ingests());
    }

    @Test
    void emptyBlobCommits() {
        ContentInfo info = put("empty", new byte[0]);
        assertEquals(0, info.size());
        assertArrayEquals(new byte[0], read(info.digest()));
    }

    // ---- mismatches

    @Test
    void digestMismatchIsDataLossAndLeavesOtherBlobsAlone() {
        byte[] good = blob(3_000, 4);
        ContentInfo committed = put("good", good);
        byte[] promised = blob(3_000, 5);
        Digest expected = Digest.sha256(promised);
        ContentWriter writer = store.writer("bad-ref", expected, promised.length);
        writer.write(ByteBuffer.wrap(blob(3_000, 6)));
        SinglepullException e = assertThrows(SinglepullException.class, writer::commit);
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains("bad-ref"), e.getMessage());
        assertTrue(e.getMessage().contains(expected.toString()), e.getMessage());
        assertEquals(List.of(), store.ingests());
        assertTrue(store.info(expected).isEmpty());
        assertArrayEquals(good, read(committed.digest()));
        // commit closed the writer: the ref is free again
        store.writer("bad-ref", expected, promised.length).close();
    }

    @Test
    void sizeMismatchIsDataLoss() {
        byte[] data = blob(2_000, 7);
        ContentWriter writer = store.writer("short", Digest.sha256(data), data.length + 1);
        writer.write(ByteBuffer.wrap(data));
        SinglepullException e = assertThrows(SinglepullException.class, writer::commit);
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains("short"), e.getMessage());
        assertEquals(List.of(), store.ingests());
        assertTrue(store.info(Digest.sha256(data)).isEmpty());
    }

    @Test
    void writingPastTheExpectedSizeIsDataLoss() {
        byte[] data = blob(2_000, 8);
        ContentWriter writer = store.writer("long", Digest.sha256(data), data.length - 1);
        assertEquals(ErrorKind.DATA_LOSS, kindOf(() -> writer.write(ByteBuffer.wrap(data))));
        assertEquals(List.of(), store.ingests());
        writer.close();
    }

    // ---- resume

    @Test
    void closedWriterResumesWhereItStopped() {
        byte[] data = blob(64_000, 9);
        Digest digest = Digest.sha256(data);
        int half = data.length / 2;
        try (ContentWriter writer = store.writer("resume", digest, data.length)) {
            writer.write(ByteBuffer.wrap(data, 0, half));
        }
        IngestStatus status = store.ingests().getFirst();
        assertEquals("resume", status.ref());
        assertEquals(digest, status.expected());
        assertEquals(half, status.offset());
        assertEquals(data.length, status.total());

        try (ContentWriter writer = store.writer("resume", digest, data.length)) {
            assertEquals(half, writer.offset());
            writer.write(ByteBuffer.wrap(data, half, data.length - half));
            assertEquals(digest, writer.commit().digest());
        }
        assertArrayEquals(data, read(digest));
    }

    @Test
    void resumedIngestVerifiesTheWholeBlob() {
        byte[] data = blob(10_000, 10);
        Digest digest = Digest.sha256(data);
        try (ContentWriter writer = store.writer("tampered", digest, data.length)) {
            writer.write(ByteBuffer.wrap(blob(5_000, 11))); // wrong first half
        }
        try (ContentWriter writer = store.writer("tampered", digest, data.length)) {
            assertEquals(5_000, writer.offset());
            writer.write(ByteBuffer.wrap(data, 5_000, 5_000));
            assertEquals(ErrorKind.DATA_LOSS, kindOf(writer::commit));
        }
        assertTrue(store.info(digest).isEmpty());
    }

    @Test
    void ingestOfAnotherDigestStartsOver() {
        byte[] first = blob(4_000, 12);
        byte[] second = blob(6_000, 13);
        try (ContentWriter writer = store.writer("reused", Digest.sha256(first), first.length)) {
            writer.write(ByteBuffer.wrap(first, 0, 1_000));
        }
        try (ContentWriter writer = store.writer("reused", Digest.sha256(second), second.length)) {
            assertEquals(0, writer.offset());
            writer.write(ByteBuffer.wrap(second));
            writer.commit();
        }
        assertArrayEquals(second, read(Digest.sha256(second)));
    }

    // ---- one writer per ref

    @Test
    void secondWriterOfAnOpenRefIsUnavailable() {
        byte[] data = blob(1_000, 14);
        Digest digest = Digest.sha256(data);
        try (ContentWriter first = store.writer("busy", digest, data.length)) {
            SinglepullException e = assertThrows(SinglepullException.class,
                    () -> store.writer("busy", digest, data.length));
            assertEquals(ErrorKind.UNAVAILABLE, e.kind());
            assertTrue(e.getMessage().contains("busy"), e.getMessage());
            store.writer("other-ref", digest, data.length).close(); // other refs are not blocked
            first.write(ByteBuffer.wrap(data));
        }
        store.writer("busy", digest, data.length).close(); // released by close
    }

    @Test
    void racingWritersOfOneRefGetExactlyOneWriter() throws Exception {
        byte[] data = blob(1_000, 15);
        Digest digest = Digest.sha256(data);
        int threads = 16;
        CountDownLatch start = new CountDownLatch(1);
        CountDownLatch opened = new CountDownLatch(threads);
        CountDownLatch release = new CountDownLatch(1);
        List<Future<ErrorKind>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit((Callable<ErrorKind>) () -> {
                    start.await();
                    ContentWriter writer;
                    try {
                        writer = store.writer("raced", digest, data.length);
                    } catch (SinglepullException e) {
                        opened.countDown();
                        return e.kind();
                    }
                    opened.countDown();
                    try (writer) {
                        assertTrue(release.await(30, TimeUnit.SECONDS));
                    }
                    return null;
                }));
            }
            start.countDown();
            assertTrue(opened.await(30, TimeUnit.SECONDS));
            release.countDown();
            Map<ErrorKind, Integer> outcomes = new HashMap<>();
            int winners = 0;
            for (Future<ErrorKind> result : results) {
                ErrorKind kind = result.get(30, TimeUnit.SECONDS);
                if (kind == null) {
                    winners++;
                } else {
                    outcomes.merge(kind, 1, Integer::sum);
                }
            }
            assertEquals(1, winners);
            assertEquals(Map.of(ErrorKind.UNAVAILABLE, threads - 1), outcomes);
        }
    }

    // ---- abort

    @Test
    void abortRemovesTheIngest() {
        byte[] data = blob(3_000, 16);
        Digest digest = Digest.sha256(data);
        try (ContentWriter writer = store.writer("doomed", digest, data.length)) {
            writer.write(ByteBuffer.wrap(data, 0, 1_000));
        }
        store.abort("doomed");
        assertEquals(List.of(), store.ingests());
        store.abort("doomed"); // absent is not an error
        store.abort("never-existed");
        try (ContentWriter writer = store.writer("doomed", digest, data.length)) {
            assertEquals(0, writer.offset());
        }
    }

    @Test
    void abortStaleRemovesOnlyIngestsNotUpdatedForTheAge() {
        byte[] data = blob(3_000, 17);
        try (ContentWriter writer = store.writer("stale", Digest.sha256(data), data.length)) {
            writer.write(ByteBuffer.wrap(data, 0, 1_000));
        }
        assertEquals(0, store.abortStale(Duration.ofHours(1)));
        assertEquals(1, store.ingests().size());
        advanceClock(Duration.ofHours(2));
        assertEquals(1, store.abortStale(Duration.ofHours(1)));
        assertEquals(List.of(), store.ingests());
    }

    // ---- usage, labels, delete

    @Test
    void usageCountsCommittedBytes() {
        ContentStore.Usage before = store.usage();
        put("sized", blob(12_345, 18));
        ContentStore.Usage after = store.usage();
        assertTrue(after.bytes() >= before.bytes() + 12_345, before + " -> " + after);
        assertTrue(after.inodes() > before.inodes(), before + " -> " + after);
    }

    @Test
    void labelsAreSetReadAndRemoved() {
        ContentInfo info = put("labelled", blob(100, 19));
        Digest digest = info.digest();
        assertEquals(Map.of(), info.labels());
        store.label(digest, Map.of("a", "1", "containerd.io/gc.ref.content.config", digest.toString()));
        assertEquals(Map.of("a", "1", "containerd.io/gc.ref.content.config", digest.toString()),
                store.info(digest).orElseThrow().labels());
        Map<String, String> change = new HashMap<>();
        change.put("a", null);
        change.put("b", "2");
        store.label(digest, change);
        assertEquals(Map.of("b", "2", "containerd.io/gc.ref.content.config", digest.toString()),
                store.info(digest).orElseThrow().labels());
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> store.label(Digest.sha256(new byte[] {1}), Map.of("a", "1"))));
    }

    @Test
    void deleteRemovesBlobAndLabels() {
        byte[] data = blob(100, 20);
        Digest digest = put("deleted", data).digest();
        store.label(digest, Map.of("a", "1"));
        store.delete(digest);
        assertTrue(store.info(digest).isEmpty());
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> store.open(digest)));
        store.delete(digest); // absent is not an error
        assertEquals(Map.of(), put("deleted", data).labels());
    }

    @Test
    void openOfAMissingBlobIsNotFound() {
        Digest missing = Digest.sha256(new byte[] {42});
        SinglepullException e = assertThrows(SinglepullException.class, () -> store.open(missing));
        assertEquals(ErrorKind.NOT_FOUND, e.kind());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertTrue(store.info(missing).isEmpty());
    }

    @Test
    void writerArgumentsAreValidated() {
        Digest digest = Digest.sha256(new byte[0]);
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> store.writer("", digest, 0)));
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> store.writer("r", null, 0)));
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> store.writer("r", digest, -2)));
    }
}

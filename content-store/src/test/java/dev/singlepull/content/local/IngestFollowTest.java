package dev.singlepull.content.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.IngestFollowException;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.testing.MutableClock;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Streams that read an ingest while its writer is still writing it. */
class IngestFollowTest {
    @TempDir
    Path dir;

    private MetadataDb db;
    private ContentStore store;

    @BeforeEach
    void open() {
        db = MetadataDb.open(dir.resolve("meta.db"));
        store = LocalContentStore.open(dir, db, MutableClock.startingNow());
    }

    @AfterEach
    void close() {
        store.close();
        db.close();
    }

    private static byte[] data(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Reads {@code in} to its end on another thread. */
    private static CompletableFuture<byte[]> readAll(InputStream in) {
        var result = new CompletableFuture<byte[]>();
        Thread.ofVirtual().start(() -> {
            try (in) {
                result.complete(in.readAllBytes());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    private static void assertPending(CompletableFuture<?> f) throws Exception {
        try {
            f.get(100, TimeUnit.MILLISECONDS);
            throw new AssertionError("should still be reading, got " + f.get());
        } catch (TimeoutException expected) {
            // still waiting
        }
    }

    private static Throwable failureOf(CompletableFuture<?> f) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void readsWhatIsWrittenAndEndsOnlyAtCommit() throws Exception {
        byte[] blob = data(300_000, 1);
        Digest digest = Digest.sha256(blob);
        ContentWriter writer = store.writer("ref-1", digest, blob.length);
        CompletableFuture<byte[]> read = readAll(store.follow("ref-1", digest));
        writer.write(ByteBuffer.wrap(blob, 0, 100_000));
        assertPending(read);
        writer.write(ByteBuffer.wrap(blob, 100_000, blob.length - 100_000));
        assertPending(read); // every byte is written, but it is not verified yet
        writer.commit();
        assertArrayEquals(blob, read.get(10, TimeUnit.SECONDS));
    }

    @Test
    void returnsBytesBeforeTheDownloadEnds() throws Exception {
        byte[] blob = data(200_000, 2);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter writer = store.writer("ref-2", digest, blob.length);
             InputStream in = store.follow("ref-2", digest)) {
            writer.write(ByteBuffer.wrap(blob, 0, 50_000));
            byte[] first = in.readNBytes(50_000);
            assertArrayEquals(Arrays.copyOf(blob, 50_000), first);
        }
    }

    @Test
    void waitsForAWriterThatOpensLater() throws Exception {
        byte[] blob = data(70_000, 3);
        Digest digest = Digest.sha256(blob);
        CompletableFuture<byte[]> read = readAll(store.follow("ref-3", digest));
        assertPending(read);
        try (ContentWriter writer = store.writer("ref-3", digest, blob.length)) {
            writer.write(ByteBuffer.wrap(blob));
            writer.commit();
        }
        assertArrayEquals(blob, read.get(10, TimeUnit.SECONDS));
    }

    @Test
    void startsWithTheBytesOfAResumedIngest() throws Exception {
        byte[] blob = data(90_000, 4);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter first = store.writer("ref-4", digest, blob.length)) {
            first.write(ByteBuffer.wrap(blob, 0, 40_000));
        }
        ContentWriter resumed = store.writer("ref-4", digest, blob.length);
        assertEquals(40_000, resumed.offset());
        try (InputStream in = store.follow("ref-4", digest)) {
            assertArrayEquals(Arrays.copyOf(blob, 40_000), in.readNBytes(40_000));
            resumed.write(ByteBuffer.wrap(blob, 40_000, blob.length - 40_000));
            resumed.commit();
            assertArrayEquals(Arrays.copyOfRange(blob, 40_000, blob.length), in.readAllBytes());
        }
    }

    @Test
    void aCommittedBlobIsSimplyRead() throws Exception {
        byte[] blob = data(10_000, 5);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter writer = store.writer("ref-5", digest, blob.length)) {
            writer.write(ByteBuffer.wrap(blob));
            writer.commit();
        }
        try (InputStream in = store.follow("another-ref", digest)) {
            assertArrayEquals(blob, in.readAllBytes());
        }
    }

    @Test
    void aWriterClosedWithoutCommitBreaksTheStream() throws Exception {
        byte[] blob = data(60_000, 6);
        Digest digest = Digest.sha256(blob);
        ContentWriter writer = store.writer("ref-6", digest, blob.length);
        InputStream in = store.follow("ref-6", digest);
        writer.write(ByteBuffer.wrap(blob, 0, 10_000));
        assertArrayEquals(Arrays.copyOf(blob, 10_000), in.readNBytes(10_000));
        CompletableFuture<byte[]> rest = readAll(in);
        writer.close(); // the download broke; the ingest stays for a later resume
        assertTrue(failureOf(rest) instanceof IngestFollowException);
    }

    @Test
    void aDigestMismatchBreaksTheStreamWithoutItsLastBytes() throws Exception {
        byte[] blob = data(60_000, 7);
        Digest promised = Digest.sha256(data(60_000, 8));
        ContentWriter writer = store.writer("ref-7", promised, blob.length);
        InputStream in = store.follow("ref-7", promised);
        writer.write(ByteBuffer.wrap(blob, 0, 10_000));
        // read on this thread first, so the follower has attached to the writer before the commit fails
        assertArrayEquals(Arrays.copyOf(blob, 10_000), in.readNBytes(10_000));
        CompletableFuture<byte[]> read = readAll(in);
        writer.write(ByteBuffer.wrap(blob, 10_000, blob.length - 10_000));
        assertThrows(SinglepullException.class, writer::commit);
        assertTrue(failureOf(read) instanceof IngestFollowException, "the follower never sees an end of stream");
        assertFalse(store.info(promised).isPresent());
    }

    @Test
    void closingFromAnotherThreadStopsAWaitingReader() throws Exception {
        Digest digest = Digest.sha256(data(1_000, 9));
        InputStream in = store.follow("ref-9", digest); // no writer will ever come
        CompletableFuture<byte[]> read = readAll(in);
        assertPending(read);
        in.close();
        assertTrue(failureOf(read) instanceof IngestFollowException);
    }

    @Test
    void anInterruptStopsAWaitingReader() throws Exception {
        Digest digest = Digest.sha256(data(1_000, 10));
        var failure = new CompletableFuture<Throwable>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = store.follow("ref-10", digest)) {
                in.read();
                failure.complete(null);
            } catch (IOException e) {
                failure.complete(e);
            }
        });
        Thread.sleep(50);
        reader.interrupt();
        assertTrue(failure.get(10, TimeUnit.SECONDS) instanceof InterruptedIOException);
    }
}

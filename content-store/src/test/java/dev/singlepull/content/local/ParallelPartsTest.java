package dev.singlepull.content.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.testing.MutableClock;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A blob written as parallel parts at their offsets, hashed in order as the prefix grows. */
class ParallelPartsTest {
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

    private static void part(ContentWriter writer, byte[] blob, int from, int to) {
        writer.writeAt(from, ByteBuffer.wrap(blob, from, to - from));
    }

    @Test
    void partsWrittenOutOfOrderFromManyThreadsCommitTheRightBlob() throws Exception {
        byte[] blob = data(4_000_000, 1);
        Digest digest = Digest.sha256(blob);
        int chunk = 100_000;
        List<Integer> starts = new ArrayList<>();
        for (int at = 0; at < blob.length; at += chunk) {
            starts.add(at);
        }
        Collections.shuffle(starts, new Random(2));
        try (ContentWriter writer = store.writer("parts", digest, blob.length);
             ExecutorService threads = Executors.newFixedThreadPool(4)) {
            List<Future<?>> done = new ArrayList<>();
            for (int start : starts) {
                done.add(threads.submit(() -> part(writer, blob, start, Math.min(blob.length, start + chunk))));
            }
            for (Future<?> f : done) {
                f.get();
            }
            assertEquals(blob.length, writer.offset());
            ContentInfo info = writer.commit();
            assertEquals(digest, info.digest());
        }
        try (InputStream in = store.open(digest)) {
            assertArrayEquals(blob, in.readAllBytes());
        }
    }

    @Test
    void theOffsetAndTheFollowersAdvanceOnlyOverTheContiguousPrefix() throws Exception {
        byte[] blob = data(300_000, 3);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter writer = store.writer("prefix", digest, blob.length);
             InputStream follower = store.follow("prefix", digest)) {
            part(writer, blob, 200_000, 300_000);
            part(writer, blob, 100_000, 200_000);
            assertEquals(0, writer.offset(), "nothing is contiguous from 0 yet");
            part(writer, blob, 0, 100_000);
            assertEquals(300_000, writer.offset());
            assertArrayEquals(Arrays.copyOf(blob, 300_000), follower.readNBytes(300_000));
            writer.commit();
            assertEquals(-1, follower.read());
        }
    }

    @Test
    void aCloseKeepsOnlyTheHashedPrefixForTheResume() throws Exception {
        byte[] blob = data(300_000, 4);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter writer = store.writer("resume", digest, blob.length)) {
            part(writer, blob, 0, 100_000);
            part(writer, blob, 200_000, 300_000); // a part past a gap: lost with the close
        }
        try (ContentWriter resumed = store.writer("resume", digest, blob.length)) {
            assertEquals(100_000, resumed.offset());
            resumed.write(ByteBuffer.wrap(blob, 100_000, 200_000));
            assertEquals(digest, resumed.commit().digest());
        }
    }

    @Test
    void aPartBeyondThePromisedSizeIsDataLoss() {
        byte[] blob = data(1_000, 5);
        ContentWriter writer = store.writer("too-long", Digest.sha256(blob), blob.length);
        var e = assertThrows(SinglepullException.class, () -> writer.writeAt(900, ByteBuffer.wrap(new byte[200])));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertEquals(List.of(), store.ingests());
    }
}

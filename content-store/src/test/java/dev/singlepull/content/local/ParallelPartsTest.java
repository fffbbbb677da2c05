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
    void aCloseKeepsThePartsWrittenAndTheResumeFillsOnlyTheGaps() throws Exception {
        byte[] blob = data(300_000, 4);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter writer = store.writer("resume", digest, blob.length)) {
            part(writer, blob, 0, 100_000);
            part(writer, blob, 200_000, 300_000); // a part past a gap: kept, with the journal naming it
        }
        try (ContentWriter resumed = store.writer("resume", digest, blob.length)) {
            assertEquals(100_000, resumed.offset());
            assertEquals(List.of(new ContentWriter.Extent(200_000, 300_000)), resumed.written());
            part(resumed, blob, 100_000, 200_000);
            assertEquals(300_000, resumed.offset(), "the gap joined the prefix to the part beyond it");
            assertEquals(digest, resumed.commit().digest());
        }
    }

    @Test
    void aStreamInOrderMayWriteAgainOverPartsKeptFromBefore() throws Exception {
        byte[] blob = data(300_000, 6);
        Digest digest = Digest.sha256(blob);
        try (ContentWriter writer = store.writer("again", digest, blob.length)) {
            part(writer, blob, 150_000, 250_000);
        }
        try (ContentWriter resumed = store.writer("again", digest, blob.length)) {
            assertEquals(0, resumed.offset());
            resumed.write(ByteBuffer.wrap(blob, 0, 200_000));
            assertEquals(List.of(), resumed.written(), "the stream passed the kept part's start");
            resumed.write(ByteBuffer.wrap(blob, 200_000, 100_000));
            assertEquals(digest, resumed.commit().digest());
        }
    }

    /**
     * A process killed while parts were written leaves a data file with holes and a length beyond its prefix. The
     * next process must not take the holes for data (it did: the resume re-hashed the whole file as its prefix, and
     * the commit failed with a digest mismatch, or a follower read zeros): it resumes from the prefix and the parts
     * its journal names, and a record cut short by the kill is ignored.
     */
    @Test
    void aResumeAfterAKillDuringPartsKnowsWhichBytesAreWritten() throws Exception {
        byte[] blob = data(400_000, 7);
        Digest digest = Digest.sha256(blob);
        ContentWriter killed = store.writer("killed", digest, blob.length);
        part(killed, blob, 0, 50_000);
        part(killed, blob, 300_000, 400_000); // the file is now 400,000 bytes long, with a hole at 50,000-300,000
        part(killed, blob, 100_000, 150_000);
        Path ingestDir = new IngestLayout(dir).ingestDir("killed");
        java.nio.file.Files.write(ingestDir.resolve(IngestLayout.EXTENTS), new byte[] {0, 0, 0, 0, 0, 1},
                java.nio.file.StandardOpenOption.APPEND); // a record cut short by the kill
        // the killed process never closes its writer; a new one opens the same root
        try (MetadataDb db2 = MetadataDb.open(dir.resolve("meta.db"));
             ContentStore restarted = LocalContentStore.open(dir, db2, MutableClock.startingNow())) {
            try (ContentWriter resumed = restarted.writer("killed", digest, blob.length);
                 InputStream follower = restarted.follow("killed", digest)) {
                assertEquals(50_000, resumed.offset(), "only the prefix without holes");
                assertEquals(List.of(new ContentWriter.Extent(100_000, 150_000),
                        new ContentWriter.Extent(300_000, 400_000)), resumed.written());
                part(resumed, blob, 50_000, 100_000);
                assertEquals(150_000, resumed.offset());
                part(resumed, blob, 150_000, 300_000);
                assertEquals(400_000, resumed.offset());
                assertArrayEquals(blob, follower.readNBytes(blob.length), "the follower read only written bytes");
                assertEquals(digest, resumed.commit().digest());
            }
        }
        try (InputStream in = store.open(digest)) {
            assertArrayEquals(blob, in.readAllBytes());
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

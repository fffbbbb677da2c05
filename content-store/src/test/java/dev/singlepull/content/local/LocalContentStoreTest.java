package dev.singlepull.content.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.Leases;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.ResourceCollector;
import dev.singlepull.content.testing.ContentStoreContract;
import dev.singlepull.content.testing.MutableClock;
import dev.singlepull.errdefs.ErrorKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LocalContentStoreTest extends ContentStoreContract {
    private final MutableClock clock = MutableClock.startingNow();
    private MetadataDb db;

    @Override
    protected ContentStore newStore(Path root) {
        db = MetadataDb.open(root.resolve("meta.db"));
        return LocalContentStore.open(root, db, clock);
    }

    @Override
    protected void advanceClock(Duration by) {
        clock.advance(by);
    }

    @AfterEach
    void closeDb() {
        db.close();
    }

    private int openWriters() {
        return ((LocalStore) store).openWriters();
    }

    private List<Path> filesUnder(Path path) throws IOException {
        try (Stream<Path> walk = Files.walk(path)) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void blobLandsAtItsContentAddressReadOnly() throws IOException {
        ContentInfo info = put("layout", blob(1_000, 100));
        Path file = dir.resolve("content/blobs/sha256/" + info.digest().hex());
        assertTrue(Files.isRegularFile(file));
        assertEquals(PosixFilePermissions.fromString("r--r--r--"), Files.getPosixFilePermissions(file));
        assertEquals(info.committedAt(), Files.getLastModifiedTime(file).toInstant());
    }

    @Test
    void nothingIsLeftUnderIngestAfterCommit() throws IOException {
        put("clean", blob(50_000, 101));
        assertEquals(List.of(), filesUnder(dir.resolve("content/ingest")));
        try (Stream<Path> entries = Files.list(dir.resolve("content/ingest"))) {
            assertEquals(0, entries.count());
        }
    }

    @Test
    void ingestHoldsItsDescriptionFiles() throws IOException {
        byte[] data = blob(1_000, 102);
        try (ContentWriter writer = store.writer("described", Digest.sha256(data), data.length)) {
            writer.write(ByteBuffer.wrap(data, 0, 10));
        }
        Path ingest = new IngestLayout(dir).ingestDir("described");
        assertEquals(Set.of("data", "ref", "expected", "total", "startedat"),
                Set.copyOf(Stream.of(ingest.toFile().list()).toList()));
        assertEquals("described", Files.readString(ingest.resolve("ref")));
        assertEquals(Digest.sha256(data).toString(), Files.readString(ingest.resolve("expected")));
        assertEquals(10, Files.size(ingest.resolve("data")));
    }

    @Test
    void usageIsExact() {
        ContentStore.Usage before = store.usage();
        put("exact", blob(12_345, 103));
        ContentStore.Usage after = store.usage();
        assertEquals(before.bytes() + 12_345, after.bytes());
        assertEquals(before.inodes() + 1, after.inodes());
    }

    @Test
    void usageFollowsCommitsDeletesAndIngestsWithoutWalkingBlobs() {
        ContentStore.Usage empty = store.usage();
        ContentInfo a = put("a", blob(10_000, 120));
        put("b", blob(5_000, 121));
        put("b-again", blob(5_000, 121)); // already committed: counted once
        assertEquals(empty.bytes() + 15_000, store.usage().bytes());
        byte[] partial = blob(8_000, 122);
        try (ContentWriter writer = store.writer("partial", Digest.sha256(partial), partial.length)) {
            writer.write(ByteBuffer.wrap(partial, 0, 3_000));
        }
        ContentStore.Usage withIngest = store.usage();
        assertTrue(withIngest.bytes() >= empty.bytes() + 18_000, "ingest data counts: " + withIngest);
        store.delete(a.digest());
        store.delete(a.digest()); // absent: not counted twice
        assertEquals(withIngest.bytes() - 10_000, store.usage().bytes());
        assertEquals(withIngest.inodes() - 1, store.usage().inodes());
        store.abort("partial");

        ContentStore reopened = LocalContentStore.open(dir, db, clock);
        assertEquals(store.usage(), reopened.usage(), "counted from disk on open");
        reopened.close();
    }

    @Test
    void checkFindsCorruptBlobsStrayFilesAndLeftoversAndRepairsWhenAsked() throws IOException {
        ContentInfo good = put("good", blob(4_000, 130));
        ContentInfo bad = put("bad", blob(4_000, 131));
        store.label(bad.digest(), java.util.Map.of("k", "v"));
        Path badFile = dir.resolve("content/blobs/sha256/" + bad.digest().hex());
        Files.setPosixFilePermissions(badFile, PosixFilePermissions.fromString("rw-r--r--"));
        byte[] bytes = Files.readAllBytes(badFile);
        bytes[100] ^= 1; // one flipped bit
        Files.write(badFile, bytes);
        Files.writeString(dir.resolve("content/blobs/sha256/not-a-digest"), "junk");
        Digest gone = Digest.sha256("gone".getBytes());
        db.setLabels(gone, java.util.Map.of("containerd.io/gc.ref.content.config", good.digest().toString()));
        byte[] partial = blob(6_000, 132);
        try (ContentWriter writer = store.writer("resumable", Digest.sha256(partial), partial.length)) {
            writer.write(ByteBuffer.wrap(partial, 0, 2_000));
        }

        var result = store.check(false);
        assertEquals(2, result.checked());
        List<String> problems = result.findings().stream().filter(f -> f.isProblem()).map(f -> f.subject()).toList();
        assertEquals(List.of("file blobs/sha256/not-a-digest", "blob " + bad.digest()),
                problems.stream().sorted(java.util.Comparator.reverseOrder()).toList());
        List<String> leftovers = result.findings().stream().filter(f -> !f.isProblem()).map(f -> f.subject()).toList();
        assertEquals(List.of("labels of blob " + gone, "ingest resumable"), leftovers);
        assertTrue(Files.exists(badFile), "a check without repair changes nothing");

        var repaired = store.check(true);
        assertTrue(repaired.findings().stream().filter(f -> !f.subject().startsWith("ingest")).allMatch(f -> f.repaired()),
                repaired.toString());
        assertFalse(Files.exists(badFile));
        assertEquals(java.util.Map.of(), db.labels(bad.digest()));
        assertEquals(java.util.Map.of(), db.labels(gone));
        assertEquals(1, store.ingests().size(), "ingests are kept for resumption");

        var clean = store.check(false);
        assertEquals(1, clean.checked());
        assertEquals(List.of("ingest resumable"), clean.findings().stream().map(f -> f.subject()).toList());
        assertEquals(good.size(), store.usage().bytes() - 2_000 - ingestDescriptionBytes());
    }

    private long ingestDescriptionBytes() throws IOException {
        long sum = 0;
        for (Path file : filesUnder(dir.resolve("content/ingest"))) {
            if (!file.getFileName().toString().equals("data")) {
                sum += Files.size(file);
            }
        }
        return sum;
    }

    @Test
    void openingWithoutRecoveryLeavesBrokenIngestsForTheCheckToReport() throws IOException {
        Path broken = dir.resolve("content/ingest/" + "e".repeat(64));
        Files.createDirectories(broken);
        Files.writeString(broken.resolve("ref"), "half-made");
        ContentStore inspected = LocalContentStore.openWithoutRecovery(dir, db);
        assertTrue(Files.exists(broken));
        assertEquals(List.of("ingest directory ingest/" + "e".repeat(64)),
                inspected.check(false).findings().stream().map(f -> f.subject()).toList());
        inspected.close();
        LocalContentStore.open(dir, db, clock).close();
        assertFalse(Files.exists(broken));
    }

    @Test
    void locksAreReleasedWhateverTheOutcome() {
        byte[] data = blob(1_000, 104);
        put("ok", data);
        put("ok", data); // the already-committed path
        ContentWriter bad = store.writer("bad", Digest.sha256(blob(1_000, 105)), 1_000);
        bad.write(ByteBuffer.wrap(data));
        assertEquals(ErrorKind.DATA_LOSS, kindOf(bad::commit));
        ContentWriter tooLong = store.writer("long", Digest.sha256(blob(1_000, 113)), 10);
        assertEquals(ErrorKind.DATA_LOSS, kindOf(() -> tooLong.write(ByteBuffer.wrap(data))));
        store.writer("closed", Digest.sha256(data), -1).close();
        assertEquals(0, openWriters());
    }

    @Test
    void writerOfACommittedBlobStartsAtItsEnd() {
        byte[] data = blob(2_000, 106);
        ContentInfo committed = put("first", data);
        try (ContentWriter writer = store.writer("second", committed.digest(), data.length)) {
            assertEquals(data.length, writer.offset());
            assertEquals(committed, writer.commit());
        }
        try (ContentWriter writer = store.writer("third", committed.digest(), data.length + 1)) {
            assertEquals(ErrorKind.DATA_LOSS, kindOf(writer::commit));
        }
        assertTrue(store.info(committed.digest()).isPresent());
    }

    @Test
    void sha512BlobsGetTheirOwnDirectory() {
        byte[] data = blob(500, 107);
        Digest digest = Digest.fromHash("sha512", new Digest("sha512", "0".repeat(128)).newHasher().digest(data));
        try (ContentWriter writer = store.writer("five-twelve", digest, data.length)) {
            writer.write(ByteBuffer.wrap(data));
            writer.commit();
        }
        assertTrue(Files.isRegularFile(dir.resolve("content/blobs/sha512/" + digest.hex())));
        assertEquals(List.of(digest), store.list().stream().map(ContentInfo::digest).toList());
    }

    @Test
    void abortStaleSkipsAnOpenWriterAndAbortOfItIsUnavailable() {
        byte[] data = blob(1_000, 108);
        try (ContentWriter writer = store.writer("active", Digest.sha256(data), data.length)) {
            writer.write(ByteBuffer.wrap(data, 0, 100));
            clock.advance(Duration.ofDays(1));
            assertEquals(0, store.abortStale(Duration.ofHours(1)));
            assertEquals(ErrorKind.UNAVAILABLE, kindOf(() -> store.abort("active")));
        }
        assertEquals(1, store.abortStale(Duration.ofHours(1)));
    }

    @Test
    void reopeningKeepsIngestsAndDropsBrokenOnes() throws IOException {
        byte[] data = blob(4_000, 109);
        try (ContentWriter writer = store.writer("kept", Digest.sha256(data), data.length)) {
            writer.write(ByteBuffer.wrap(data, 0, 1_500));
        }
        Path broken = dir.resolve("content/ingest/" + "f".repeat(64));
        Files.createDirectories(broken);
        Files.writeString(broken.resolve("ref"), "half-made");

        ContentStore reopened = LocalContentStore.open(dir, db, clock);
        assertFalse(Files.exists(broken));
        assertEquals(List.of("kept"), reopened.ingests().stream().map(s -> s.ref()).toList());
        try (ContentWriter writer = reopened.writer("kept", Digest.sha256(data), data.length)) {
            assertEquals(1_500, writer.offset());
            writer.write(ByteBuffer.wrap(data, 1_500, data.length - 1_500));
            writer.commit();
        }
        reopened.close();
    }

    @Test
    void sizeLearnedOnResumeIsRecorded() {
        byte[] data = blob(3_000, 110);
        Digest digest = Digest.sha256(data);
        try (ContentWriter writer = store.writer("unknown-size", digest, -1)) {
            writer.write(ByteBuffer.wrap(data, 0, 1_000));
        }
        assertEquals(-1, store.ingests().getFirst().total());
        try (ContentWriter writer = store.writer("unknown-size", digest, data.length)) {
            assertEquals(1_000, writer.offset());
        }
        assertEquals(data.length, store.ingests().getFirst().total());
        try (ContentWriter writer = store.writer("unknown-size", digest, data.length + 5)) {
            assertEquals(0, writer.offset()); // a different promise starts over
        }
    }

    @Test
    void collectorListsAndRemovesBlobs() {
        ContentInfo a = put("a", blob(100, 111));
        ContentInfo b = put("b", blob(200, 112));
        ResourceCollector collector = LocalContentStore.collectorFor(store);
        assertEquals(Leases.CONTENT, collector.kind());
        assertEquals(Set.of(a.digest().toString(), b.digest().toString()), collector.all());
        assertEquals(200, collector.remove(b.digest().toString()));
        assertEquals(0, collector.remove(b.digest().toString()));
        assertEquals(Set.of(a.digest().toString()), collector.all());
    }
}

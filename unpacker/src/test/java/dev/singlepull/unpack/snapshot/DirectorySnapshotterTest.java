package dev.singlepull.unpack.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.Leases;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.testing.InMemorySnapshotStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectorySnapshotterTest {
    private static final ChainId BOTTOM = new ChainId(Digest.sha256("bottom".getBytes()));
    private static final ChainId TOP = BOTTOM.child(Digest.sha256("top".getBytes()));

    @TempDir
    Path root;
    InMemorySnapshotStore store;
    DirectorySnapshotter snapshotter;

    @BeforeEach
    void setUp() {
        store = new InMemorySnapshotStore();
        snapshotter = new DirectorySnapshotter(root, store);
    }

    private Staging stagingWithFiles() throws IOException {
        Staging staging = snapshotter.prepare();
        Path fs = staging.fs();
        Files.writeString(fs.resolve("ten-bytes!"), "0123456789");
        Files.createLink(fs.resolve("same-inode"), fs.resolve("ten-bytes!"));
        Files.createDirectory(fs.resolve("dir"));
        Files.writeString(fs.resolve("dir/five!"), "abcde");
        Files.createSymbolicLink(fs.resolve("link"), Path.of("/nowhere"));
        return staging;
    }

    private List<String> snapshotsDir() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("snapshots"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void prepareCreatesAUniqueStagingFsDirectory() throws IOException {
        Staging a = snapshotter.prepare();
        Staging b = snapshotter.prepare();
        assertTrue(Files.isDirectory(a.fs()));
        assertEquals(root.resolve("snapshots"), a.directory().getParent());
        assertTrue(a.directory().getFileName().toString().startsWith("staging-"));
        assertFalse(a.equals(b));
    }

    @Test
    void commitMeasuresRenamesAndRecords() throws IOException {
        Staging staging = stagingWithFiles();

        SnapshotInfo info = snapshotter.commit(staging, TOP, BOTTOM);

        assertEquals(TOP, info.chainId());
        assertEquals(BOTTOM, info.parent());
        assertEquals(15, info.size()); // hard link counted once
        assertEquals(5, info.inodes()); // fs, ten-bytes!/same-inode, dir, dir/five!, link
        assertTrue(info.directory().isAbsolute());
        assertEquals("0123456789", Files.readString(info.directory().resolve("ten-bytes!")));
        assertFalse(Files.exists(staging.directory()));
        SnapshotRecord record = store.get(TOP.toString()).orElseThrow();
        assertEquals(root.resolve(record.directory()).resolve("fs"), info.directory());
        assertTrue(record.directory().matches("snapshots/[0-9]+"), record.directory());
        assertEquals(BOTTOM.toString(), record.parent());
        assertEquals(Optional.of(info), snapshotter.stat(TOP));
        assertEquals(info.directory(), snapshotter.fsPath(TOP));
        assertEquals(List.of(info), snapshotter.list());
    }

    @Test
    void committingAChainThatExistsReturnsTheExistingSnapshotAndDropsTheStaging() throws IOException {
        SnapshotInfo first = snapshotter.commit(stagingWithFiles(), BOTTOM, null);
        Staging second = snapshotter.prepare();

        SnapshotInfo again = snapshotter.commit(second, BOTTOM, null);

        assertEquals(first, again);
        assertNull(again.parent());
        assertFalse(Files.exists(second.directory()));
        assertEquals(1, store.inserts());
        assertEquals(1, snapshotsDir().size());
    }

    @Test
    void abortDeletesTheStagingDirectory() throws IOException {
        Staging staging = stagingWithFiles();
        Files.setPosixFilePermissions(staging.fs().resolve("dir"), Set.of()); // a layer may leave it unwritable
        snapshotter.abort(staging);
        assertFalse(Files.exists(staging.directory()));
        snapshotter.abort(staging); // already gone: fine
        assertEquals(List.of(), snapshotsDir());
    }

    @Test
    void removeDeletesRecordAndDirectory() throws IOException {
        SnapshotInfo info = snapshotter.commit(stagingWithFiles(), BOTTOM, null);
        assertEquals(15, snapshotter.remove(BOTTOM));
        assertEquals(Optional.empty(), snapshotter.stat(BOTTOM));
        assertFalse(Files.exists(info.directory()));
        assertEquals(0, snapshotter.remove(BOTTOM));
        var e = assertThrows(SinglepullException.class, () -> snapshotter.fsPath(BOTTOM));
        assertEquals(ErrorKind.NOT_FOUND, e.kind());
    }

    @Test
    void collectorListsAndFreesSnapshots() throws IOException {
        snapshotter.commit(stagingWithFiles(), BOTTOM, null);
        snapshotter.commit(stagingWithFiles(), TOP, BOTTOM);
        var collector = snapshotter.collector();
        assertEquals(Leases.SNAPSHOT, collector.kind());
        assertEquals(Set.of(BOTTOM.toString(), TOP.toString()), collector.all());
        assertEquals(15, collector.remove(TOP.toString()));
        assertEquals(0, collector.remove(TOP.toString()));
        assertEquals(Set.of(BOTTOM.toString()), collector.all());
        assertEquals(1, snapshotsDir().size());
    }

    @Test
    void startUpDeletesStagingLeftoversUnrecordedDirectoriesAndRecordsWithoutDirectories() throws IOException {
        SnapshotInfo kept = snapshotter.commit(stagingWithFiles(), BOTTOM, null);
        Staging crashed = stagingWithFiles(); // a crash mid-unpack
        Path unrecorded = Files.createDirectories(root.resolve("snapshots/999/fs")); // a crash before the insert
        Files.writeString(unrecorded.resolve("f"), "x");
        store.insert(new SnapshotRecord(TOP.toString(), BOTTOM.toString(), "snapshots/555", 1, 1, Instant.now()));

        var reopened = new DirectorySnapshotter(root, store);

        assertFalse(Files.exists(crashed.directory()));
        assertFalse(Files.exists(unrecorded.getParent()));
        assertEquals(Optional.of(kept), reopened.stat(BOTTOM));
        assertEquals(Optional.empty(), reopened.stat(TOP));
        assertEquals(List.of(kept.directory().getParent().getFileName().toString()), snapshotsDir());
    }

    @Test
    void startUpFinishesCommitsAndRemovalsThatACrashCutShort() throws IOException {
        ChainId other = BOTTOM.child(Digest.sha256("other".getBytes()));
        // renamed into place but not yet marked committed
        Path renamed = Files.createDirectories(root.resolve("snapshots/41/fs"));
        Files.writeString(renamed.resolve("f"), "12345");
        store.insert(new SnapshotRecord(BOTTOM.toString(), null, "snapshots/41", 5, 2, Instant.now(),
                SnapshotRecord.State.COMMITTING));
        // recorded as committing, the rename never happened
        Staging crashed = stagingWithFiles();
        store.insert(new SnapshotRecord(TOP.toString(), BOTTOM.toString(), "snapshots/42", 15, 5, Instant.now(),
                SnapshotRecord.State.COMMITTING));
        // a removal that got as far as half of its files
        Path removing = Files.createDirectories(root.resolve("snapshots/43/fs"));
        store.insert(new SnapshotRecord(other.toString(), BOTTOM.toString(), "snapshots/43", 9, 9, Instant.now(),
                SnapshotRecord.State.REMOVING));

        var reopened = new DirectorySnapshotter(root, store);

        assertEquals(SnapshotRecord.State.COMMITTED, store.get(BOTTOM.toString()).orElseThrow().state());
        assertEquals(root.resolve("snapshots/41/fs"), reopened.fsPath(BOTTOM));
        assertEquals(Optional.empty(), store.get(TOP.toString()));
        assertEquals(Optional.empty(), store.get(other.toString()));
        assertFalse(Files.exists(crashed.directory()));
        assertFalse(Files.exists(removing));
        assertEquals(List.of("41"), snapshotsDir());
        assertEquals(List.of(), reopened.check(false).findings());
    }

    @Test
    void recordsBeingCommittedOrRemovedAreNeitherSnapshotsNorCollectable() {
        store.insert(new SnapshotRecord(BOTTOM.toString(), null, "snapshots/1", 5, 2, Instant.now(),
                SnapshotRecord.State.COMMITTING));
        store.insert(new SnapshotRecord(TOP.toString(), BOTTOM.toString(), "snapshots/2", 5, 2, Instant.now(),
                SnapshotRecord.State.REMOVING));
        assertEquals(Optional.empty(), snapshotter.stat(BOTTOM));
        assertEquals(List.of(), snapshotter.list());
        assertEquals(Set.of(), snapshotter.collector().all());
        assertEquals(0, snapshotter.remove(BOTTOM), "a commit in flight is not removed");
        assertTrue(store.get(BOTTOM.toString()).isPresent());
    }

    @Test
    void aCommitReplacesALeftoverRecordOfItsChain() throws IOException {
        store.insert(new SnapshotRecord(BOTTOM.toString(), null, "snapshots/77", 1, 1, Instant.now(),
                SnapshotRecord.State.COMMITTING));
        SnapshotInfo info = snapshotter.commit(stagingWithFiles(), BOTTOM, null);
        assertEquals(Optional.of(info), snapshotter.stat(BOTTOM));
        assertEquals(15, info.size());
    }

    @Test
    void everySyncModeCommitsTheSameSnapshot() throws IOException {
        assertTrue(FileSystemSync.isAvailable(), "syncfs is reachable through FFM on Linux");
        assertEquals(SnapshotSync.SYNCFS, snapshotter.sync(), "the default");
        for (SnapshotSync mode : SnapshotSync.values()) {
            var other = new DirectorySnapshotter(root.resolve(mode.configName()), new InMemorySnapshotStore(),
                    java.time.Clock.systemUTC(), mode);
            assertEquals(mode, other.sync());
            Staging staging = other.prepare();
            Files.writeString(staging.fs().resolve("file"), "0123456789");
            SnapshotInfo info = other.commit(staging, BOTTOM, null);
            assertEquals(10, info.size());
            assertEquals("0123456789", Files.readString(info.directory().resolve("file")));
        }
        assertEquals(SnapshotSync.FSYNC, SnapshotSync.parse("fsync"));
        assertEquals(ErrorKind.INVALID_ARGUMENT,
                assertThrows(SinglepullException.class, () -> SnapshotSync.parse("sometimes")).kind());
    }

    @Test
    void syncfsOfAMissingDirectoryNamesTheCallAndTheError() {
        var e = assertThrows(IOException.class, () -> FileSystemSync.syncFileSystemOf(root.resolve("absent")));
        assertTrue(e.getMessage().contains("open(") && e.getMessage().contains("No such file"), e.getMessage());
        var notADirectory = assertThrows(IOException.class, () -> {
            Files.writeString(root.resolve("plain"), "x");
            FileSystemSync.syncFileSystemOf(root.resolve("plain"));
        });
        assertTrue(notADirectory.getMessage().contains("Not a directory"), notADirectory.getMessage());
    }

    @Test
    void checkReportsProblemsAndLeftoversAndRepairsWhenAsked() throws IOException {
        SnapshotInfo good = snapshotter.commit(stagingWithFiles(), BOTTOM, null);
        SnapshotInfo changed = snapshotter.commit(stagingWithFiles(), TOP, BOTTOM);
        Files.writeString(changed.directory().resolve("dir/five!"), "now longer");
        ChainId gone = BOTTOM.child(Digest.sha256("gone".getBytes()));
        store.insert(new SnapshotRecord(gone.toString(), BOTTOM.toString(), "snapshots/500", 1, 1, Instant.now()));
        Files.createDirectories(root.resolve("snapshots/500")); // its fs is gone, the directory is not
        Files.createDirectories(root.resolve("snapshots/600/fs"));
        Files.writeString(root.resolve("snapshots/stray.txt"), "?");
        Staging inProgress = snapshotter.prepare();

        var result = snapshotter.check(false);
        assertEquals(3, result.checked());
        Set<String> problems = result.findings().stream().filter(f -> f.isProblem())
                .map(f -> f.subject()).collect(java.util.stream.Collectors.toSet());
        assertEquals(Set.of("directory snapshots/600", "directory snapshots/stray.txt", "snapshot " + gone,
                "snapshot " + TOP), problems);
        assertEquals(List.of("directory snapshots/" + inProgress.directory().getFileName()),
                result.findings().stream().filter(f -> !f.isProblem()).map(f -> f.subject()).toList());

        var repaired = snapshotter.check(true);
        assertEquals(4, repaired.findings().stream().filter(f -> f.repaired()).count(), repaired.toString());
        assertEquals(List.of(good), snapshotter.list());
        assertEquals(Optional.empty(), store.get(gone.toString()));
        assertFalse(Files.exists(root.resolve("snapshots/500")), "dropped with what was left of its directory");
        assertFalse(Files.exists(root.resolve("snapshots/600")));
        assertFalse(Files.exists(changed.directory()));
        snapshotter.abort(inProgress);
        assertEquals(List.of(), snapshotter.check(false).findings());
    }

    @Test
    void inspectionLeavesCrashTracesInPlace() throws IOException {
        Staging crashed = stagingWithFiles();
        var inspected = DirectorySnapshotter.forInspection(root, store);
        assertTrue(Files.exists(crashed.directory()));
        assertEquals(1, inspected.check(false).findings().size());
    }

    @Test
    void aStagingFromElsewhereIsRejected() {
        var e = assertThrows(SinglepullException.class,
                () -> snapshotter.commit(new Staging(root.resolve("elsewhere")), BOTTOM, null));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
    }

    @Test
    void worksOnTheRealMetadataDatabase() throws IOException {
        SnapshotInfo info;
        try (MetadataDb db = MetadataDb.open(root.resolve("meta.db"))) {
            var onDb = new DirectorySnapshotter(root, db.snapshots());
            info = onDb.commit(stagingWithFiles(), TOP, BOTTOM);
        }
        try (MetadataDb db = MetadataDb.open(root.resolve("meta.db"))) {
            var reopened = new DirectorySnapshotter(root, db.snapshots());
            assertEquals(Optional.of(info), reopened.stat(TOP));
            assertEquals(15, reopened.remove(TOP));
            assertEquals(List.of(), reopened.list());
        }
    }
}

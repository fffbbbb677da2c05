package dev.singlepull.content.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import dev.singlepull.content.testing.MutableClock;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteMetadataDbTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    private Path file;
    private SqliteMetadataDb db;

    @BeforeEach
    void open() {
        file = dir.resolve("nested/deeper/meta.db");
        db = SqliteMetadataDb.open(file, clock);
    }

    @AfterEach
    void close() {
        db.close();
    }

    private static Digest digest(String seed) {
        return Digest.sha256(seed.getBytes());
    }

    private static ErrorKind kindOf(Runnable action) {
        return assertThrows(SinglepullException.class, action::run).kind();
    }

    private ImageRecord image(String name, String config) {
        return new ImageRecord(name, digest("manifest-" + config), digest(config), 1234, clock.instant(),
                clock.instant());
    }

    // ---- open, schema

    @Test
    void openCreatesParentDirectoriesAndUsesWal() {
        assertTrue(Files.isRegularFile(file));
        String mode = db.inWriteTransaction(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
                rs.next();
                return rs.getString(1);
            }
        });
        assertEquals("wal", mode);
    }

    @Test
    void reopenedDatabaseKeepsSchemaVersionAndData() {
        assertEquals(SchemaMigrations.latest(), db.schemaVersion());
        db.images().put(image("docker.io/library/redis:7", "redis"));
        long id = db.snapshots().nextId();
        db.close();

        db = SqliteMetadataDb.open(file, clock);
        assertEquals(SchemaMigrations.latest(), db.schemaVersion());
        assertTrue(db.images().get("docker.io/library/redis:7").isPresent());
        assertEquals(id + 1, db.snapshots().nextId());
        int migrationsRecorded = db.inWriteTransaction(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM schema_version")) {
                rs.next();
                return rs.getInt(1);
            }
        });
        assertEquals(SchemaMigrations.latest(), migrationsRecorded);
    }

    @Test
    void aVersion1DatabaseIsMigratedAndItsSnapshotsReadAsCommitted() {
        Path old = dir.resolve("v1/meta.db");
        try (SqliteConnections v1 = SqliteConnections.open(createParent(old), 1)) {
            SchemaMigrations.migrate(v1, clock, 1); // the database as singlepull with schema version 1 left it
            v1.write("fill a version 1 database", c -> {
                try (Statement st = c.createStatement()) {
                    st.executeUpdate("INSERT INTO snapshots (key, parent, directory, size, inodes, created_ms) "
                            + "VALUES ('sha256:v1-base', NULL, 'snapshots/1', 10, 2, 0)");
                    st.executeUpdate("INSERT INTO images (name, manifest_digest, config_digest, size, created_ms, "
                            + "updated_ms) VALUES ('docker.io/library/old:1', '" + digest("m") + "', '" + digest("c")
                            + "', 5, 0, 0)");
                    return st.executeUpdate("UPDATE sequences SET value = 1 WHERE name = 'snapshot_id'");
                }
            });
            assertEquals(1, v1.read("version", SchemaMigrations::currentVersion));
        }

        try (SqliteMetadataDb migrated = SqliteMetadataDb.open(old, clock)) {
            assertEquals(SchemaMigrations.latest(), migrated.schemaVersion());
            SnapshotRecord base = migrated.snapshot("sha256:v1-base").orElseThrow();
            assertEquals(SnapshotRecord.State.COMMITTED, base.state());
            assertEquals("snapshots/1", base.directory());
            assertTrue(migrated.images().get("docker.io/library/old:1").isPresent());
            assertEquals(2, migrated.snapshots().nextId(), "the sequence carried over");
            assertTrue(migrated.snapshots().setState("sha256:v1-base", SnapshotRecord.State.COMMITTED,
                    SnapshotRecord.State.REMOVING), "the new column is writable");
        }
        try (SqliteMetadataDb reopened = SqliteMetadataDb.open(old, clock)) {
            assertEquals(SchemaMigrations.latest(), reopened.schemaVersion(), "a migrated database is not migrated again");
            assertEquals(SnapshotRecord.State.REMOVING, reopened.snapshot("sha256:v1-base").orElseThrow().state());
        }
    }

    private static Path createParent(Path file) {
        try {
            Files.createDirectories(file.getParent());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return file;
    }

    @Test
    void newerSchemaIsFailedPrecondition() {
        db.inWriteTransaction(c -> {
            try (Statement st = c.createStatement()) {
                return st.executeUpdate("INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)");
            }
        });
        db.close();
        SinglepullException e = assertThrows(SinglepullException.class, () -> SqliteMetadataDb.open(file, clock));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("99"), e.getMessage());
        db = SqliteMetadataDb.open(dir.resolve("other.db"), clock); // for @AfterEach
    }

    @Test
    void closedDatabaseIsFailedPrecondition() {
        db.close();
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> db.images().list()));
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> db.snapshots().nextId()));
    }

    // ---- images

    @Test
    void imagesPutGetListByConfigAndDelete() {
        ImageRecord redisTag = image("docker.io/library/redis:7", "redis");
        ImageRecord redisLatest = image("docker.io/library/redis:latest", "redis");
        ImageRecord nginx = image("docker.io/library/nginx:1", "nginx");
        db.images().put(redisTag);
        db.images().put(redisLatest);
        db.images().put(nginx);

        assertEquals(redisTag, db.images().get(redisTag.name()).orElseThrow());
        assertTrue(db.images().get("docker.io/library/absent:1").isEmpty());
        assertEquals(List.of(redisTag, redisLatest), db.images().byConfig(digest("redis")));
        assertEquals(List.of(redisTag, redisLatest), db.imagesOf(digest("redis")));
        assertEquals(List.of(nginx, redisTag, redisLatest), db.images().list());

        assertEquals(2, db.images().delete(List.of(redisTag.name(), nginx.name(), "docker.io/library/absent:1")));
        assertEquals(List.of(redisLatest), db.images().list());
        assertEquals(0, db.images().delete(List.of()));
    }

    @Test
    void putReplacesButKeepsTheCreatedTime() {
        ImageRecord first = image("docker.io/library/redis:7", "redis-old");
        db.images().put(first);
        clock.advance(Duration.ofHours(1));
        ImageRecord second = new ImageRecord(first.name(), digest("m2"), digest("redis-new"), 99, clock.instant(),
                clock.instant());
        db.images().put(second);
        ImageRecord stored = db.images().get(first.name()).orElseThrow();
        assertEquals(first.created(), stored.created());
        assertEquals(second.updated(), stored.updated());
        assertEquals(digest("redis-new"), stored.configDigest());
        assertEquals(99, stored.size());
        assertEquals(List.of(), db.images().byConfig(digest("redis-old")));
    }

    // ---- snapshots

    @Test
    void snapshotsInsertGetListDelete() {
        SnapshotRecord base = new SnapshotRecord("sha256:base", null, "snapshots/1", 10, 2, clock.instant());
        SnapshotRecord top = new SnapshotRecord("sha256:top", "sha256:base", "snapshots/2", 20, 3, clock.instant());
        db.snapshots().insert(base);
        db.snapshots().insert(top);
        assertEquals(top, db.snapshot("sha256:top").orElseThrow());
        assertEquals(List.of(base, top), db.snapshots().list());

        SinglepullException e = assertThrows(SinglepullException.class, () -> db.snapshots().insert(
                new SnapshotRecord("sha256:base", null, "snapshots/9", 1, 1, clock.instant())));
        assertEquals(ErrorKind.ALREADY_EXISTS, e.kind());
        assertTrue(e.getMessage().contains("sha256:base"), e.getMessage());
        assertEquals("snapshots/1", db.snapshot("sha256:base").orElseThrow().directory());

        db.snapshots().delete("sha256:top");
        db.snapshots().delete("sha256:top");
        assertEquals(List.of(base), db.snapshots().list());
    }

    @Test
    void snapshotStateMovesOnlyFromTheExpectedState() {
        SnapshotRecord committing = new SnapshotRecord("sha256:new", null, "snapshots/4", 10, 2, clock.instant(),
                SnapshotRecord.State.COMMITTING);
        db.snapshots().insert(committing);
        assertEquals(committing, db.snapshot("sha256:new").orElseThrow());

        assertFalse(db.snapshots().setState("sha256:new", SnapshotRecord.State.COMMITTED,
                SnapshotRecord.State.REMOVING), "not committed yet");
        assertTrue(db.snapshots().setState("sha256:new", SnapshotRecord.State.COMMITTING,
                SnapshotRecord.State.COMMITTED));
        assertEquals(SnapshotRecord.State.COMMITTED, db.snapshot("sha256:new").orElseThrow().state());
        assertFalse(db.snapshots().setState("sha256:absent", SnapshotRecord.State.COMMITTED,
                SnapshotRecord.State.REMOVING));
    }

    @Test
    void totalsSumEveryRecord() {
        assertEquals(new SnapshotStore.Totals(0, 0, 0), db.snapshots().totals());
        db.snapshots().insert(new SnapshotRecord("sha256:a", null, "snapshots/1", 10, 2, clock.instant()));
        db.snapshots().insert(new SnapshotRecord("sha256:b", null, "snapshots/2", 32, 5, clock.instant(),
                SnapshotRecord.State.COMMITTING));
        assertEquals(new SnapshotStore.Totals(2, 42, 7), db.snapshots().totals());
    }

    @Test
    void syncMakesTheLogDurableWithoutDisturbingReadersOrWriters() {
        db.images().put(image("docker.io/library/synced:1", "synced"));
        db.sync();
        assertTrue(db.images().get("docker.io/library/synced:1").isPresent());
        db.images().put(image("docker.io/library/after:1", "after"));
        assertEquals(2, db.images().list().size());
    }

    @Test
    void nextIdIncreases() {
        long previous = db.snapshots().nextId();
        for (int i = 0; i < 10; i++) {
            long next = db.snapshots().nextId();
            assertEquals(previous + 1, next);
            previous = next;
        }
    }

    @Test
    void concurrentNextIdsAreAllDistinct() throws Exception {
        int threads = 8;
        int each = 50;
        List<Future<List<Long>>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    List<Long> ids = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        ids.add(db.snapshots().nextId());
                    }
                    return ids;
                }));
            }
            Set<Long> all = new java.util.HashSet<>();
            for (Future<List<Long>> result : results) {
                all.addAll(result.get(60, TimeUnit.SECONDS));
            }
            assertEquals(threads * each, all.size());
        }
    }

    // ---- labels

    @Test
    void labelsSetReadRemove() {
        Digest blob = digest("blob");
        assertEquals(Map.of(), db.labels(blob));
        db.setLabels(blob, Map.of("a", "1", "b", "2"));
        Map<String, String> change = new HashMap<>();
        change.put("a", null);
        change.put("b", "3");
        change.put("c", "4");
        db.setLabels(blob, change);
        assertEquals(Map.of("b", "3", "c", "4"), db.labels(blob));
        db.deleteLabels(blob);
        assertEquals(Map.of(), db.labels(blob));
    }

    // ---- leases

    @Test
    void leaseProtectsItsResourcesUntilClosed() {
        Digest blob = digest("in-flight");
        Leases.Lease lease = db.leases().create("pull redis", Duration.ofHours(1));
        lease.add(Leases.CONTENT, blob.toString());
        lease.add(Leases.CONTENT, blob.toString()); // twice is fine
        lease.add(Leases.SNAPSHOT, "sha256:chain");
        assertEquals(Set.of(blob), db.reachable().content());
        assertEquals(Set.of("sha256:chain"), db.reachable().snapshots());

        lease.close();
        lease.close();
        assertEquals(Set.of(), db.reachable().content());
        assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> lease.add(Leases.CONTENT, blob.toString())));
    }

    @Test
    void expiredLeasesProtectNothingAndAreDeleted() {
        Leases.Lease shortLease = db.leases().create("short", Duration.ofMinutes(1));
        Leases.Lease longLease = db.leases().create("long", Duration.ofHours(1));
        shortLease.add(Leases.CONTENT, digest("short").toString());
        longLease.add(Leases.CONTENT, digest("long").toString());
        assertNotEquals(shortLease.id(), longLease.id());

        clock.advance(Duration.ofMinutes(2));
        assertEquals(Set.of(digest("long")), db.reachable().content());
        assertEquals(ErrorKind.FAILED_PRECONDITION,
                kindOf(() -> shortLease.add(Leases.CONTENT, digest("late").toString())));
        assertEquals(1, db.leases().deleteExpired());
        assertEquals(0, db.leases().deleteExpired());
        int orphanResources = db.inWriteTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM lease_resources WHERE lease_id = ?")) {
                ps.setString(1, shortLease.id());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
        assertEquals(0, orphanResources);
    }

    private static void assertNotEquals(Object a, Object b) {
        assertFalse(a.equals(b), a + " equals " + b);
    }

    @Test
    void leaseArgumentsAreValidated() {
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> db.leases().create("zero", Duration.ZERO)));
        Leases.Lease lease = db.leases().create("ok", Duration.ofMinutes(1));
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> lease.add("volume", "x")));
        assertEquals(ErrorKind.INVALID_ARGUMENT, kindOf(() -> lease.add(Leases.CONTENT, "not-a-digest")));
    }

    // ---- reachability

    @Test
    void reachableFollowsImagesLabelsAndParents() {
        Digest manifest = digest("manifest");
        Digest config = digest("config");
        Digest layer = digest("layer");
        db.images().put(new ImageRecord("docker.io/library/app:1", manifest, config, 3, clock.instant(),
                clock.instant()));
        db.setLabels(manifest, Map.of("containerd.io/gc.ref.content.config", config.toString(),
                "containerd.io/gc.ref.content.l.0", layer.toString()));
        db.setLabels(config, Map.of("containerd.io/gc.ref.snapshot.unpack", "chain-2"));
        db.setLabels(digest("unreferenced"), Map.of("containerd.io/gc.ref.content.x", digest("nope").toString()));
        db.snapshots().insert(new SnapshotRecord("chain-1", null, "snapshots/1", 1, 1, clock.instant()));
        db.snapshots().insert(new SnapshotRecord("chain-2", "chain-1", "snapshots/2", 1, 1, clock.instant()));
        db.snapshots().insert(new SnapshotRecord("chain-other", null, "snapshots/3", 1, 1, clock.instant()));

        MetadataDb.Reachable marked = db.reachable();
        assertEquals(Set.of(manifest, config, layer), marked.content());
        assertEquals(Set.of("chain-1", "chain-2"), marked.snapshots());
    }

    @Test
    void reachableByImageNamesWhatEachImageAloneReaches() {
        Digest base = digest("base layer");
        for (String app : List.of("one", "two")) {
            Digest manifest = digest("manifest-" + app);
            db.images().put(new ImageRecord("docker.io/library/" + app + ":1", manifest, digest(app), 3,
                    clock.instant(), clock.instant()));
            db.setLabels(manifest, Map.of("containerd.io/gc.ref.content.config", digest(app).toString(),
                    "containerd.io/gc.ref.content.l.0", base.toString(),
                    "containerd.io/gc.ref.content.l.1", digest("layer-" + app).toString()));
            db.setLabels(digest(app), Map.of("containerd.io/gc.ref.snapshot.unpack", "chain-" + app));
            db.snapshots().insert(new SnapshotRecord("chain-" + app, "chain-base", "snapshots/" + app, 1, 1,
                    clock.instant()));
        }
        db.snapshots().insert(new SnapshotRecord("chain-base", null, "snapshots/base", 1, 1, clock.instant()));

        Map<String, MetadataDb.Reachable> byImage = db.reachableByImage();
        assertEquals(Set.of("docker.io/library/one:1", "docker.io/library/two:1"), byImage.keySet());
        MetadataDb.Reachable one = byImage.get("docker.io/library/one:1");
        assertEquals(Set.of(digest("manifest-one"), digest("one"), base, digest("layer-one")), one.content());
        assertEquals(Set.of("chain-one", "chain-base"), one.snapshots());
        assertEquals(Set.of(digest("manifest-one"), digest("manifest-two"), digest("one"), digest("two")),
                db.labelledDigests());
    }

    @Test
    void configOfAnImageIsMarkedEvenWithoutLabels() {
        db.images().put(image("docker.io/library/bare:1", "bare"));
        assertEquals(Set.of(digest("manifest-bare"), digest("bare")), db.reachable().content());
    }

    // ---- concurrency

    @Test
    void readersDoNotWaitForAnOpenWriteTransaction() throws Exception {
        db.images().put(image("docker.io/library/committed:1", "committed"));
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch finishWrite = new CountDownLatch(1);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> db.inWriteTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO images (name, manifest_digest, config_digest, "
                    + "size, created_ms, updated_ms) VALUES ('docker.io/library/pending:1', ?, ?, 1, 0, 0)")) {
                ps.setString(1, digest("m").toString());
                ps.setString(2, digest("c").toString());
                ps.executeUpdate();
            }
            writing.countDown();
            try {
                assertTrue(finishWrite.await(60, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return null;
        }));
        assertTrue(writing.await(60, TimeUnit.SECONDS));

        int readers = 16;
        int readsEach = 25;
        AtomicInteger reads = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(readers)) {
            for (int r = 0; r < readers; r++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < readsEach; i++) {
                        assertEquals(List.of("docker.io/library/committed:1"),
                                db.images().list().stream().map(ImageRecord::name).toList());
                        assertTrue(db.images().get("docker.io/library/pending:1").isEmpty());
                        db.reachable();
                        reads.incrementAndGet();
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS); // fails (rather than hangs) if readers queued behind the writer
            }
        }
        assertEquals(readers * readsEach, reads.get());
        assertFalse(writer.isDone(), "the write transaction was open during every read");

        finishWrite.countDown();
        writer.get(60, TimeUnit.SECONDS);
        // the row went in by SQL, behind the in-memory image records: a SQL read (the GC's marking) sees it
        assertTrue(db.reachable().content().contains(digest("c")));
    }

    @Test
    void readOnlyOpenReadsBesideTheWriterAndRefusesWrites() {
        Instant now = clock.instant();
        db.images().put(new ImageRecord("docker.io/library/a:1", digest("m"), digest("c"), 10, now, now));
        db.setLabels(digest("c"), Map.of("containerd.io/gc.ref.snapshot.singlepull", "sha256:" + "0".repeat(64)));

        try (MetadataDb reader = MetadataDb.openReadOnly(file)) {
            assertEquals(List.of("docker.io/library/a:1"),
                    reader.images().list().stream().map(ImageRecord::name).toList());
            assertEquals("sha256:" + "0".repeat(64),
                    reader.labels(digest("c")).get("containerd.io/gc.ref.snapshot.singlepull"));

            // the writer goes on; the reader sees its next commit
            db.images().put(new ImageRecord("docker.io/library/b:1", digest("m2"), digest("c2"), 10, now, now));
            assertTrue(reader.images().get("docker.io/library/b:1").isPresent());

            assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> reader.images().delete(List.of("a"))));
            assertEquals(ErrorKind.FAILED_PRECONDITION, kindOf(() -> reader.snapshots().nextId()));
        }
        assertEquals(2, db.images().list().size());
    }

    @Test
    void readOnlyOpenOfAMissingFileCreatesNothing() {
        Path missing = dir.resolve("elsewhere/meta.db");
        assertEquals(ErrorKind.NOT_FOUND, kindOf(() -> MetadataDb.openReadOnly(missing)));
        assertFalse(Files.exists(missing.getParent()));
    }
}

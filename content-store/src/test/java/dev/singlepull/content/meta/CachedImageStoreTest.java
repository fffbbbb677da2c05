package dev.singlepull.content.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The in-memory image records: loaded once, kept in step with writes, read without the database. */
class CachedImageStoreTest {
    /** A table in memory that counts its reads and can be told to fail its writes. */
    private static final class Table implements ImageStore {
        final TreeMap<String, ImageRecord> rows = new TreeMap<>();
        final AtomicInteger reads = new AtomicInteger();
        boolean failWrites;
        boolean failReads;

        @Override
        public void put(ImageRecord record) {
            if (failWrites) {
                throw new IllegalStateException("disk full");
            }
            ImageRecord old = rows.get(record.name());
            rows.put(record.name(), new ImageRecord(record.name(), record.manifestDigest(), record.configDigest(),
                    record.size(), old != null ? old.created() : Instant.ofEpochSecond(rows.size()),
                    Instant.ofEpochSecond(100)));
        }

        @Override
        public Optional<ImageRecord> get(String name) {
            if (failReads) {
                throw new IllegalStateException("database busy");
            }
            reads.incrementAndGet();
            return Optional.ofNullable(rows.get(name));
        }

        @Override
        public List<ImageRecord> byConfig(Digest imageId) {
            reads.incrementAndGet();
            return rows.values().stream().filter(r -> r.configDigest().equals(imageId)).toList();
        }

        @Override
        public List<ImageRecord> list() {
            reads.incrementAndGet();
            return new ArrayList<>(rows.values());
        }

        @Override
        public int delete(List<String> names) {
            if (failWrites) {
                throw new IllegalStateException("disk full");
            }
            int n = 0;
            for (String name : names) {
                n += rows.remove(name) != null ? 1 : 0;
            }
            return n;
        }
    }

    private static Digest digest(String s) {
        return Digest.sha256(s.getBytes(StandardCharsets.UTF_8));
    }

    private static ImageRecord image(String name, String config) {
        return new ImageRecord(name, digest("m-" + config), digest(config), 10, null, null);
    }

    @Test
    void readsAnswerFromMemoryWhatTheTableHolds() {
        var table = new Table();
        table.put(image("docker.io/library/b:1", "b"));
        table.put(image("docker.io/library/a:1", "a"));
        var cache = new CachedImageStore(table, () -> { });
        int loaded = table.reads.get();

        cache.put(image("docker.io/library/a:2", "a"));
        int afterPut = table.reads.get();
        assertEquals(List.of("docker.io/library/a:1", "docker.io/library/a:2", "docker.io/library/b:1"),
                cache.list().stream().map(ImageRecord::name).toList(), "in name order, as the database lists");
        assertEquals(2, cache.byConfig(digest("a")).size());
        assertTrue(cache.get("docker.io/library/b:1").isPresent());
        assertEquals(table.list(), cache.list());
        assertEquals(afterPut + 1, table.reads.get(), "no read of the cache reached the table");
        assertEquals(loaded + 1, afterPut, "a put reads its row back once");
    }

    @Test
    void aReplacedRecordKeepsItsCreatedTimeAsTheTableDoes() {
        var table = new Table();
        var cache = new CachedImageStore(table, () -> { });
        cache.put(image("r:1", "one"));
        Instant created = cache.get("r:1").orElseThrow().created();
        cache.put(image("r:1", "two"));
        assertEquals(created, cache.get("r:1").orElseThrow().created());
        assertEquals(digest("two"), cache.get("r:1").orElseThrow().configDigest());
    }

    @Test
    void aFailedWriteLeavesMemoryAsTheTable() {
        var table = new Table();
        var cache = new CachedImageStore(table, () -> { });
        cache.put(image("r:1", "one"));
        table.failWrites = true;
        assertThrows(IllegalStateException.class, () -> cache.put(image("r:2", "two")));
        assertThrows(IllegalStateException.class, () -> cache.delete(List.of("r:1")));
        assertEquals(table.rows.values().stream().toList(), cache.list());
        table.failWrites = false;
        assertEquals(1, cache.delete(List.of("r:1", "absent")));
        assertEquals(List.of(), cache.list());
    }

    @Test
    void readsFailOnceTheDatabaseIsClosed() {
        var cache = new CachedImageStore(new Table(), () -> {
            throw new IllegalStateException("closed");
        });
        assertThrows(IllegalStateException.class, cache::list);
        assertThrows(IllegalStateException.class, () -> cache.get("x"));
    }

    @Test
    void aWriteThatCommittedIsKeptEvenWhenItsReadBackFails() {
        var table = new Table();
        var cache = new CachedImageStore(table, () -> { });
        cache.put(image("r:1", "one"));
        Instant created = cache.get("r:1").orElseThrow().created();
        table.failReads = true;
        cache.put(image("r:1", "two"));
        cache.put(image("r:2", "three"));
        assertEquals(digest("two"), cache.get("r:1").orElseThrow().configDigest());
        assertEquals(created, cache.get("r:1").orElseThrow().created(), "the created time kept, as the table keeps it");
        assertEquals(List.of("r:1", "r:2"), cache.list().stream().map(ImageRecord::name).toList());
        assertEquals(table.rows.keySet().stream().toList(), cache.list().stream().map(ImageRecord::name).toList());
    }
}

package dev.singlepull.unpack.testing;

import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.content.meta.SnapshotStore;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link SnapshotStore} in a map, counting inserts. Thread-safe. */
public final class InMemorySnapshotStore implements SnapshotStore {
    private final ConcurrentHashMap<String, SnapshotRecord> records = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicInteger inserts = new AtomicInteger();

    @Override
    public void insert(SnapshotRecord record) {
        if (records.putIfAbsent(record.key(), record) != null) {
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "snapshot " + record.key() + " already exists");
        }
        inserts.incrementAndGet();
    }

    @Override
    public Optional<SnapshotRecord> get(String key) {
        return Optional.ofNullable(records.get(key));
    }

    @Override
    public List<SnapshotRecord> list() {
        List<SnapshotRecord> out = new ArrayList<>(records.values());
        out.sort(Comparator.comparing(SnapshotRecord::key));
        return out;
    }

    @Override
    public boolean setState(String key, SnapshotRecord.State expected, SnapshotRecord.State next) {
        SnapshotRecord current = records.get(key);
        return current != null && current.state() == expected
                && records.replace(key, current, current.withState(next));
    }

    @Override
    public void delete(String key) {
        records.remove(key);
    }

    @Override
    public long nextId() {
        return ids.incrementAndGet();
    }

    /** Successful inserts so far. */
    public int inserts() {
        return inserts.get();
    }
}

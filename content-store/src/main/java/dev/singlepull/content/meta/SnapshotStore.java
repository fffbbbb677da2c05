package dev.singlepull.content.meta;

import java.util.List;
import java.util.Optional;

/**
 * Snapshot records. A {@link SnapshotRecord.State#COMMITTED} record is written only once the snapshot's directory is
 * complete and durable, so a committed record always means a usable snapshot; see {@link SnapshotRecord.State} for
 * the protocol around it. Writes that a later step on disk depends on ({@link #insert} and {@link #setState}) are
 * durable when they return.
 */
public interface SnapshotStore {
    /** Inserts the record, durably; ALREADY_EXISTS if a record with this key exists (in any state). */
    void insert(SnapshotRecord record);

    /** The record of {@code key}, in whatever state it is. */
    Optional<SnapshotRecord> get(String key);

    /** Every record, in every state. */
    List<SnapshotRecord> list();

    /**
     * Moves the record of {@code key} from state {@code expected} to {@code next}, durably; returns false (changing
     * nothing) if there is no such record or it is in another state.
     */
    boolean setState(String key, SnapshotRecord.State expected, SnapshotRecord.State next);

    /** Deletes the record; absent is not an error. */
    void delete(String key);

    /** A fresh number for naming a snapshot directory, never handed out twice for this database. */
    long nextId();

    /** How many records there are and the bytes and inodes they account for, every state included. */
    default Totals totals() {
        long size = 0;
        long inodes = 0;
        List<SnapshotRecord> all = list();
        for (SnapshotRecord r : all) {
            size += r.size();
            inodes += r.inodes();
        }
        return new Totals(all.size(), size, inodes);
    }

    /** Sums over snapshot records. */
    record Totals(long count, long size, long inodes) { }
}

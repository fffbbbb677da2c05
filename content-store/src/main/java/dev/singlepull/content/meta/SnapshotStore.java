package dev.singlepull.content.meta;

import java.util.List;
import java.util.Optional;

/**
 * Snapshot records. A record is written only once the snapshot's directory is complete and durable, so a record
 * always means a usable snapshot.
 */
public interface SnapshotStore {
    /** Inserts the record; ALREADY_EXISTS if a record with this key exists. */
    void insert(SnapshotRecord record);

    Optional<SnapshotRecord> get(String key);

    List<SnapshotRecord> list();

    /** Deletes the record; absent is not an error. */
    void delete(String key);

    /** A fresh number for naming a snapshot directory, never handed out twice for this database. */
    long nextId();
}

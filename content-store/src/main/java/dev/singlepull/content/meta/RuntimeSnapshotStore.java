package dev.singlepull.content.meta;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Records of the snapshots a container runtime makes through singlepull's snapshots service, and the labels it keeps
 * on any snapshot name (its own or a layer's ChainID). Every write is durable when it returns: the runtime acts on the
 * answer (mounts a directory, forgets a key) and must find the same state after a restart.
 */
public interface RuntimeSnapshotStore {
    /** Inserts the record with its labels; ALREADY_EXISTS if a runtime snapshot of that name exists. */
    void insert(RuntimeSnapshot snapshot);

    /** The record of {@code name}, with its labels. */
    Optional<RuntimeSnapshot> get(String name);

    /** Every record, with its labels, ordered by name. */
    List<RuntimeSnapshot> list();

    /**
     * Turns the active snapshot {@code key} into the committed snapshot {@code name}, with {@code labels} added to its
     * own; false (changing nothing) if {@code key} is not an active snapshot. ALREADY_EXISTS if {@code name} exists.
     */
    boolean commit(String key, String name, Map<String, String> labels);

    /** The runtime snapshots whose parent is {@code name}. */
    List<String> children(String name);

    /** Deletes the record of {@code name} and the labels kept on that name; absent is not an error. */
    void delete(String name);

    /** The labels kept on {@code name} (a runtime snapshot or a layer); empty if none. */
    Map<String, String> labels(String name);

    /** Replaces every label kept on {@code name} with {@code labels} and stamps the record's update time if any. */
    void replaceLabels(String name, Map<String, String> labels);

    /** A fresh number for naming a runtime snapshot's directory, never handed out twice for this database. */
    long nextId();
}

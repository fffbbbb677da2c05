package dev.singlepull.unpack.snapshot;

import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import java.util.List;
import java.util.Optional;

/**
 * Per-ChainID snapshot directories. Lifecycle: {@link #prepare} a private staging directory, write a layer's diff
 * into its {@link Staging#fs()}, then {@link #commit} it (durable, then visible through {@link #stat}) or
 * {@link #abort} it. A committed snapshot is immutable until {@link #remove}d. Implementations are thread-safe;
 * callers make sure one ChainID is committed by one writer at a time (the unpacker's chain flights do), and a commit
 * that finds the ChainID already committed is a success returning the existing snapshot.
 */
public interface Snapshotter {

    /** The committed snapshot of {@code chainId}, if any. */
    Optional<SnapshotInfo> stat(ChainId chainId);

    /** A fresh, empty staging directory. */
    Staging prepare();

    /**
     * Makes {@code staging} the snapshot of {@code chainId}: measured, synced to disk, renamed into place, recorded.
     * If {@code chainId} is already committed, deletes {@code staging} and returns the existing snapshot.
     *
     * @param parent the ChainID of the stack below, or null for a bottom layer
     */
    SnapshotInfo commit(Staging staging, ChainId chainId, ChainId parent);

    /** Deletes {@code staging}. Never throws for a staging directory already gone. */
    void abort(Staging staging);

    /** Deletes the snapshot of {@code chainId} (record first, then files); returns the bytes freed, 0 if absent. */
    long remove(ChainId chainId);

    /** Every committed snapshot. */
    List<SnapshotInfo> list();
}

package dev.singlepull.unpack.tar;

import java.nio.file.Path;

/**
 * Told of every regular file a layer applier has written and closed. A durable snapshot is synced once, at its
 * commit ({@code snapshot_sync}); the kernel keeps written pages dirty until then, so that sync would wait for the
 * whole layer to reach the disk. {@link #startingWriteback()} has the disk write each file while the rest of the
 * layer still unpacks, and the sync at the commit finds little left. It is advice only: whether or not it ran, the
 * commit's sync is what makes the snapshot durable.
 */
@FunctionalInterface
public interface WriteBehind {
    /** Does nothing: for snapshots that are not synced ({@code snapshot_sync = "none"}). */
    WriteBehind NONE = (file, bytes) -> { };

    /** {@code file} ({@code bytes} long) is written and closed. Never blocks on the disk; never throws. */
    void written(Path file, long bytes);

    /**
     * Starts the writeback of each file as it is reported, on a thread of its own; {@link #NONE} off Linux, or with
     * the system property {@code singlepull.noWriteBehind} (for benchmarks that measure what it saves).
     */
    static WriteBehind startingWriteback() {
        return FileWriteback.available() && !Boolean.getBoolean("singlepull.noWriteBehind") ? FileWriteback.shared()
                : NONE;
    }
}

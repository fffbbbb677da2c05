package dev.singlepull.unpack.snapshot;

import dev.singlepull.errdefs.SinglepullException;
import java.util.Locale;

/**
 * How a snapshot's files are made durable before its record is written (config {@code snapshot_sync}).
 */
public enum SnapshotSync {
    /**
     * One {@code syncfs(2)} of the filesystem that holds the snapshots: flushes the whole layer in one call (and
     * whatever else is dirty on that filesystem). Falls back to {@link #FSYNC} where {@code syncfs} is not available.
     */
    SYNCFS,
    /** {@code fsync} of every file and directory of the layer, children before their directory. */
    FSYNC,
    /**
     * Nothing is synced. UNSAFE: a power failure or kernel crash can leave a committed snapshot with missing or
     * empty files. Only for benchmarks that compare with a runtime that does not sync either.
     */
    NONE;

    /** The default: the faster of the two safe modes as measured on ext4 (see docs/BENCHMARKS.md). */
    public static final SnapshotSync DEFAULT = SYNCFS;

    /** The config name: {@code syncfs}, {@code fsync} or {@code none}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a config name; INVALID_ARGUMENT for anything else. */
    public static SnapshotSync parse(String name) {
        for (SnapshotSync mode : values()) {
            if (mode.configName().equals(name)) {
                return mode;
            }
        }
        throw SinglepullException.invalidArgument("snapshot_sync must be \"syncfs\", \"fsync\" or \"none\", not \""
                + name + "\"");
    }
}

package dev.singlepull.unpack.snapshot;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Every file-name rule of the snapshot area, so that start-up recovery can classify what it finds:
 * {@code snapshots/<n>/fs} is a committed snapshot (or the leftover of a commit that crashed before its record was
 * written), {@code snapshots/staging-<random>/fs} an unpack in progress (or a crashed one).
 */
final class SnapshotLayout {
    static final String SNAPSHOTS = "snapshots";
    static final String FS = "fs";
    static final String STAGING_PREFIX = "staging-";
    private static final Pattern COMMITTED = Pattern.compile("[0-9]+");

    private SnapshotLayout() {
    }

    /** The record's directory for snapshot number {@code n}, relative to the root. */
    static String relativeDirectory(long n) {
        return SNAPSHOTS + "/" + n;
    }

    static boolean isStaging(Path child) {
        return child.getFileName().toString().startsWith(STAGING_PREFIX);
    }

    static boolean isCommitted(Path child) {
        return COMMITTED.matcher(child.getFileName().toString()).matches();
    }
}

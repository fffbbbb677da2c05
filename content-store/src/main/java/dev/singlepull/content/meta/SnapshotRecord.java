package dev.singlepull.content.meta;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * One unpacked layer, keyed by its ChainID ({@code sha256:...} as text).
 *
 * @param key       the ChainID
 * @param parent    the parent ChainID, or null for a bottom layer
 * @param directory the snapshot's directory, relative to the root (for example {@code snapshots/12})
 * @param size      bytes used by its files
 * @param inodes    files and directories in it
 * @param state     where the snapshot is in its life; only a {@link State#COMMITTED} record is a usable snapshot
 */
public record SnapshotRecord(String key, String parent, String directory, long size, long inodes, Instant created,
                             State state) {
    public SnapshotRecord {
        Objects.requireNonNull(state, "state");
    }

    /** A committed snapshot's record. */
    public SnapshotRecord(String key, String parent, String directory, long size, long inodes, Instant created) {
        this(key, parent, directory, size, inodes, created, State.COMMITTED);
    }

    public SnapshotRecord withState(State next) {
        return new SnapshotRecord(key, parent, directory, size, inodes, created, next);
    }

    public boolean isCommitted() {
        return state == State.COMMITTED;
    }

    /**
     * The life of a snapshot record. A commit records {@code COMMITTING} (durably) before its directory appears under
     * its final name, and {@code COMMITTED} once the directory is in place and durable; a removal records
     * {@code REMOVING} (durably) before its directory starts to go, and deletes the record once it has gone. So a
     * snapshot directory never exists without a record, and a record in a state other than {@code COMMITTED} is the
     * trace of work that a crash interrupted, which the next start finishes.
     */
    public enum State {
        COMMITTING, COMMITTED, REMOVING;

        /** The name stored in the database: {@code committing}, {@code committed}, {@code removing}. */
        public String dbName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The state stored as {@code name}; INTERNAL-worthy input is the caller's to reject. */
        public static State fromDbName(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }
}

package dev.singlepull.content.meta;

import dev.singlepull.errdefs.SinglepullException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;

/**
 * The schema of the metadata database as an ordered list of steps; step {@code i} (from 0) brings the schema to
 * version {@code i + 1}. Table {@code schema_version} records each version applied. Steps are only ever appended:
 * a released step is never edited. Not instantiable.
 */
final class SchemaMigrations {
    private static final List<List<String>> STEPS = List.of(
            // version 1
            List.of(
                    """
                    CREATE TABLE images (
                        name            TEXT    PRIMARY KEY,
                        manifest_digest TEXT    NOT NULL,
                        config_digest   TEXT    NOT NULL,
                        size            INTEGER NOT NULL,
                        created_ms      INTEGER NOT NULL,
                        updated_ms      INTEGER NOT NULL
                    )""",
                    "CREATE INDEX images_by_config ON images(config_digest)",
                    """
                    CREATE TABLE snapshots (
                        key        TEXT    PRIMARY KEY,
                        parent     TEXT,
                        directory  TEXT    NOT NULL,
                        size       INTEGER NOT NULL,
                        inodes     INTEGER NOT NULL,
                        created_ms INTEGER NOT NULL
                    )""",
                    """
                    CREATE TABLE labels (
                        digest TEXT NOT NULL,
                        key    TEXT NOT NULL,
                        value  TEXT NOT NULL,
                        PRIMARY KEY (digest, key)
                    ) WITHOUT ROWID""",
                    """
                    CREATE TABLE leases (
                        id          TEXT    PRIMARY KEY,
                        description TEXT    NOT NULL,
                        expires_ms  INTEGER NOT NULL
                    )""",
                    "CREATE INDEX leases_by_expiry ON leases(expires_ms)",
                    """
                    CREATE TABLE lease_resources (
                        lease_id    TEXT NOT NULL,
                        kind        TEXT NOT NULL,
                        resource_id TEXT NOT NULL,
                        PRIMARY KEY (lease_id, kind, resource_id)
                    ) WITHOUT ROWID""",
                    "CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
                    "INSERT INTO sequences (name, value) VALUES ('snapshot_id', 0)"),
            // version 2: snapshot records carry their state (SnapshotRecord.State), so a commit can be recorded
            // before its directory appears and a removal before its directory goes. Rows of version 1 were written
            // only after their directory was complete: they are committed.
            List.of(
                    "ALTER TABLE snapshots ADD COLUMN state TEXT NOT NULL DEFAULT 'committed' "
                            + "CHECK (state IN ('committing', 'committed', 'removing'))"),
            // version 3: the snapshots a container runtime makes through singlepull's snapshots service (active
            // snapshots, views, and what it commits itself), their labels, and the labels it sets on layers
            List.of(
                    """
                    CREATE TABLE runtime_snapshots (
                        name       TEXT    PRIMARY KEY,
                        parent     TEXT,
                        kind       TEXT    NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
                        directory  TEXT    NOT NULL,
                        layer      TEXT,
                        created_ms INTEGER NOT NULL,
                        updated_ms INTEGER NOT NULL
                    )""",
                    "CREATE INDEX runtime_snapshots_by_parent ON runtime_snapshots(parent)",
                    """
                    CREATE TABLE runtime_snapshot_labels (
                        name  TEXT NOT NULL,
                        key   TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (name, key)
                    ) WITHOUT ROWID""",
                    "INSERT INTO sequences (name, value) VALUES ('runtime_snapshot_id', 0)"));

    private SchemaMigrations() { }

    /** The version this code writes. */
    static int latest() {
        return STEPS.size();
    }

    /**
     * Brings the database to {@link #latest()} in one transaction and returns the version it was at.
     * FAILED_PRECONDITION if the database is at a newer version than this code knows.
     */
    static int migrate(SqliteConnections db, Clock clock) {
        return migrate(db, clock, latest());
    }

    /** As {@link #migrate(SqliteConnections, Clock)}, stopping at {@code target} (tests build old databases so). */
    static int migrate(SqliteConnections db, Clock clock, int target) {
        if (target < 1 || target > latest()) {
            throw new IllegalArgumentException("no schema version " + target);
        }
        return db.writeDurably("migrate schema", c -> {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE IF NOT EXISTS schema_version "
                        + "(version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)");
            }
            int current = currentVersion(c);
            if (current > latest()) {
                throw SinglepullException.failedPrecondition("metadata database schema version " + current
                        + " is newer than this singlepull supports (" + latest() + "); upgrade singlepull");
            }
            for (int version = current + 1; version <= target; version++) {
                apply(c, version, clock.millis());
            }
            return current;
        });
    }

    /** The highest version recorded, 0 for a fresh database. */
    static int currentVersion(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }

    private static void apply(Connection c, int version, long nowMs) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (String sql : STEPS.get(version - 1)) {
                st.execute(sql);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)")) {
            ps.setInt(1, version);
            ps.setLong(2, nowMs);
            ps.executeUpdate();
        }
    }
}

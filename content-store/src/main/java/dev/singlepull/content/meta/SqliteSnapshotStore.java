package dev.singlepull.content.meta;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * {@link SnapshotStore} on table {@code snapshots}, with the snapshot id sequence in table {@code sequences}.
 * {@link #insert} and {@link #setState} sync the database's log before they return (one fsync each).
 * {@link #insert} of an existing key is ALREADY_EXISTS; a state the database holds but this code does not know is
 * INTERNAL; other errors as {@link SqliteConnections}. Thread-safe.
 */
final class SqliteSnapshotStore implements SnapshotStore {
    private static final String COLUMNS = "key, parent, directory, size, inodes, created_ms, state";

    private final SqliteConnections db;
    private final Clock clock;

    SqliteSnapshotStore(SqliteConnections db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    @Override
    public void insert(SnapshotRecord record) {
        Objects.requireNonNull(record.key(), "key");
        Objects.requireNonNull(record.directory(), "directory");
        long created = (record.created() != null ? record.created() : clock.instant()).toEpochMilli();
        int inserted = db.writeDurably("insert snapshot " + record.key(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO snapshots (" + COLUMNS + ") "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING")) {
                ps.setString(1, record.key());
                ps.setString(2, record.parent());
                ps.setString(3, record.directory());
                ps.setLong(4, record.size());
                ps.setLong(5, record.inodes());
                ps.setLong(6, created);
                ps.setString(7, record.state().dbName());
                return ps.executeUpdate();
            }
        });
        if (inserted == 0) {
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "snapshot " + record.key() + " already exists");
        }
    }

    @Override
    public Optional<SnapshotRecord> get(String key) {
        return db.read("get snapshot " + key, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM snapshots WHERE key = ?")) {
                ps.setString(1, key);
                return rows(ps).stream().findFirst();
            }
        });
    }

    @Override
    public List<SnapshotRecord> list() {
        return db.read("list snapshots", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM snapshots ORDER BY key")) {
                return rows(ps);
            }
        });
    }

    @Override
    public boolean setState(String key, SnapshotRecord.State expected, SnapshotRecord.State next) {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(next, "next");
        int changed = db.writeDurably("mark snapshot " + key + " " + next.dbName(), c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE snapshots SET state = ? WHERE key = ? AND state = ?")) {
                ps.setString(1, next.dbName());
                ps.setString(2, key);
                ps.setString(3, expected.dbName());
                return ps.executeUpdate();
            }
        });
        return changed == 1;
    }

    @Override
    public Totals totals() {
        return db.read("sum snapshots", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(inodes), 0) FROM snapshots");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Totals(rs.getLong(1), rs.getLong(2), rs.getLong(3));
            }
        });
    }

    @Override
    public void delete(String key) {
        db.write("delete snapshot " + key, c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM snapshots WHERE key = ?")) {
                ps.setString(1, key);
                return ps.executeUpdate();
            }
        });
    }

    @Override
    public long nextId() {
        return db.write("next snapshot id", c -> Sequences.next(c, "snapshot_id"));
    }

    private static SnapshotRecord.State state(String key, String name) {
        try {
            return SnapshotRecord.State.fromDbName(name);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SinglepullException.internal("snapshot " + key + " has unknown state '" + name + "'", e);
        }
    }

    private static List<SnapshotRecord> rows(PreparedStatement ps) throws SQLException {
        List<SnapshotRecord> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new SnapshotRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4),
                        rs.getLong(5), Instant.ofEpochMilli(rs.getLong(6)), state(rs.getString(1), rs.getString(7))));
            }
        }
        return out;
    }
}

package dev.singlepull.content.meta;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * {@link RuntimeSnapshotStore} on tables {@code runtime_snapshots} and {@code runtime_snapshot_labels}, with the
 * directory number sequence in table {@code sequences}. Each write syncs the database's log before it returns.
 * A kind the database holds but this code does not know is INTERNAL; other errors as {@link SqliteConnections}.
 * Thread-safe.
 */
final class SqliteRuntimeSnapshotStore implements RuntimeSnapshotStore {
    private static final String COLUMNS = "name, parent, kind, directory, created_ms, updated_ms, layer";

    private final SqliteConnections db;
    private final Clock clock;

    SqliteRuntimeSnapshotStore(SqliteConnections db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    @Override
    public void insert(RuntimeSnapshot s) {
        long now = clock.millis();
        int inserted = db.writeDurably("insert runtime snapshot " + s.name(), c -> {
            int rows;
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO runtime_snapshots (" + COLUMNS + ") "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
                ps.setString(1, s.name());
                ps.setString(2, s.parent());
                ps.setString(3, s.kind().dbName());
                ps.setString(4, s.directory());
                ps.setLong(5, s.created() != null ? s.created().toEpochMilli() : now);
                ps.setLong(6, s.updated() != null ? s.updated().toEpochMilli() : now);
                ps.setString(7, s.layer());
                rows = ps.executeUpdate();
            }
            if (rows == 1) {
                writeLabels(c, s.name(), s.labels());
            }
            return rows;
        });
        if (inserted == 0) {
            throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "snapshot " + s.name() + " already exists");
        }
    }

    @Override
    public Optional<RuntimeSnapshot> get(String name) {
        return db.read("get runtime snapshot " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM runtime_snapshots "
                    + "WHERE name = ?")) {
                ps.setString(1, name);
                return rows(c, ps).stream().findFirst();
            }
        });
    }

    @Override
    public List<RuntimeSnapshot> list() {
        return db.read("list runtime snapshots", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM runtime_snapshots "
                    + "ORDER BY name")) {
                return rows(c, ps);
            }
        });
    }

    @Override
    public boolean commit(String key, String name, Map<String, String> labels) {
        Objects.requireNonNull(name, "name");
        long now = clock.millis();
        return db.writeDurably("commit runtime snapshot " + key + " as " + name, c -> {
            if (exists(c, name)) {
                throw new SinglepullException(ErrorKind.ALREADY_EXISTS, "snapshot " + name + " already exists");
            }
            int rows;
            try (PreparedStatement ps = c.prepareStatement("UPDATE runtime_snapshots SET name = ?, kind = 'committed', "
                    + "updated_ms = ? WHERE name = ? AND kind = 'active'")) {
                ps.setString(1, name);
                ps.setLong(2, now);
                ps.setString(3, key);
                rows = ps.executeUpdate();
            }
            if (rows == 0) {
                return false;
            }
            Map<String, String> merged = new HashMap<>(readLabels(c, key));
            merged.putAll(labels);
            deleteLabels(c, key);
            writeLabels(c, name, merged);
            return true;
        });
    }

    @Override
    public List<String> children(String name) {
        return db.read("list children of " + name, c -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT name FROM runtime_snapshots WHERE parent = ? "
                    + "ORDER BY name")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
            return out;
        });
    }

    @Override
    public void delete(String name) {
        db.writeDurably("delete runtime snapshot " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM runtime_snapshots WHERE name = ?")) {
                ps.setString(1, name);
                ps.executeUpdate();
            }
            deleteLabels(c, name);
            return null;
        });
    }

    @Override
    public Map<String, String> labels(String name) {
        return db.read("read labels of snapshot " + name, c -> Map.copyOf(readLabels(c, name)));
    }

    @Override
    public void replaceLabels(String name, Map<String, String> labels) {
        long now = clock.millis();
        db.writeDurably("set labels of snapshot " + name, c -> {
            deleteLabels(c, name);
            writeLabels(c, name, labels);
            try (PreparedStatement ps = c.prepareStatement("UPDATE runtime_snapshots SET updated_ms = ? "
                    + "WHERE name = ?")) {
                ps.setLong(1, now);
                ps.setString(2, name);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public long nextId() {
        return db.write("next runtime snapshot id", c -> Sequences.next(c, "runtime_snapshot_id"));
    }

    private static boolean exists(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM runtime_snapshots WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static Map<String, String> readLabels(Connection c, String name) throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT key, value FROM runtime_snapshot_labels WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    private static void writeLabels(Connection c, String name, Map<String, String> labels) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO runtime_snapshot_labels (name, key, value) "
                + "VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")) {
            for (Map.Entry<String, String> label : labels.entrySet()) {
                ps.setString(1, name);
                ps.setString(2, Objects.requireNonNull(label.getKey(), "label key"));
                ps.setString(3, Objects.requireNonNull(label.getValue(), "label value"));
                ps.executeUpdate();
            }
        }
    }

    private static void deleteLabels(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM runtime_snapshot_labels WHERE name = ?")) {
            ps.setString(1, name);
            ps.executeUpdate();
        }
    }

    private static List<RuntimeSnapshot> rows(Connection c, PreparedStatement ps) throws SQLException {
        List<String[]> raw = new ArrayList<>();
        List<long[]> times = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                raw.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(7)});
                times.add(new long[] {rs.getLong(5), rs.getLong(6)});
            }
        }
        List<RuntimeSnapshot> out = new ArrayList<>(raw.size());
        for (int i = 0; i < raw.size(); i++) {
            String[] r = raw.get(i);
            out.add(new RuntimeSnapshot(r[0], r[1], kind(r[0], r[2]), r[3], readLabels(c, r[0]),
                    Instant.ofEpochMilli(times.get(i)[0]), Instant.ofEpochMilli(times.get(i)[1]), r[4]));
        }
        return out;
    }

    private static RuntimeSnapshot.Kind kind(String name, String dbName) {
        try {
            return RuntimeSnapshot.Kind.fromDbName(dbName);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SinglepullException.internal("runtime snapshot " + name + " has unknown kind '" + dbName + "'", e);
        }
    }
}

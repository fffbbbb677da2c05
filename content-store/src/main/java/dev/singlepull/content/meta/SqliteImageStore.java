package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** {@link ImageStore} on table {@code images}. Errors as {@link SqliteConnections}. Thread-safe. */
final class SqliteImageStore implements ImageStore {
    private static final String COLUMNS = "name, manifest_digest, config_digest, size, created_ms, updated_ms";

    private final SqliteConnections db;
    private final Clock clock;

    SqliteImageStore(SqliteConnections db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    @Override
    public void put(ImageRecord record) {
        Objects.requireNonNull(record.name(), "name");
        Objects.requireNonNull(record.manifestDigest(), "manifestDigest");
        Objects.requireNonNull(record.configDigest(), "configDigest");
        Instant now = clock.instant();
        long created = (record.created() != null ? record.created() : now).toEpochMilli();
        long updated = (record.updated() != null ? record.updated() : now).toEpochMilli();
        db.write("put image " + record.name(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO images (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?) "
                    + "ON CONFLICT (name) DO UPDATE SET manifest_digest = excluded.manifest_digest, "
                    + "config_digest = excluded.config_digest, size = excluded.size, updated_ms = excluded.updated_ms")) {
                ps.setString(1, record.name());
                ps.setString(2, record.manifestDigest().toString());
                ps.setString(3, record.configDigest().toString());
                ps.setLong(4, record.size());
                ps.setLong(5, created);
                ps.setLong(6, updated);
                return ps.executeUpdate();
            }
        });
    }

    @Override
    public Optional<ImageRecord> get(String name) {
        return db.read("get image " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM images WHERE name = ?")) {
                ps.setString(1, name);
                return rows(ps).stream().findFirst();
            }
        });
    }

    @Override
    public List<ImageRecord> byConfig(Digest imageId) {
        return db.read("list images of " + imageId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM images WHERE config_digest = ? ORDER BY name")) {
                ps.setString(1, imageId.toString());
                return rows(ps);
            }
        });
    }

    @Override
    public List<ImageRecord> list() {
        return db.read("list images", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM images ORDER BY name")) {
                return rows(ps);
            }
        });
    }

    @Override
    public int delete(List<String> names) {
        if (names.isEmpty()) {
            return 0;
        }
        return db.write("delete images " + names, c -> {
            int removed = 0;
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM images WHERE name = ?")) {
                for (String name : names) {
                    ps.setString(1, name);
                    removed += ps.executeUpdate();
                }
            }
            return removed;
        });
    }

    private static List<ImageRecord> rows(PreparedStatement ps) throws SQLException {
        List<ImageRecord> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new ImageRecord(rs.getString(1), Digest.parse(rs.getString(2)), Digest.parse(rs.getString(3)),
                        rs.getLong(4), Instant.ofEpochMilli(rs.getLong(5)), Instant.ofEpochMilli(rs.getLong(6))));
            }
        }
        return out;
    }
}

package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;

/**
 * {@link Leases} on tables {@code leases} and {@code lease_resources}. Lease ids are random UUIDs. Errors:
 * INVALID_ARGUMENT for a non-positive ttl, an unknown resource kind or a content id that is not a digest;
 * FAILED_PRECONDITION when adding to a lease that was closed or has expired; others as {@link SqliteConnections}.
 * Thread-safe; a {@link Lease} handle may be used from any thread.
 */
final class SqliteLeases implements Leases {
    private final SqliteConnections db;
    private final Clock clock;

    SqliteLeases(SqliteConnections db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    @Override
    public Lease create(String description, Duration ttl) {
        Objects.requireNonNull(description, "description");
        if (ttl == null || ttl.isNegative() || ttl.isZero()) {
            throw SinglepullException.invalidArgument("lease '" + description + "': ttl must be positive, got " + ttl);
        }
        String id = UUID.randomUUID().toString();
        long expires = clock.instant().plus(ttl).toEpochMilli();
        db.write("create lease " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO leases (id, description, expires_ms) VALUES (?, ?, ?)")) {
                ps.setString(1, id);
                ps.setString(2, description);
                ps.setLong(3, expires);
                return ps.executeUpdate();
            }
        });
        return new SqliteLease(id);
    }

    @Override
    public int deleteExpired() {
        long now = clock.millis();
        return db.write("delete expired leases", c -> {
            try (PreparedStatement resources = c.prepareStatement("DELETE FROM lease_resources WHERE lease_id IN "
                    + "(SELECT id FROM leases WHERE expires_ms <= ?)");
                 PreparedStatement leases = c.prepareStatement("DELETE FROM leases WHERE expires_ms <= ?")) {
                resources.setLong(1, now);
                resources.executeUpdate();
                leases.setLong(1, now);
                return leases.executeUpdate();
            }
        });
    }

    private void add(String leaseId, String kind, String resourceId) {
        validate(kind, resourceId);
        long now = clock.millis();
        db.write("add " + kind + " " + resourceId + " to lease " + leaseId, c -> {
            if (!isLive(c, leaseId, now)) {
                throw SinglepullException.failedPrecondition(
                        "lease " + leaseId + " is closed or expired; cannot protect " + kind + " " + resourceId);
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO lease_resources (lease_id, kind, resource_id) "
                    + "VALUES (?, ?, ?) ON CONFLICT DO NOTHING")) {
                ps.setString(1, leaseId);
                ps.setString(2, kind);
                ps.setString(3, resourceId);
                return ps.executeUpdate();
            }
        });
    }

    private void delete(String leaseId) {
        db.write("delete lease " + leaseId, c -> {
            try (PreparedStatement resources = c.prepareStatement("DELETE FROM lease_resources WHERE lease_id = ?");
                 PreparedStatement lease = c.prepareStatement("DELETE FROM leases WHERE id = ?")) {
                resources.setString(1, leaseId);
                resources.executeUpdate();
                lease.setString(1, leaseId);
                return lease.executeUpdate();
            }
        });
    }

    private static boolean isLive(java.sql.Connection c, String leaseId, long now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM leases WHERE id = ? AND expires_ms > ?")) {
            ps.setString(1, leaseId);
            ps.setLong(2, now);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void validate(String kind, String resourceId) {
        Objects.requireNonNull(resourceId, "resourceId");
        switch (kind) {
            case CONTENT -> Digest.parse(resourceId);
            case SNAPSHOT -> {
                if (resourceId.isEmpty()) {
                    throw SinglepullException.invalidArgument("empty snapshot key");
                }
            }
            case null, default -> throw SinglepullException.invalidArgument("unknown lease resource kind '" + kind
                    + "' (expected " + CONTENT + " or " + SNAPSHOT + ")");
        }
    }

    /** A handle on one lease row; closing deletes it (idempotent). */
    private final class SqliteLease implements Lease {
        private final String id;

        SqliteLease(String id) {
            this.id = id;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public void add(String kind, String resourceId) {
            SqliteLeases.this.add(id, kind, resourceId);
        }

        @Override
        public void close() {
            delete(id);
        }

        @Override
        public String toString() {
            return "lease " + id;
        }
    }
}

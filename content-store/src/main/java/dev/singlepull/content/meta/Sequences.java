package dev.singlepull.content.meta;

import dev.singlepull.errdefs.SinglepullException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** The named counters of table {@code sequences}, which hand out directory numbers. Not instantiable. */
final class Sequences {
    private Sequences() {
    }

    /** Advances the counter {@code name} and returns its new value, in the caller's write transaction. */
    static long next(Connection c, String name) throws SQLException {
        try (PreparedStatement up = c.prepareStatement("UPDATE sequences SET value = value + 1 WHERE name = ?")) {
            up.setString(1, name);
            up.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT value FROM sequences WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw SinglepullException.internal("metadata database has no sequence '" + name + "'", null);
                }
                return rs.getLong(1);
            }
        }
    }
}

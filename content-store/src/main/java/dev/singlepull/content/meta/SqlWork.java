package dev.singlepull.content.meta;

import java.sql.Connection;
import java.sql.SQLException;

/** A unit of work run inside one transaction on a connection lent by {@link SqliteConnections}. */
@FunctionalInterface
interface SqlWork<T> {
    T run(Connection connection) throws SQLException;
}

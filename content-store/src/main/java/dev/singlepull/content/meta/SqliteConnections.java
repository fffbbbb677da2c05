package dev.singlepull.content.meta;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteException;

/**
 * The connections to one SQLite file in WAL mode: a single write connection behind a lock, and a small pool of
 * read-only connections. In WAL mode a reader sees the last committed state and never waits for the writer, so
 * {@link #read} never queues behind {@link #write}; readers wait only for a free read connection.
 *
 * <p>Durability: with {@code synchronous=NORMAL} a committed transaction survives a crash of the process at once,
 * and a power failure once the write-ahead log is next synced. {@link #writeDurably} and {@link #sync()} sync it
 * on the spot, for the few writes that a later, irreversible step on disk depends on.
 *
 * <p>Every call is one transaction: committed when the work returns, rolled back when it throws. A
 * {@link SinglepullException} thrown by the work passes through unchanged; an {@link SQLException} becomes
 * UNAVAILABLE (database busy), RESOURCE_EXHAUSTED (disk full) or INTERNAL. After {@link #close()} every call fails
 * with FAILED_PRECONDITION. Thread-safe.
 */
final class SqliteConnections implements AutoCloseable {
    private static final int BUSY_TIMEOUT_MS = 5_000;

    private final Path file;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Guarded by {@link #writeLock}; null when opened read-only. */
    private final Connection writer;
    private final BlockingQueue<Connection> idleReaders;
    private final int readerCount;
    private volatile boolean closed;

    private SqliteConnections(Path file, Connection writer, List<Connection> readers) {
        this.file = file;
        this.writer = writer;
        this.readerCount = readers.size();
        this.idleReaders = new ArrayBlockingQueue<>(readers.size(), false, readers);
    }

    /** Opens (creating) the file, switches it to WAL mode and opens {@code readers} read-only connections. */
    static SqliteConnections open(Path file, int readers) {
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        Connection writer = null;
        List<Connection> pool = new ArrayList<>();
        try {
            SQLiteConfig writeConfig = new SQLiteConfig();
            writeConfig.setBusyTimeout(BUSY_TIMEOUT_MS);
            writer = writeConfig.createConnection(url);
            configureWriter(writer, file);
            writer.setAutoCommit(false);
            for (int i = 0; i < readers; i++) {
                SQLiteConfig readConfig = new SQLiteConfig();
                readConfig.setReadOnly(true);
                readConfig.setBusyTimeout(BUSY_TIMEOUT_MS);
                Connection reader = readConfig.createConnection(url);
                pool.add(reader);
                reader.setAutoCommit(false);
            }
            return new SqliteConnections(file.toAbsolutePath(), writer, pool);
        } catch (SQLException | RuntimeException e) {
            pool.forEach(SqliteConnections::closeQuietly);
            if (writer != null) {
                closeQuietly(writer);
            }
            if (e instanceof SinglepullException se) {
                throw se;
            }
            throw translate("open metadata database " + file, e);
        }
    }

    /**
     * Opens an existing file with {@code readers} read-only connections and no writer, beside another process that
     * may be writing it (WAL lets readers and that writer go on together). Every {@link #write} fails with
     * FAILED_PRECONDITION. NOT_FOUND if the file does not exist: nothing is created.
     */
    static SqliteConnections openReadOnly(Path file, int readers) {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw SinglepullException.notFound("no metadata database at " + file);
        }
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        List<Connection> pool = new ArrayList<>();
        try {
            for (int i = 0; i < readers; i++) {
                SQLiteConfig readConfig = new SQLiteConfig();
                readConfig.setReadOnly(true);
                readConfig.setBusyTimeout(BUSY_TIMEOUT_MS);
                Connection reader = readConfig.createConnection(url);
                pool.add(reader);
                reader.setAutoCommit(false);
            }
            return new SqliteConnections(file, null, pool);
        } catch (SQLException | RuntimeException e) {
            pool.forEach(SqliteConnections::closeQuietly);
            if (e instanceof SinglepullException se) {
                throw se;
            }
            throw translate("open metadata database " + file + " read-only", e);
        }
    }

    private static void configureWriter(Connection writer, Path file) throws SQLException {
        try (Statement st = writer.createStatement()) {
            try (ResultSet rs = st.executeQuery("PRAGMA journal_mode=WAL")) {
                String mode = rs.next() ? rs.getString(1) : "";
                if (!"wal".equalsIgnoreCase(mode)) {
                    throw SinglepullException.failedPrecondition("metadata database " + file
                            + " cannot use WAL journal mode (got '" + mode + "'); is the root on a network filesystem?");
                }
            }
            st.execute("PRAGMA synchronous=NORMAL");
            st.execute("PRAGMA busy_timeout=" + BUSY_TIMEOUT_MS);
        }
    }

    /** Runs {@code work} in one write transaction, holding the single write connection. */
    <T> T write(String what, SqlWork<T> work) {
        writeLock.lock();
        try {
            ensureOpen();
            if (writer == null) {
                throw SinglepullException.failedPrecondition("metadata database " + file
                        + " is open read-only: cannot " + what);
            }
            return inTransaction(writer, what, work);
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * As {@link #write}, and makes the transaction durable (with every one committed before it) before returning:
     * costs one fsync of the write-ahead log.
     */
    <T> T writeDurably(String what, SqlWork<T> work) {
        writeLock.lock();
        try {
            ensureOpen();
            T result = inTransaction(writer, what, work);
            syncLog(what);
            return result;
        } finally {
            writeLock.unlock();
        }
    }

    /** Makes every transaction committed so far durable (one fsync of the write-ahead log). */
    void sync() {
        writeLock.lock();
        try {
            ensureOpen();
            syncLog("sync");
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Fsyncs the write-ahead log, where committed transactions wait for the next checkpoint (which syncs the
     * database file before the log is reused); without a log, the database file. Called with the write lock held, so
     * no commit or checkpoint runs meanwhile.
     */
    private void syncLog(String what) {
        Path wal = file.resolveSibling(file.getFileName() + "-wal");
        Path target = Files.exists(wal) ? wal : file;
        try (FileChannel channel = FileChannel.open(target, StandardOpenOption.READ)) {
            channel.force(false);
        } catch (IOException e) {
            throw SinglepullException.internal("metadata database: " + what + ": cannot sync " + target + ": " + e, e);
        }
    }

    /** Runs {@code work} in one read transaction on a pooled read-only connection: a consistent snapshot. */
    <T> T read(String what, SqlWork<T> work) {
        ensureOpen();
        Connection reader = borrow();
        try {
            return inTransaction(reader, what, work);
        } finally {
            giveBack(reader);
        }
    }

    private static <T> T inTransaction(Connection connection, String what, SqlWork<T> work) {
        try {
            T result = work.run(connection);
            connection.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            rollbackQuietly(connection, e);
            if (e instanceof SinglepullException se) {
                throw se;
            }
            throw translate(what, e);
        }
    }

    private Connection borrow() {
        try {
            return idleReaders.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted waiting for a metadata database reader", e);
        }
    }

    private void giveBack(Connection reader) {
        if (closed) {
            closeQuietly(reader);
        } else {
            idleReaders.add(reader);
            if (closed) { // closed meanwhile: close() may have drained the queue before we returned it
                drainAndClose();
            }
        }
    }

    int readerCount() {
        return readerCount;
    }

    /** FAILED_PRECONDITION once closed. */
    void ensureOpen() {
        if (closed) {
            throw SinglepullException.failedPrecondition("metadata database " + file + " is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        writeLock.lock();
        try {
            if (writer != null) {
                closeQuietly(writer);
            }
        } finally {
            writeLock.unlock();
        }
        drainAndClose();
    }

    private void drainAndClose() {
        for (Connection c; (c = idleReaders.poll()) != null; ) {
            closeQuietly(c);
        }
    }

    private static SinglepullException translate(String what, Exception e) {
        if (e instanceof SQLiteException se) {
            String code = se.getResultCode().name();
            if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
                return new SinglepullException(ErrorKind.UNAVAILABLE, "metadata database busy: " + what, e);
            }
            if (code.startsWith("SQLITE_FULL")) {
                return new SinglepullException(ErrorKind.RESOURCE_EXHAUSTED, "metadata database disk full: " + what, e);
            }
        }
        return SinglepullException.internal("metadata database: " + what + " failed: " + e.getMessage(), e);
    }

    private static void rollbackQuietly(Connection connection, Exception cause) {
        try {
            connection.rollback();
        } catch (SQLException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException | RuntimeException ignored) {
            // closing: nothing left to do with it
        }
    }
}

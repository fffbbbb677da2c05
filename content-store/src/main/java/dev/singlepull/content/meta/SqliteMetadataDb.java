package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@link MetadataDb} on SQLite through sqlite-jdbc: WAL mode, {@code synchronous=NORMAL}, a busy timeout; one write
 * connection behind a lock and {@value #READERS} read-only connections (see {@link SqliteConnections}). The schema
 * is migrated on open ({@link SchemaMigrations}).
 *
 * <p>Errors: INVALID_ARGUMENT for malformed input, FAILED_PRECONDITION if the file's schema is newer than this code
 * or the database is closed, UNAVAILABLE if the file stays locked past the busy timeout, RESOURCE_EXHAUSTED when the
 * disk is full, INTERNAL otherwise. Thread-safe.
 */
final class SqliteMetadataDb implements MetadataDb {
    static final int READERS = 4;

    private final SqliteConnections db;
    private final Clock clock;
    private final ImageStore images;
    private final SqliteSnapshotStore snapshots;
    private final SqliteLeases leases;
    private final SqliteRuntimeSnapshotStore runtimeSnapshots;

    private SqliteMetadataDb(SqliteConnections db, Clock clock, boolean cacheImages) {
        this.db = db;
        this.clock = clock;
        ImageStore table = new SqliteImageStore(db, clock);
        this.images = cacheImages ? new CachedImageStore(table, db::ensureOpen) : table;
        this.snapshots = new SqliteSnapshotStore(db, clock);
        this.leases = new SqliteLeases(db, clock);
        this.runtimeSnapshots = new SqliteRuntimeSnapshotStore(db, clock);
    }

    static SqliteMetadataDb open(Path file) {
        return open(file, Clock.systemUTC());
    }

    /** Opens {@code file}, creating its parent directories, and migrates it; {@code clock} decides lease expiry. */
    static SqliteMetadataDb open(Path file, Clock clock) {
        Path parent = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw SinglepullException.internal("cannot create directory " + parent + " for the metadata database", e);
        }
        SqliteConnections connections = SqliteConnections.open(file, READERS);
        try {
            SchemaMigrations.migrate(connections, clock);
            return new SqliteMetadataDb(connections, clock, true);
        } catch (RuntimeException e) {
            connections.close();
            throw e;
        }
    }

    /**
     * Opens an existing file read-only (see {@link MetadataDb#openReadOnly}); FAILED_PRECONDITION unless its schema
     * is the one this code writes.
     */
    static SqliteMetadataDb openReadOnly(Path file) {
        SqliteConnections connections = SqliteConnections.openReadOnly(file, 1);
        try {
            int version = connections.read("read schema version", SchemaMigrations::currentVersion);
            if (version != SchemaMigrations.latest()) {
                throw SinglepullException.failedPrecondition("metadata database " + file + " has schema version "
                        + version + ", this singlepull reads version " + SchemaMigrations.latest()
                        + (version < SchemaMigrations.latest() ? "; start `singlepull serve` on it once to migrate it"
                        : "; upgrade singlepull"));
            }
        } catch (RuntimeException e) {
            connections.close();
            throw e;
        }
        return new SqliteMetadataDb(connections, Clock.systemUTC(), false); // another process writes: no cache
    }

    @Override
    public ImageStore images() {
        return images;
    }

    @Override
    public SnapshotStore snapshots() {
        return snapshots;
    }

    @Override
    public Leases leases() {
        return leases;
    }

    @Override
    public RuntimeSnapshotStore runtimeSnapshots() {
        return runtimeSnapshots;
    }

    @Override
    public Map<String, String> labels(Digest digest) {
        return db.read("read labels of " + digest, c -> {
            Map<String, String> out = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT key, value FROM labels WHERE digest = ?")) {
                ps.setString(1, digest.toString());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), rs.getString(2));
                    }
                }
            }
            return Map.copyOf(out);
        });
    }

    @Override
    public void setLabels(Digest digest, Map<String, String> labels) {
        labels.keySet().forEach(key -> Objects.requireNonNull(key, "label key"));
        if (labels.isEmpty()) {
            return;
        }
        db.write("set labels of " + digest, c -> {
            try (PreparedStatement upsert = c.prepareStatement("INSERT INTO labels (digest, key, value) VALUES (?, ?, ?) "
                    + "ON CONFLICT (digest, key) DO UPDATE SET value = excluded.value");
                 PreparedStatement remove = c.prepareStatement("DELETE FROM labels WHERE digest = ? AND key = ?")) {
                for (Map.Entry<String, String> label : labels.entrySet()) {
                    if (label.getValue() == null) {
                        remove.setString(1, digest.toString());
                        remove.setString(2, label.getKey());
                        remove.executeUpdate();
                    } else {
                        upsert.setString(1, digest.toString());
                        upsert.setString(2, label.getKey());
                        upsert.setString(3, label.getValue());
                        upsert.executeUpdate();
                    }
                }
            }
            return null;
        });
    }

    @Override
    public void deleteLabels(Digest digest) {
        db.write("delete labels of " + digest, c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM labels WHERE digest = ?")) {
                ps.setString(1, digest.toString());
                return ps.executeUpdate();
            }
        });
    }

    @Override
    public Reachable reachable() {
        long now = clock.millis();
        return db.read("mark reachable resources", c -> {
            Graph graph = Graph.read(c);
            ReachabilityMarker marker = graph.marker();
            for (ImageRoot image : graph.images()) {
                marker.contentRoot(image.manifest());
                marker.contentRoot(image.config()); // also reached through the manifest's labels
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT r.kind, r.resource_id FROM lease_resources r "
                    + "JOIN leases l ON l.id = r.lease_id WHERE l.expires_ms > ?")) {
                ps.setLong(1, now);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        leaseRoot(marker, rs.getString(1), rs.getString(2));
                    }
                }
            }
            for (String[] runtime : graph.runtimeSnapshots()) {
                marker.snapshotRoot(runtime[0]); // a running container's layers stay while it runs
                if (runtime[2] != null) {
                    marker.snapshotRoot(runtime[2]); // the layer an alias stands for
                }
            }
            return marker.mark();
        });
    }

    @Override
    public Map<String, Reachable> reachableByImage() {
        return db.read("mark what each image reaches", c -> {
            Graph graph = Graph.read(c);
            Map<String, Reachable> out = new LinkedHashMap<>();
            for (ImageRoot image : graph.images()) {
                ReachabilityMarker marker = graph.marker();
                marker.contentRoot(image.manifest());
                marker.contentRoot(image.config());
                out.put(image.name(), marker.mark());
            }
            return out;
        });
    }

    /** An image record as a root of the mark phase. */
    private record ImageRoot(String name, Digest manifest, Digest config) { }

    /** The rows a mark phase walks, read in the caller's transaction: image roots, reference labels, parents. */
    private record Graph(List<ImageRoot> images, List<String[]> labels, List<String[]> parents,
                         List<String[]> runtimeSnapshots) {
        static Graph read(Connection c) throws SQLException {
            List<ImageRoot> images = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT name, manifest_digest, config_digest FROM images "
                    + "ORDER BY name");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    images.add(new ImageRoot(rs.getString(1), Digest.parse(rs.getString(2)),
                            Digest.parse(rs.getString(3))));
                }
            }
            List<String[]> labels = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT digest, key, value FROM labels WHERE key LIKE 'containerd.io/gc.ref.%'");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (Digest.isDigest(rs.getString(1))) {
                        labels.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
                    }
                }
            }
            List<String[]> parents = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT key, parent FROM snapshots");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    parents.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
            List<String[]> runtime = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT name, parent, layer FROM runtime_snapshots");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    runtime.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
                }
            }
            return new Graph(images, labels, parents, runtime);
        }

        /** A fresh marker that knows every edge but no root yet. */
        ReachabilityMarker marker() {
            ReachabilityMarker marker = new ReachabilityMarker();
            for (String[] label : labels) {
                marker.label(Digest.parse(label[0]), label[1], label[2]);
            }
            for (String[] parent : parents) {
                marker.snapshot(parent[0], parent[1]);
            }
            for (String[] runtime : runtimeSnapshots) {
                marker.snapshot(runtime[0], runtime[1]);
            }
            return marker;
        }
    }

    @Override
    public Set<Digest> labelledDigests() {
        return db.read("list labelled digests", c -> {
            Set<Digest> out = new HashSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT digest FROM labels");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (Digest.isDigest(rs.getString(1))) {
                        out.add(Digest.parse(rs.getString(1)));
                    }
                }
            }
            return Set.copyOf(out);
        });
    }

    @Override
    public void sync() {
        db.sync();
    }

    private static void leaseRoot(ReachabilityMarker marker, String kind, String id) {
        if (Leases.CONTENT.equals(kind) && Digest.isDigest(id)) {
            marker.contentRoot(Digest.parse(id));
        } else if (Leases.SNAPSHOT.equals(kind)) {
            marker.snapshotRoot(id);
        }
    }

    @Override
    public int schemaVersion() {
        return db.read("read schema version", SchemaMigrations::currentVersion);
    }

    /** Runs {@code work} in one write transaction; for tests that need to hold the writer. */
    <T> T inWriteTransaction(SqlWork<T> work) {
        return db.write("test write", work);
    }

    @Override
    public void close() {
        db.close();
    }

    @Override
    public String toString() {
        return "SqliteMetadataDb";
    }
}

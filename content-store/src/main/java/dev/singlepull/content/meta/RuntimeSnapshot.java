package dev.singlepull.content.meta;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A snapshot that a container runtime made through singlepull's snapshots service: an active (writable) snapshot, a
 * read-only view, or one the runtime committed itself (a layer it unpacked on its own). Its files live in
 * {@code directory} (relative to the root); its parent is a layer's ChainID, another runtime snapshot's name, or null.
 *
 * @param name      the runtime's name for it (its key while active or a view, its name once committed)
 * @param parent    the snapshot below, or null
 * @param kind      what it is
 * @param directory its directory relative to the root, holding {@code fs} (and {@code work} while active)
 * @param labels    the runtime's labels on it
 * @param layer     for a committed snapshot that stands for one of singlepull's layers over a parent the runtime
 *                  made itself (an alias), that layer's ChainID: its files are the layer's; otherwise null
 */
public record RuntimeSnapshot(String name, String parent, Kind kind, String directory, Map<String, String> labels,
                              Instant created, Instant updated, String layer) {
    public RuntimeSnapshot {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(directory, "directory");
        labels = Map.copyOf(labels);
    }

    /** A snapshot with files of its own (not an alias of a layer). */
    public RuntimeSnapshot(String name, String parent, Kind kind, String directory, Map<String, String> labels,
                           Instant created, Instant updated) {
        this(name, parent, kind, directory, labels, created, updated, null);
    }

    /** What a runtime snapshot is; the names are containerd's snapshot kinds. */
    public enum Kind {
        ACTIVE, VIEW, COMMITTED;

        /** The name stored in the database: {@code active}, {@code view}, {@code committed}. */
        public String dbName() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind fromDbName(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }
}

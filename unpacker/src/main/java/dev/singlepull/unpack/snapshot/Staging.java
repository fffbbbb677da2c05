package dev.singlepull.unpack.snapshot;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A snapshot being written: a private directory that becomes a snapshot on {@link Snapshotter#commit} or is deleted
 * on {@link Snapshotter#abort}. Obtained from {@link Snapshotter#prepare}.
 *
 * @param directory the staging directory ({@code <root>/snapshots/staging-<random>})
 */
public record Staging(Path directory) {
    public Staging {
        Objects.requireNonNull(directory, "directory");
    }

    /** Where the layer's files go: {@code <directory>/fs}. */
    public Path fs() {
        return directory.resolve(SnapshotLayout.FS);
    }
}

package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Writes one layer's uncompressed tar into a directory that holds this layer's diff only.
 *
 * <p>Errors: a hostile entry (a path or hard link escaping the directory, a write through a symlink) is
 * INVALID_ARGUMENT, a malformed tar stream is DATA_LOSS, both as {@link dev.singlepull.errdefs.SinglepullException}
 * naming the layer and the entry; a failure of the target file system is an {@link IOException}. After a failure the
 * directory holds a partial diff and should be discarded. One call at a time per target directory.
 */
@FunctionalInterface
public interface LayerApplier {

    /**
     * Applies the tar read from {@code uncompressedTar} up to its end-of-archive marker (bytes after it are left
     * unread; the stream is not closed) into {@code targetDir}, which must exist.
     *
     * @param layerName names the layer in error messages (usually its blob digest)
     */
    ApplyStats apply(InputStream uncompressedTar, Path targetDir, String layerName) throws IOException;

    /** The tar applier: commons-compress reader, per-layer diff directories, whiteout markers kept as files. */
    static LayerApplier tar() {
        return new TarApplier();
    }
}

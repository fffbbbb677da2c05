package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * Writes one layer's uncompressed tar into a directory that holds this layer's diff only.
 *
 * <p>Errors: a hostile entry (a path, hard link or whiteout escaping the directory, a write through a symlink, a name
 * the file system cannot hold, an entry type no layer should have) is INVALID_ARGUMENT, a malformed or truncated tar
 * stream is DATA_LOSS, both as {@link dev.singlepull.errdefs.SinglepullException} naming the layer and the entry; a
 * failure of the target file system is an {@link IOException}. After a failure the directory holds a partial diff
 * and should be discarded. One call at a time per target directory.
 */
@FunctionalInterface
public interface LayerApplier {

    /**
     * Applies the tar read from {@code uncompressedTar} up to its end-of-archive marker (bytes after it are left
     * unread; the stream is not closed) into {@code targetDir}, which must exist. The result still has to be
     * {@linkplain AppliedLayer#finish finished}.
     *
     * @param layerName names the layer in error messages (usually its blob digest)
     */
    AppliedLayer apply(InputStream uncompressedTar, Path targetDir, String layerName) throws IOException;

    /**
     * The tar applier: per-layer diff directories in the overlay convention when running as root (whiteouts as
     * character devices 0/0, opaque directories marked with {@code trusted.overlay.opaque=y}), in the AUFS
     * convention of the tar itself ({@code .wh.} files) otherwise.
     */
    static LayerApplier tar() {
        return new TarApplier();
    }
}

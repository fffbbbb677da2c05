package dev.singlepull.unpack;

import java.io.InputStream;

/**
 * Where an unpack reads its layer's compressed blob from: the committed blob in the content store, or a stream that
 * follows the blob's download as it arrives. Either way the stream must end only after the blob's digest was
 * verified, because the snapshot is committed once the stream has ended and the DiffID matched.
 */
@FunctionalInterface
public interface BlobSource {
    /** Opens the blob from its first byte; failures are {@link dev.singlepull.errdefs.SinglepullException}s. */
    InputStream open();
}

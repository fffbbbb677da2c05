package dev.singlepull.content;

import java.io.IOException;

/**
 * A stream following an ingest ({@link IngestManager#follow}) cannot go on: the writer it followed ended without
 * committing (its download failed, or started the ingest over), or the stream was closed from another thread. The
 * bytes read so far were right, but the rest will not come from this stream: read the committed blob instead once
 * it is there.
 */
public final class IngestFollowException extends IOException {
    private static final long serialVersionUID = 1L;

    public IngestFollowException(String message) {
        super(message);
    }
}

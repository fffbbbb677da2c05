package dev.singlepull.content;

import java.io.InputStream;

/** Reads committed blobs. */
public interface ContentProvider {
    /** Opens a committed blob for reading; NOT_FOUND if it is not committed. */
    InputStream open(Digest digest);
}

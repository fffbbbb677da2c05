package dev.singlepull.content;

import java.io.InputStream;
import java.time.Duration;
import java.util.List;

/** Sees and removes partial downloads. */
public interface IngestManager {
    List<IngestStatus> ingests();

    /**
     * Reads blob {@code expected} from its first byte as ingest {@code ref} brings it in, without waiting for the
     * download to end: the stream returns what the ref's writer has written, waits for more, and ends only once the
     * blob is committed (so every byte it returned was verified). Before a writer of {@code ref} opens, it waits for
     * one; a blob committed already is simply read. It fails with {@link IngestFollowException} when the writer it
     * follows ends without committing, or when it is closed from another thread, which is how a caller stops a
     * follower whose download failed before its writer opened. Never blocks a writer.
     */
    InputStream follow(String ref, Digest expected);

    /** Removes ingest {@code ref} and its data; absent is not an error. */
    void abort(String ref);

    /** Removes ingests not updated for {@code olderThan}; returns how many were removed. */
    int abortStale(Duration olderThan);
}

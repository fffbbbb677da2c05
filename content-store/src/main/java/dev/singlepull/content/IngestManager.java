package dev.singlepull.content;

import java.time.Duration;
import java.util.List;

/** Sees and removes partial downloads. */
public interface IngestManager {
    List<IngestStatus> ingests();

    /** Removes ingest {@code ref} and its data; absent is not an error. */
    void abort(String ref);

    /** Removes ingests not updated for {@code olderThan}; returns how many were removed. */
    int abortStale(Duration olderThan);
}

package dev.singlepull.content;

/** Starts or resumes writing a blob. */
public interface Ingester {
    /**
     * Opens the writer for ingest {@code ref}, resuming at the bytes a previous writer of the same ref left
     * (see {@link ContentWriter#offset()}). {@code expected} is the digest the data must have, {@code size} its size
     * (-1 if unknown). One writer per ref at a time: a second open while the first is not closed fails fast with
     * UNAVAILABLE (callers put a singleflight per digest in front, so this is only a safety net).
     */
    ContentWriter writer(String ref, Digest expected, long size);
}

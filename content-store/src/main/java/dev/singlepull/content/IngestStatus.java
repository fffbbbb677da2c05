package dev.singlepull.content;

import java.time.Instant;

/**
 * A partial download under {@code content/ingest/}: how far it got and what it should become.
 *
 * @param ref      the ingest's name (callers use a stable key per digest, so a retry resumes it)
 * @param expected the digest the data must hash to
 * @param offset   bytes written so far
 * @param total    the size the blob must have, or -1 if unknown
 */
public record IngestStatus(String ref, Digest expected, long offset, long total, Instant startedAt, Instant updatedAt) { }

package dev.singlepull.content.meta;

import java.util.Set;

/**
 * Frees one kind of resource during garbage collection. The content store registers one for blobs; the unpacker one
 * for snapshot directories.
 */
public interface ResourceCollector {
    /** {@link Leases#CONTENT} or {@link Leases#SNAPSHOT}. */
    String kind();

    /** Every resource of this kind that exists now (candidates for collection). */
    Set<String> all();

    /** Frees one resource; returns the bytes freed. Absent is not an error. */
    long remove(String id);
}

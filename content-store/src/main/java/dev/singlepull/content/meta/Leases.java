package dev.singlepull.content.meta;

import java.time.Duration;

/**
 * Leases protect resources that no image references yet (a pull in flight) from garbage collection. A resource is
 * named by its kind ({@link #CONTENT} with a digest, {@link #SNAPSHOT} with a ChainID) and id. Add a resource to
 * the lease <em>before</em> creating it, so a collection running meanwhile never takes it.
 */
public interface Leases {
    String CONTENT = "content";
    String SNAPSHOT = "snapshot";

    /** Creates a lease that expires after {@code ttl} unless deleted earlier; the lease is durable. */
    Lease create(String description, Duration ttl);

    /** Deletes leases whose expiry has passed (also leases left by a crashed process); returns how many. */
    int deleteExpired();

    /** A live lease. Closing it deletes it and frees its resources for collection. */
    interface Lease extends AutoCloseable {
        String id();

        void add(String kind, String resourceId);

        @Override
        void close();
    }
}

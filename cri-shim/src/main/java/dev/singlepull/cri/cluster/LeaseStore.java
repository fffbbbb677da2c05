package dev.singlepull.cri.cluster;

import java.time.Duration;
import java.util.Set;

/**
 * Where the nodes of a cluster agree who fetches a blob from upstream, and remember who has it. An efficiency lock,
 * not a correctness one: every blob is verified by digest, so a lost or doubled lease costs one extra download, never
 * wrong data. Keys are blob digests.
 *
 * <p>Every method answers within the store's configured timeout or throws {@link Unavailable}; callers then behave
 * as a single node would. Thread-safe.
 */
public interface LeaseStore extends AutoCloseable {
    /**
     * Takes the lease on {@code blob} for {@code self} for {@code ttl} if nobody holds it. Returns the holder after
     * the call: {@code self} when taken (or already held by {@code self}), the other node otherwise.
     */
    Peer acquire(String blob, Peer self, Duration ttl);

    /** Extends {@code self}'s lease on {@code blob} to {@code ttl} from now; false when {@code self} no longer holds it. */
    boolean renew(String blob, Peer self, Duration ttl);

    /**
     * Takes the lease on {@code blob} for {@code self} if it is free or still held by {@code failed} (a holder that
     * died or stalled). Returns the holder after the call, as {@link #acquire}.
     */
    Peer takeOver(String blob, Peer failed, Peer self, Duration ttl);

    /** Gives up {@code self}'s lease on {@code blob}; nothing happens if another node holds it. */
    void release(String blob, Peer self);

    /** Records that {@code self} has {@code blob} committed; the record of holders of a blob expires after {@code ttl}. */
    void addHolder(String blob, Peer self, Duration ttl);

    /** The nodes recorded as having {@code blob} committed. */
    Set<Peer> holders(String blob);

    /** Forgets that {@code peer} has {@code blob} (it answered that it does not). */
    void removeHolder(String blob, Peer peer);

    /**
     * Records that {@code self} is bringing {@code blob} in from another node, and serves it as it grows; the record
     * of a blob's fetchers expires after {@code ttl}.
     */
    void addFetcher(String blob, Peer self, Duration ttl);

    /** The nodes recorded as bringing {@code blob} in now. */
    Set<Peer> fetchers(String blob);

    /** Forgets that {@code peer} is bringing {@code blob} in (it is done, or answered that it has nothing of it). */
    void removeFetcher(String blob, Peer peer);

    @Override
    void close();

    /** The store did not answer in time, or at all. */
    final class Unavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}

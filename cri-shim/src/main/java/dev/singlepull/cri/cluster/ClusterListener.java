package dev.singlepull.cri.cluster;

/** Hears what the cluster tier does, for metrics. Implementations must be thread-safe and quick. */
public interface ClusterListener {
    ClusterListener NONE = new ClusterListener() { };

    /** This node took a blob's lease and fetches it upstream. */
    default void leaseTaken() { }

    /** This node held a lease and another node holds it now (it stalled past the lease's time). */
    default void leaseLost() { }

    /** This node took a lease over from a holder that died or stalled. */
    default void leaseTakenOver() { }

    /** A peer failed this node: refused, broke, stalled or sent wrong bytes. */
    default void peerError() { }

    /** Bytes of blobs that arrived from other nodes. */
    default void bytesFromPeers(long bytes) { }

    /** Bytes of blobs this node fetched from the registry (or its mirrors). */
    default void bytesFromUpstream(long bytes) { }

    /** Bytes this node's peer server sent to other nodes. */
    default void bytesServed(long bytes) { }

    /** One request to the lease store. */
    default void storeOperation() { }

    /** The lease store failed to answer in time; the blob was fetched as on a single node. */
    default void storeUnavailable() { }
}

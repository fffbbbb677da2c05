package dev.singlepull.cri.pull;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.dedup.FlightContext;
import java.util.Optional;

/**
 * Other places a blob flight may take a blob from before it asks the registry: the other nodes of a cluster. Asked
 * only from inside a blob flight, so only for digests that this node's own resolution of a manifest named.
 */
public interface BlobPeers {
    /** No peers: every blob comes from upstream. */
    BlobPeers NONE = (ref, blob, ingestRef, ctx) -> Claim.UPSTREAM;

    /** The phase of a blob flight while bytes flow, from upstream or from a peer (the stall watchdog judges it). */
    String DOWNLOADING = BlobFetcher.DOWNLOADING;

    /**
     * Either brings {@code blob} from a peer into the content store, written and committed under ingest
     * {@code ingestRef} (so an upstream download after a failed peer resumes from the bytes it left), or decides that
     * this node fetches it upstream. The flight holds the returned claim while it does, and closes it at the end.
     */
    Claim claim(ImageRef ref, Descriptor blob, String ingestRef, FlightContext ctx) throws InterruptedException;

    /** The outcome of {@link #claim}: the blob committed from a peer, or the right (and duty) to fetch it upstream. */
    interface Claim extends AutoCloseable {
        /** Fetch it upstream; nobody else is told. */
        Claim UPSTREAM = Optional::empty;

        /** The committed blob, when a peer provided it; empty: fetch it upstream. */
        Optional<ContentInfo> fetched();

        /** The upstream download committed {@code info}. */
        default void committed(ContentInfo info) { }

        @Override
        default void close() { }
    }
}

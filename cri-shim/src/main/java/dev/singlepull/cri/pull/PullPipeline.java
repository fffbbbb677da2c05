package dev.singlepull.cri.pull;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.cri.registry.Platform;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.FlightInfo;
import dev.singlepull.dedup.FlightListener;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.dedup.StallPolicy;
import dev.singlepull.unpack.Unpacker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Pulls images: resolve, fetch, verify, unpack, record. Three flight tables make concurrent pulls share work: the
 * ref table (a whole pull, keyed by reference, platform and credential identity), the blob table (one download per
 * digest) and the unpacker's chain table (one unpack per ChainID). Thread-safe.
 */
public final class PullPipeline {
    private final SingleFlight<RefKey, PulledImage> refs;
    private final SingleFlight<Digest, ContentInfo> blobs;
    private final PullJob.Dependencies deps;
    private final Platform platform;
    private final AtomicLong pullCalls = new AtomicLong();

    /**
     * @param maxBlobResumes how often one download is resumed with a range after its stream broke
     * @param listener   receives the ref and blob tables' events (the chain table belongs to the unpacker)
     * @param grace      how long abandoned work continues; null: to completion
     * @param stallPolicy the minimum rate a blob download must keep
     * @param unpackWhileDownloading whether layers unpack from their downloads as the bytes arrive
     * @param parts      how big blobs are cut into parallel ranged downloads
     * @param peers      where blobs may come from before the registry (other nodes of a cluster)
     */
    public PullPipeline(RegistryClient registry, ContentStore content, MetadataDb db, Unpacker unpacker,
                        Platform platform, int maxConcurrentDownloads, int maxBlobResumes, FlightListener listener,
                        Duration grace, StallPolicy stallPolicy, boolean unpackWhileDownloading,
                        ParallelParts parts, BlobPeers peers) {
        this.refs = SingleFlight.<RefKey, PulledImage>builder("ref").listener(listener).grace(grace).build();
        this.blobs = SingleFlight.<Digest, ContentInfo>builder("blob").listener(listener).grace(grace)
                .stallPolicy(stallPolicy).build();
        this.platform = platform;
        this.deps = new PullJob.Dependencies(registry, content, db, unpacker,
                new BlobFetcher(blobs, content, registry, maxConcurrentDownloads, maxBlobResumes, parts, peers), platform,
                unpackWhileDownloading);
    }

    /** Downloads (phase "downloading") slower than {@code minBytesPerSecond} over {@code window} are aborted. */
    public static StallPolicy downloadStallPolicy(long minBytesPerSecond, Duration window) {
        return new StallPolicy(minBytesPerSecond, window, java.util.Set.of(BlobFetcher.DOWNLOADING));
    }

    /**
     * Starts or joins the pull of {@code ref} with {@code credentials}. The returned call completes with the pulled
     * image or the pull's failure; cancelling it detaches only this caller.
     */
    public Call<PulledImage> pull(ImageRef ref, Credentials credentials) {
        RefKey key = new RefKey(ref.canonical(), platform, credentials.identity());
        pullCalls.incrementAndGet();
        return refs.join(key, ctx -> new PullJob(deps, ref, credentials, ctx).run());
    }

    /**
     * The progress of a pull of {@code ref} in flight, whoever's credentials it runs with (progress shows phases and
     * byte counts only); empty when none is in flight. Its parts are the layers, by digest.
     */
    public Optional<FlightProgress> progressOf(ImageRef ref) {
        return refs.progress(key -> key.ref().equals(ref.canonical())).values().stream().findFirst();
    }

    /** True while a blob flight for {@code digest} runs here (its ingest may not be open yet). */
    public boolean fetching(Digest digest) {
        return !blobs.progress(digest::equals).isEmpty();
    }

    /** How many pull calls have been made so far, joined or led: it changes whenever a caller asks for a pull. */
    public long pullCalls() {
        return pullCalls.get();
    }

    /** True while any pull runs. */
    public boolean pulling() {
        return refs.inFlightCount() > 0;
    }

    /** The live flights of the ref and blob tables. */
    public List<FlightInfo> flights() {
        List<FlightInfo> all = new ArrayList<>(refs.flights());
        all.addAll(blobs.flights());
        return all;
    }
}

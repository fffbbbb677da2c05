package dev.singlepull.cri.cluster;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.cri.pull.BlobPeers;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.dedup.FlightContext;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The blob flight across the cluster. Before a node fetches a blob upstream it looks in the lease store: a node that
 * has the blob committed is streamed from; else the node takes the blob's lease and goes upstream, renewing the lease
 * while its download makes progress; else it streams from the lease's holder, which serves the blob as its own
 * download brings it in.
 *
 * <p>Bytes from a peer go into this node's own ingest of the blob and are verified by digest at commit. A peer that
 * refuses, breaks, stalls or sends bytes that fail the check is left for this flight: the next holder, or the lease
 * (taken over from a failed holder), resumes from the bytes already written, and the commit checks them all. A blob
 * that failed its check is deleted and fetched again from its first byte. If the lease store does not answer, the
 * node fetches upstream as a single node does.
 */
public final class ClusterBlobs implements BlobPeers {
    private static final System.Logger LOG = System.getLogger(ClusterBlobs.class.getName());
    /** Sources tried for one blob before this node goes upstream without a lease. */
    private static final int MAX_SOURCES = 8;
    /**
     * How often, and how long apart, a lease holder at its upload limit (503), or one that has sent nothing yet, is
     * asked again before this node goes upstream without the lease: its uploads end as blobs complete and its own
     * download starts once it has a slot, and waiting costs less than a second download.
     */
    private static final int MAX_BUSY_WAITS = 30;
    private static final long BUSY_PAUSE_MS = 500;
    /** The longest a node with nothing of a blob waits before it takes over the lease of a failed holder. */
    private static final long TAKE_OVER_SPREAD_MS = 1000;
    private static final int COPY_BUFFER = 64 * 1024;
    /** How long the record of a blob's fetchers lasts: longer than any one download, shorter than a holder's. */
    private static final Duration FETCHER_TTL = Duration.ofHours(1);

    private final Peer self;
    private final LeaseStore leases;
    private final PeerClient peers;
    private final ContentStore content;
    private final ScheduledExecutorService renewals;
    private final Duration leaseTtl;
    private final Duration holderTtl;
    private final ClusterListener listener;
    /** Where each blob flight of this node fetches from now, for listings. */
    private final Map<Digest, String> sources = new ConcurrentHashMap<>();

    ClusterBlobs(Peer self, LeaseStore leases, PeerClient peers, ContentStore content,
                 ScheduledExecutorService renewals, Duration leaseTtl, Duration holderTtl, ClusterListener listener) {
        this.self = self;
        this.leases = leases;
        this.peers = peers;
        this.content = content;
        this.renewals = renewals;
        this.leaseTtl = leaseTtl;
        this.holderTtl = holderTtl;
        this.listener = listener;
    }

    /**
     * How one attempt at a peer ended. BUSY: at its upload limit. STALLED: it took the connection but sent nothing
     * for the stall time, which a slow node does as well as a stopped one. FAILED: it refused the connection, broke it,
     * answered an error or sent bytes that failed the check.
     */
    private enum Outcome { FETCHED, NOT_THERE, BUSY, STALLED, FAILED, UNUSABLE_INGEST }

    /** An attempt's outcome, with the committed blob when it was fetched. */
    private record Attempt(Outcome outcome, ContentInfo info) {
        static final Attempt NOT_THERE = new Attempt(Outcome.NOT_THERE, null);
        static final Attempt BUSY = new Attempt(Outcome.BUSY, null);
        static final Attempt STALLED = new Attempt(Outcome.STALLED, null);
        static final Attempt FAILED = new Attempt(Outcome.FAILED, null);
        static final Attempt UNUSABLE_INGEST = new Attempt(Outcome.UNUSABLE_INGEST, null);
    }

    /** Where the blob flight of {@code digest} fetches from now: a peer, or upstream; empty when not fetching. */
    public Optional<String> sourceOf(Digest digest) {
        return Optional.ofNullable(sources.get(digest));
    }

    @Override
    public Claim claim(ImageRef ref, Descriptor blob, String ingestRef, FlightContext ctx)
            throws InterruptedException {
        Claim decided = null;
        try {
            decided = decide(ref, blob, ingestRef, ctx);
            return decided;
        } finally {
            if (decided == null || decided.fetched().isPresent()) {
                sources.remove(blob.digest()); // an upstream claim shows its source until it is closed
            }
        }
    }

    private Claim decide(ImageRef ref, Descriptor blob, String ingestRef, FlightContext ctx)
            throws InterruptedException {
        String key = blob.digest().toString();
        Set<Peer> failed = new HashSet<>();
        // sources other than the lease holder that stalled or failed: not asked again by this flight, yet not
        // counted as failed lease holders, since one of them may hold the lease later and a fetcher's stream also
        // ends when its own source fails
        Set<Peer> slow = new HashSet<>();
        int busyWaits = 0;
        try {
            for (int tries = 0; tries < MAX_SOURCES; tries++) {
                ctx.throwIfCancelled();
                // nodes that have the blob, then nodes that bring it in from another node: these serve what they
                // have so far, so followers spread over them instead of queueing at the lease holder's upload limit
                List<Peer> holders = new ArrayList<>(leases.holders(key));
                List<Peer> fetchers = new ArrayList<>(leases.fetchers(key));
                fetchers.removeAll(holders);
                Collections.shuffle(holders);
                Collections.shuffle(fetchers);
                holders.addAll(fetchers);
                holders.remove(self);
                holders.removeAll(failed);
                holders.removeAll(slow);
                for (Peer holder : holders) {
                    Attempt attempt = fetchFrom(holder, ref, blob, ingestRef, ctx);
                    if (attempt.outcome() == Outcome.FETCHED) {
                        return fetched(attempt.info());
                    }
                    if (attempt.outcome() == Outcome.UNUSABLE_INGEST) {
                        return upstream(key, ingestRef, ctx, false);
                    }
                    if (attempt.outcome() == Outcome.BUSY) {
                        continue;
                    }
                    // not asked again by this flight; only the lease holder's failures count towards a takeover
                    slow.add(holder);
                    if (attempt.outcome() == Outcome.NOT_THERE) {
                        leases.removeHolder(key, holder);
                        leases.removeFetcher(key, holder);
                    }
                }
                Peer holder = leases.acquire(key, self, leaseTtl);
                if (holder.equals(self)) {
                    // a holder commits and records itself before it releases its lease: look once more
                    Set<Peer> committed = new HashSet<>(leases.holders(key));
                    committed.remove(self);
                    committed.removeAll(failed);
                    committed.removeAll(slow);
                    if (!committed.isEmpty()) {
                        leases.release(key, self);
                        continue;
                    }
                    listener.leaseTaken();
                    return upstream(key, ingestRef, ctx, true);
                }
                if (failed.contains(holder)) {
                    // of the nodes that followed the failed holder, the one furthest along should take over: the
                    // others follow it, and upstream sends only what none of them has
                    Thread.sleep(takeOverDelayMillis(ingestRef, blob.size()));
                    holder = leases.takeOver(key, holder, self, leaseTtl);
                    if (holder.equals(self)) {
                        listener.leaseTakenOver();
                        LOG.log(System.Logger.Level.INFO, "took over the download of " + key + " from a failed node");
                        return upstream(key, ingestRef, ctx, true);
                    }
                    if (failed.contains(holder)) {
                        break;
                    }
                }
                Attempt attempt = fetchFrom(holder, ref, blob, ingestRef, ctx);
                if (attempt.outcome() == Outcome.FETCHED) {
                    return fetched(attempt.info());
                }
                if (attempt.outcome() == Outcome.UNUSABLE_INGEST) {
                    return upstream(key, ingestRef, ctx, false);
                }
                if ((attempt.outcome() == Outcome.BUSY || attempt.outcome() == Outcome.STALLED)
                        && busyWaits++ < MAX_BUSY_WAITS) {
                    // the lease holder at its limit, or slower than the stall time, has not failed: its lease says
                    // whether it lives, as it lapses once the holder's download stops. Taking the lease over now would
                    // fetch the blob upstream a second time; ask again, resuming where this node's bytes end
                    tries--;
                    Thread.sleep(BUSY_PAUSE_MS);
                    continue;
                }
                failed.add(holder);
            }
            return upstream(key, ingestRef, ctx, false);
        } catch (LeaseStore.Unavailable e) {
            return upstream(key, ingestRef, ctx, false);
        }
    }

    /** Up to a second, shorter the more of the blob this node's ingest already has. */
    private long takeOverDelayMillis(String ingestRef, long size) {
        long prefix = ingestOffset(ingestRef);
        return size <= 0 ? 0 : TAKE_OVER_SPREAD_MS - TAKE_OVER_SPREAD_MS * Math.min(prefix, size) / size;
    }

    private long ingestOffset(String ingestRef) {
        return content.ingests().stream().filter(i -> i.ref().equals(ingestRef)).mapToLong(i -> i.offset())
                .findFirst().orElse(0);
    }

    private Claim fetched(ContentInfo info) {
        try {
            leases.addHolder(info.digest().toString(), self, holderTtl);
            leases.removeFetcher(info.digest().toString(), self);
        } catch (LeaseStore.Unavailable e) {
            // others will not know this node has it: they fetch it elsewhere
        }
        return () -> Optional.of(info);
    }

    /**
     * Streams {@code blob} from {@code peer} into the ingest, from where the ingest ends; commits it once complete.
     * The ingest keeps what arrived when the peer fails, except bytes that failed the digest check.
     */
    private Attempt fetchFrom(Peer peer, ImageRef ref, Descriptor blob, String ingestRef, FlightContext ctx) {
        ContentWriter writer = content.writer(ingestRef, blob.digest(), blob.size());
        try {
            if (!writer.written().isEmpty()) {
                return Attempt.UNUSABLE_INGEST; // parts out of order: the ranged upstream download fills the gaps
            }
            long offset = writer.offset();
            sources.put(blob.digest(), "peer " + peer);
            PeerClient.Answer answer;
            try {
                answer = peers.open(peer, ref.repository(), blob.digest(), offset);
            } catch (SocketTimeoutException e) {
                return peerStalled(peer, blob.digest(), "took the connection but did not answer");
            } catch (IOException e) {
                return peerFailed(peer, blob.digest(), "cannot be reached: " + e.getMessage());
            }
            if (!answer.ok()) {
                if (answer.status() == 404) {
                    return Attempt.NOT_THERE;
                }
                if (answer.status() == 503) {
                    return Attempt.BUSY;
                }
                return peerFailed(peer, blob.digest(), "answered " + answer.status());
            }
            advertise(blob.digest());
            FlightProgress progress = ctx.progress();
            progress.total(blob.size());
            progress.done(offset);
            progress.phase(BlobPeers.DOWNLOADING);
            long left = blob.size() - offset;
            try (InputStream body = answer.body()) {
                ctx.onCancel(() -> Streams.closeQuietly(body));
                byte[] buffer = new byte[COPY_BUFFER];
                int n;
                while (left > 0 && (n = body.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0) {
                    left -= n;
                    writer.write(ByteBuffer.wrap(buffer, 0, n));
                    progress.advance(n);
                    listener.bytesFromPeers(n);
                }
            } catch (IOException e) {
                ctx.throwIfCancelled();
                if (e instanceof SocketTimeoutException) {
                    // a holder waiting for its own download slot, or slowed by a shared uplink, sends nothing for a
                    // while too (a stopped holder's lease lapses, as it is renewed no more)
                    return left == blob.size() - offset ? Attempt.BUSY
                            : peerStalled(peer, blob.digest(), "sent nothing for a while after " + writer.offset()
                                    + " of " + blob.size() + " bytes");
                }
                return peerFailed(peer, blob.digest(), "broke after " + writer.offset() + " of " + blob.size()
                        + " bytes: " + e.getMessage());
            }
            ctx.throwIfCancelled();
            if (writer.offset() < blob.size()) {
                // a clean end before the blob's: the peer lives, but its own download stopped or started over
                return peerStalled(peer, blob.digest(), "ended its answer after " + writer.offset() + " of "
                        + blob.size() + " bytes");
            }
            progress.phase("verifying");
            ContentInfo info;
            try {
                info = writer.commit();
            } catch (SinglepullException e) {
                if (e.kind() != ErrorKind.DATA_LOSS) {
                    throw e;
                }
                return peerFailed(peer, blob.digest(), "sent bytes that fail the check (" + e.getMessage()
                        + "); they were discarded");
            }
            progress.phase("downloaded");
            return new Attempt(Outcome.FETCHED, info);
        } finally {
            writer.close();
        }
    }

    /**
     * Lists this node as a fetcher of the blob as soon as its bytes flow in from a peer: its peer server serves the
     * ingest as it grows, so the other nodes spread over the nodes that follow the lease holder instead of all
     * queueing at the holder's upload limit. Taken off the list when the blob is committed here; a node whose flight
     * ended without it answers 404 and is taken off by whoever asks.
     */
    private void advertise(Digest digest) {
        try {
            leases.addFetcher(digest.toString(), self, FETCHER_TTL);
        } catch (LeaseStore.Unavailable e) {
            // the others do not learn of this node as a source: they use the lease holder
        }
    }

    private Attempt peerStalled(Peer peer, Digest digest, String why) {
        LOG.log(System.Logger.Level.INFO, "peer " + peer + " " + why + " (blob " + digest + ")");
        return Attempt.STALLED;
    }

    private Attempt peerFailed(Peer peer, Digest digest, String why) {
        listener.peerError();
        LOG.log(System.Logger.Level.WARNING, "peer " + peer + " " + why + " (blob " + digest + "); trying elsewhere");
        return Attempt.FAILED;
    }

    /** The claim of an upstream download: holds and renews the lease when {@code leased}, records the holder after. */
    private Claim upstream(String key, String ingestRef, FlightContext ctx, boolean leased) {
        long prefix = ingestOffset(ingestRef);
        Digest digest = Digest.parse(key);
        ScheduledFuture<?> renewal = leased ? renewals.scheduleWithFixedDelay(new Renewal(key, ctx),
                leaseTtl.toMillis() / 3, leaseTtl.toMillis() / 3, TimeUnit.MILLISECONDS) : null;
        return new Claim() {
            {
                sources.put(digest, leased ? "upstream (lease held)" : "upstream");
            }

            @Override
            public Optional<ContentInfo> fetched() {
                return Optional.empty();
            }

            @Override
            public void committed(ContentInfo info) {
                listener.bytesFromUpstream(Math.max(0, info.size() - prefix));
                try {
                    leases.addHolder(key, self, holderTtl);
                    leases.removeFetcher(key, self);
                } catch (LeaseStore.Unavailable e) {
                    // others will not know this node has it: they fetch it elsewhere
                }
            }

            @Override
            public void close() {
                sources.remove(digest, leased ? "upstream (lease held)" : "upstream");
                if (renewal != null) {
                    renewal.cancel(false);
                    try {
                        leases.release(key, self);
                    } catch (LeaseStore.Unavailable e) {
                        // it expires
                    }
                }
            }
        };
    }

    /** Extends the lease while the download makes progress, or has not started yet; a stalled one lets it lapse. */
    private final class Renewal implements Runnable {
        private final String key;
        private final FlightContext ctx;
        private long lastDone = -1;
        private boolean lost;

        Renewal(String key, FlightContext ctx) {
            this.key = key;
            this.ctx = ctx;
        }

        @Override
        public void run() {
            if (lost) {
                return;
            }
            FlightProgress.Snapshot now = ctx.progress().snapshot();
            boolean moving = now.done() > lastDone || !BlobPeers.DOWNLOADING.equals(now.phase());
            lastDone = now.done();
            if (!moving) {
                return;
            }
            try {
                if (!leases.renew(key, self, leaseTtl)) {
                    lost = true;
                    listener.leaseLost();
                }
            } catch (LeaseStore.Unavailable e) {
                // the lease store is down: nobody follows this lease now
            }
        }
    }
}

package dev.singlepull.unpack;

import dev.singlepull.content.ContentProvider;
import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.FlightContext;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.Snapshotter;
import dev.singlepull.unpack.snapshot.Staging;
import dev.singlepull.unpack.tar.ApplyStats;
import dev.singlepull.unpack.tar.Decompression;
import dev.singlepull.unpack.tar.LayerApplier;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Turns committed layer blobs into committed snapshots, one per ChainID, each layer at most once however many callers
 * ask: every {@link #unpack} joins the chain flight of its ChainID, and the flight's work unpacks only if the
 * snapshotter has no snapshot for it yet. The work takes an unpack permit after deduplication (a waiter never holds
 * one), decompresses and applies the layer into a staging directory, verifies the DiffID, and commits; on any
 * failure it aborts the staging directory, so nothing is committed. Progress (phase {@code "unpacking"}, compressed
 * bytes read of the layer size) is published on the flight.
 *
 * <p>Layers are independent diffs and unpack in parallel. The one exception is a layer whose diff needs the layers
 * below it (a hard link to one of their files, which is copied up; a directory it does not list, which takes their
 * directory's metadata): after decompressing, applying and verifying it in parallel with the others, it waits,
 * without holding an unpack permit, until its parent chain is committed, then finishes and commits. That wait ends
 * when the parent is committed, when the flight is cancelled, or after {@link UnpackLimits#lowerLayerWait()}. The
 * permit bounds decompressing and applying only: a layer gives it up before its commit, which mostly waits for the
 * disk to make the files durable, so that another layer uses the CPU meanwhile.
 *
 * <p>Errors, as {@link SinglepullException}: NOT_FOUND (blob not in the content store), FAILED_PRECONDITION (not a
 * layer media type), INVALID_ARGUMENT (a hostile tar entry), DATA_LOSS (corrupt stream, malformed tar, DiffID
 * mismatch), RESOURCE_EXHAUSTED (a decompression bomb past the configured ratio; disk full), DEADLINE_EXCEEDED (the
 * layers below never came), CANCELLED (the flight was cancelled or the caller interrupted), INTERNAL (other file
 * system failures). Failures are not cached: the next call tries again. Thread-safe.
 */
public final class Unpacker {
    private final ContentProvider content;
    private final Snapshotter snapshotter;
    private final SingleFlight<ChainId, SnapshotInfo> chains;
    private final Semaphore permits;
    private static final System.Logger LOG = System.getLogger(Unpacker.class.getName());

    private final LayerApplier applier;
    private final UnpackLimits limits;
    private final AtomicLong unpacks = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    /** Completed when the ChainID is committed; only for layers waiting on the layers below them. */
    private final ConcurrentHashMap<ChainId, CompletableFuture<SnapshotInfo>> commits = new ConcurrentHashMap<>();

    /**
     * @param content     where layer blobs are read from
     * @param snapshotter where snapshots are committed
     * @param chains      the chain flight table, keyed by ChainID (shared with whoever else unpacks into
     *                    {@code snapshotter})
     * @param limits      concurrency limits
     */
    public Unpacker(ContentProvider content, Snapshotter snapshotter, SingleFlight<ChainId, SnapshotInfo> chains,
                    UnpackLimits limits) {
        this(content, snapshotter, chains, limits, LayerApplier.tar());
    }

    Unpacker(ContentProvider content, Snapshotter snapshotter, SingleFlight<ChainId, SnapshotInfo> chains,
             UnpackLimits limits, LayerApplier applier) {
        this.content = Objects.requireNonNull(content, "content");
        this.snapshotter = Objects.requireNonNull(snapshotter, "snapshotter");
        this.chains = Objects.requireNonNull(chains, "chains");
        this.permits = new Semaphore(limits.maxConcurrentUnpacks(), true);
        this.applier = Objects.requireNonNull(applier, "applier");
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * The snapshot of {@code chainId}, unpacking {@code layer} (whose diff it is) unless it is committed already or
     * another caller is unpacking it now, in which case this call waits for that one. Blocks; an interrupt detaches
     * only this caller (CANCELLED).
     *
     * @param parent the ChainID of the layers below, or null for a bottom layer
     */
    public SnapshotInfo unpack(LayerRef layer, ChainId chainId, ChainId parent) {
        return join(layer, chainId, parent).await();
    }

    /**
     * The snapshots of every layer of an image, bottom first, unpacked in parallel (each layer's diff is independent
     * of the others). The first failure is thrown; this caller then detaches from the other layers' flights, which
     * go on as the table's grace allows.
     */
    public List<SnapshotInfo> unpackAll(List<LayerRef> layers) {
        if (layers.isEmpty()) {
            return List.of();
        }
        List<ChainId> ids = ChainId.chain(layers.stream().map(LayerRef::diffId).toList());
        List<Call<SnapshotInfo>> calls = new ArrayList<>(layers.size());
        for (int i = 0; i < layers.size(); i++) {
            calls.add(join(layers.get(i), ids.get(i), i == 0 ? null : ids.get(i - 1)));
        }
        var firstFailed = new AtomicReference<Call<SnapshotInfo>>();
        var settled = new CompletableFuture<Void>();
        var remaining = new AtomicInteger(calls.size());
        for (Call<SnapshotInfo> call : calls) {
            call.future().whenComplete((value, error) -> {
                if (error != null) {
                    firstFailed.compareAndSet(null, call);
                    settled.complete(null);
                } else if (remaining.decrementAndGet() == 0) {
                    settled.complete(null);
                }
            });
        }
        try {
            settled.get();
        } catch (InterruptedException e) {
            calls.forEach(Call::cancel);
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while unpacking an image", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // settled never completes exceptionally
        }
        Call<SnapshotInfo> failed = firstFailed.get();
        if (failed != null) {
            calls.stream().filter(call -> call != failed).forEach(Call::cancel);
            failed.await(); // throws the failure
        }
        return calls.stream().map(Call::await).toList();
    }

    /** How many layers this unpacker set out to decompress and apply (snapshots already committed not counted). */
    public long unpacksPerformed() {
        return unpacks.get();
    }

    /**
     * How many entries and attributes were deliberately not created (device nodes and non-{@code user.*} extended
     * attributes when not running as root, and the like); each layer that skips some logs a warning.
     */
    public long skippedEntries() {
        return skipped.get();
    }

    /**
     * Starts or joins the unpack of {@code chainId} without waiting: the caller's own handle, whose progress shows
     * the unpack and whose cancel detaches only this caller. {@link #unpack} is this plus {@code await()}.
     */
    public Call<SnapshotInfo> join(LayerRef layer, ChainId chainId, ChainId parent) {
        Objects.requireNonNull(layer, "layer");
        return join(layer, chainId, parent, () -> content.open(layer.blob()));
    }

    /**
     * {@link #join(LayerRef, ChainId, ChainId)} reading the blob from {@code source} should this call start the
     * unpack: how a pull unpacks a layer while it downloads. A call that joins an unpack already running shares it,
     * whatever that one reads from.
     */
    public Call<SnapshotInfo> join(LayerRef layer, ChainId chainId, ChainId parent, BlobSource source) {
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(chainId, "chainId");
        Objects.requireNonNull(source, "source");
        return chains.join(chainId, context -> work(layer, chainId, parent, source, context));
    }

    private SnapshotInfo work(LayerRef layer, ChainId chainId, ChainId parent, BlobSource source,
                              FlightContext context) throws Exception {
        Optional<SnapshotInfo> existing = snapshotter.stat(chainId);
        if (existing.isPresent()) {
            return existing.get();
        }
        Decompression.forMediaType(layer.mediaType()); // FAILED_PRECONDITION before any work
        context.progress().phase("waiting to unpack");
        var permit = new Permit(layer, context);
        permit.acquire();
        try {
            return unpackNow(layer, chainId, parent, source, context, permit);
        } finally {
            permit.release();
        }
    }

    private SnapshotInfo unpackNow(LayerRef layer, ChainId chainId, ChainId parent, BlobSource source,
                                   FlightContext context, Permit permit) throws Exception {
        FlightProgress progress = context.progress();
        progress.phase("unpacking");
        progress.total(layer.size());
        progress.done(0);
        unpacks.incrementAndGet();
        Staging staging = snapshotter.prepare();
        try {
            LayerPipeline.Result result;
            try (InputStream blob = new CountingInputStream(source.open(), progress)) {
                result = LayerPipeline.run(blob, layer.mediaType(), staging.fs(), layer.blob().toString(), applier,
                        limits);
            }
            if (!result.diffId().equals(layer.diffId())) {
                throw SinglepullException.dataLoss("layer " + layer.blob() + ": DiffID mismatch: the image config says "
                        + layer.diffId() + ", the uncompressed layer is " + result.diffId());
            }
            context.throwIfCancelled();
            List<Path> lower = List.of();
            if (parent != null && result.applied().needsLowerLayers()) {
                progress.phase("waiting for the layers below");
                permit.release(); // a layer below may need it to finish first
                lower = lowerLayers(parent, layer, context);
                permit.acquire();
            }
            ApplyStats stats = result.applied().finish(lower);
            if (stats.skippedTotal() > 0) {
                skipped.addAndGet(stats.skippedTotal());
                LOG.log(Level.WARNING, "layer {0}: not created: {1}", layer.blob(), stats.skipped());
            }
            context.throwIfCancelled();
            progress.phase("committing");
            // the commit mostly waits for the disk (snapshot_sync): another layer may decompress meanwhile
            permit.release();
            SnapshotInfo committed = snapshotter.commit(staging, chainId, parent);
            CompletableFuture<SnapshotInfo> waiting = commits.remove(chainId);
            if (waiting != null) {
                waiting.complete(committed);
            }
            return committed;
        } catch (Throwable t) {
            try {
                snapshotter.abort(staging);
            } catch (RuntimeException cleanup) {
                t.addSuppressed(cleanup);
            }
            if (t instanceof Exception e) {
                throw translate(e, layer, context);
            }
            throw t;
        }
    }

    /**
     * The committed layer directories of {@code parent}'s chain, nearest first, once every one of them is committed.
     * Layers commit in any order (a layer that needs nothing below commits as soon as it is applied), so a committed
     * parent says nothing of the layers under it: each is awaited in turn.
     */
    private List<Path> lowerLayers(ChainId parent, LayerRef layer, FlightContext context) {
        long deadline = System.nanoTime() + limits.lowerLayerWait().toNanos(); // one wait for the whole chain
        List<Path> dirs = new ArrayList<>();
        ChainId next = parent;
        while (next != null) {
            SnapshotInfo below = awaitCommitted(next, layer, context, deadline);
            dirs.add(below.directory());
            next = below.parent();
        }
        return dirs;
    }

    private SnapshotInfo awaitCommitted(ChainId id, LayerRef layer, FlightContext context, long deadline) {
        CompletableFuture<SnapshotInfo> signal = commits.computeIfAbsent(id, k -> new CompletableFuture<>());
        snapshotter.stat(id).ifPresent(signal::complete); // committed before we registered
        try {
            SnapshotInfo info = signal.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            commits.remove(id, signal);
            return info;
        } catch (TimeoutException e) {
            commits.remove(id, signal);
            throw new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "layer " + layer.blob() + " links to or lists"
                    + " directories of the layers below it, and chain " + id + " below it was not unpacked within "
                    + limits.lowerLayerWait(), e);
        } catch (InterruptedException e) {
            context.throwIfCancelled();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted waiting for the layers below "
                    + layer.blob(), e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // only ever completed normally
        }
    }

    /** The flight's unpack permit, released while it waits for the layers below. */
    private final class Permit {
        private final LayerRef layer;
        private final FlightContext context;
        private boolean held;

        Permit(LayerRef layer, FlightContext context) {
            this.layer = layer;
            this.context = context;
        }

        void acquire() {
            try {
                permits.acquire();
                held = true;
            } catch (InterruptedException e) {
                context.throwIfCancelled();
                throw new SinglepullException(ErrorKind.CANCELLED, "interrupted waiting to unpack " + layer.blob(),
                        e);
            }
        }

        void release() {
            if (held) {
                held = false;
                permits.release();
            }
        }
    }

    /** The exception the flight ends with for {@code e}. */
    private static Exception translate(Exception e, LayerRef layer, FlightContext context) {
        if (context.isCancelled()) {
            context.throwIfCancelled();
        }
        if (e instanceof ClosedByInterruptException || e instanceof InterruptedIOException) {
            return new SinglepullException(ErrorKind.CANCELLED, "unpacking " + layer.blob() + " was interrupted", e);
        }
        if (e instanceof IOException io) {
            String message = String.valueOf(io.getMessage());
            ErrorKind kind = message.contains("No space left on device") || message.contains("Disk quota exceeded")
                    ? ErrorKind.RESOURCE_EXHAUSTED : ErrorKind.INTERNAL;
            return new SinglepullException(kind, "unpacking layer " + layer.blob() + " failed: " + io, io);
        }
        return e;
    }
}

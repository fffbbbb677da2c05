package dev.singlepull.cri;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.cluster.ClusterListener;
import dev.singlepull.cri.cluster.ClusterTier;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.image.ImageService;
import dev.singlepull.cri.maintenance.FsckReport;
import dev.singlepull.cri.maintenance.GcReport;
import dev.singlepull.cri.maintenance.IdleMemory;
import dev.singlepull.cri.maintenance.IngestJanitor;
import dev.singlepull.cri.maintenance.StoreCheck;
import dev.singlepull.cri.pull.BlobPeers;
import dev.singlepull.cri.pull.PullPipeline;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.cri.registry.RegistryListener;
import dev.singlepull.cri.server.RootLock;
import dev.singlepull.cri.image.RuntimeRegistration;
import dev.singlepull.cri.runtime.ContainerdRegistration;
import dev.singlepull.cri.snapshots.ProxySnapshotter;
import dev.singlepull.dedup.FlightInfo;
import dev.singlepull.dedup.FlightListener;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.UnpackLimits;
import dev.singlepull.unpack.Unpacker;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.tar.GzipDecoder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything singlepull keeps on one root, opened and wired: the root lock, the metadata database, the content
 * store, the snapshotter, the unpacker, garbage collection, the registry client, the pull pipeline, the image
 * service and the snapshots a container runtime makes on the store's layers. The composition root of the service; closing it closes them in reverse order.
 */
public final class Node implements AutoCloseable {
    /** How long the service stays without pulls before it hands the heap a burst grew back ({@link IdleMemory}). */
    private static final Duration IDLE_MEMORY_QUIET = Duration.ofSeconds(5);

    private final RootLock lock;
    private final MetadataDb db;
    private final ContentStore content;
    private final DirectorySnapshotter snapshots;
    private final SingleFlight<ChainId, SnapshotInfo> chains;
    private final Unpacker unpacker;
    private final RegistryClient registry;
    private final PullPipeline pipeline;
    private final ImageService images;
    private final StoreCheck check;
    private final IngestJanitor janitor;
    private final IdleMemory idleMemory;
    private final GarbageCollector gc;
    private final ProxySnapshotter runtimeSnapshots;
    private final ContainerdRegistration registration;
    private final ClusterTier cluster;

    private Node(ShimConfig config, FlightListener listener, RegistryListener registryListener,
                 ClusterListener clusterListener, boolean inspect) {
        Path root = config.root().toAbsolutePath();
        this.lock = RootLock.acquire(root);
        MetadataDb opened = null;
        IngestJanitor started = null;
        ClusterTier clustered = null;
        try {
            this.db = opened = MetadataDb.open(root.resolve("meta.db"));
            this.content = inspect ? LocalContentStore.openWithoutRecovery(root, db) : LocalContentStore.open(root, db);
            this.snapshots = inspect ? DirectorySnapshotter.forInspection(root, db.snapshots())
                    : new DirectorySnapshotter(root, db.snapshots(), Clock.systemUTC(), config.snapshotSync());
            this.chains = SingleFlight.<ChainId, SnapshotInfo>builder("chain").listener(listener)
                    .grace(config.grace().orElse(null)).build();
            this.unpacker = new Unpacker(content, snapshots, chains, new UnpackLimits(config.maxConcurrentUnpacks())
                    .withExpansionLimit(config.maxExpansionRatio(), config.expansionCheckAbove())
                    .withGzipDecoder(gzipDecoder(config)));
            this.registry = new RegistryClient(config.registry(), registryListener);
            // the peer server asks the pipeline, built below, which blobs are downloading here
            this.cluster = clustered = inspect || !config.cluster().enabled() ? null
                    : ClusterTier.start(config.cluster(), content, this::fetching,
                            clusterListener);
            this.pipeline = new PullPipeline(registry, content, db, unpacker, config.platform(),
                    config.maxConcurrentDownloads(), config.registry().maxBlobResumes(), listener,
                    config.grace().orElse(null),
                    PullPipeline.downloadStallPolicy(config.minTransferRate(), config.stallWindow()),
                    config.unpackWhileDownloading(), config.parallelParts(),
                    cluster == null ? BlobPeers.NONE : cluster.peers());
            this.gc = new GarbageCollector(db,
                    List.of(LocalContentStore.collectorFor(content), snapshots.collector()));
            this.runtimeSnapshots = inspect ? null : new ProxySnapshotter(root, db, snapshots, gc);
            this.registration = inspect || !config.runtime().registers() ? null
                    : new ContainerdRegistration(config.runtime(), db, content, listener);
            this.images = new ImageService(pipeline, db, content, gc, root,
                    registration == null ? RuntimeRegistration.NONE : registration);
            this.check = new StoreCheck(content, snapshots, db, gc);
            this.janitor = started = inspect ? null : IngestJanitor.start(content, config.staleIngestAge());
            this.idleMemory = inspect ? null : IdleMemory.start(pipeline::pullCalls, pipeline::pulling,
                    IDLE_MEMORY_QUIET);
        } catch (RuntimeException e) {
            if (started != null) {
                started.close();
            }
            if (clustered != null) {
                clustered.close();
            }
            if (opened != null) {
                opened.close();
            }
            lock.close();
            throw e;
        }
    }

    /** The configured gzip decoder as it resolves here; FAILED_PRECONDITION when it asks for one not usable here. */
    private static GzipDecoder gzipDecoder(ShimConfig config) {
        try {
            return config.gzipDecoder().resolved();
        } catch (IllegalStateException e) {
            throw new SinglepullException(ErrorKind.FAILED_PRECONDITION, e.getMessage(), e);
        }
    }

    /**
     * Opens the root of {@code config} to serve it: finishes what a crash left (snapshot commits and removals,
     * broken ingests) and starts removing stale ingests. FAILED_PRECONDITION when another process holds the root.
     */
    public static Node open(ShimConfig config, FlightListener listener) {
        return open(config, listener, RegistryListener.NONE);
    }

    /**
     * Opens the root of {@code config} to serve it, with {@code registryListener} hearing the registry client's
     * retries, fallbacks and resumes: finishes what a crash left (snapshot commits and removals, broken ingests) and
     * starts removing stale ingests. FAILED_PRECONDITION when another process holds the root; INVALID_ARGUMENT for a
     * bad hosts configuration.
     */
    public static Node open(ShimConfig config, FlightListener listener, RegistryListener registryListener) {
        return new Node(config, listener, registryListener, ClusterListener.NONE, false);
    }

    /**
     * Opens the root of {@code config} to serve it, as {@link #open(ShimConfig, FlightListener, RegistryListener)},
     * and, when the config switches it on, the cluster tier, reporting to {@code clusterListener}.
     */
    public static Node open(ShimConfig config, FlightListener listener, RegistryListener registryListener,
                            ClusterListener clusterListener) {
        return new Node(config, listener, registryListener, clusterListener, false);
    }

    /**
     * Opens the root of {@code config} for {@code singlepull fsck} while no service runs on it: holds the root's lock
     * like {@link #open}, but leaves what a crash left in place, for the check to report. FAILED_PRECONDITION when
     * another process holds the root.
     */
    public static Node openForInspection(ShimConfig config) {
        return new Node(config, FlightListener.NONE, RegistryListener.NONE, ClusterListener.NONE, true);
    }

    /** Checks the store's consistency; with {@code repair}, fixes what can be fixed (see {@link StoreCheck}). */
    public FsckReport fsck(boolean repair) {
        return check.run(repair);
    }

    /** Runs a garbage collection now and removes stale ingests. */
    public GcReport collectGarbage() {
        GarbageCollector.Result collected = images.collectGarbage();
        return new GcReport(collected, janitor == null ? 0 : janitor.sweep());
    }

    public ImageService images() {
        return images;
    }

    public Unpacker unpacker() {
        return unpacker;
    }

    public RegistryClient registry() {
        return registry;
    }

    public MetadataDb metadata() {
        return db;
    }

    public ContentStore content() {
        return content;
    }

    public DirectorySnapshotter snapshots() {
        return snapshots;
    }

    /** containerd's snapshotter contract over the store's layers; INTERNAL on a node opened for inspection. */
    public ProxySnapshotter runtimeSnapshots() {
        if (runtimeSnapshots == null) {
            throw SinglepullException.internal("a node opened for inspection serves no snapshots", null);
        }
        return runtimeSnapshots;
    }

    /** The registration of images in containerd, when {@code [runtime] containerd_address} is set. */
    public java.util.Optional<ContainerdRegistration> registration() {
        return java.util.Optional.ofNullable(registration);
    }

    private boolean fetching(Digest digest) {
        return pipeline.fetching(digest);
    }

    /** Live flights of every tier; with the cluster tier, a blob download's phase says where it fetches from. */
    public List<FlightInfo> flights() {
        List<FlightInfo> all = new ArrayList<>();
        for (FlightInfo f : pipeline.flights()) {
            all.add(cluster == null || !f.tier().equals("blob") || !Digest.isDigest(f.key())
                    ? f : cluster.sourceOf(Digest.parse(f.key()))
                            .map(source -> new FlightInfo(f.tier(), f.key(), f.waiters(),
                                    new FlightProgress.Snapshot(f.progress().phase() + " from " + source,
                                            f.progress().done(), f.progress().total()), f.age()))
                            .orElse(f));
        }
        all.addAll(chains.flights());
        if (registration != null) {
            all.addAll(registration.flights());
        }
        return all;
    }

    @Override
    public void close() {
        try {
            if (idleMemory != null) {
                idleMemory.close();
            }
            if (janitor != null) {
                janitor.close();
            }
            if (registration != null) {
                registration.close();
            }
            if (cluster != null) {
                cluster.close();
            }
            content.close();
            db.close();
        } finally {
            lock.close();
        }
    }
}

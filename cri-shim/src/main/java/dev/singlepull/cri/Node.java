package dev.singlepull.cri;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.image.ImageService;
import dev.singlepull.cri.pull.PullPipeline;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.cri.registry.RegistryHosts;
import dev.singlepull.cri.server.RootLock;
import dev.singlepull.dedup.FlightInfo;
import dev.singlepull.dedup.FlightListener;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.UnpackLimits;
import dev.singlepull.unpack.Unpacker;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything singlepull keeps on one root, opened and wired: the root lock, the metadata database, the content
 * store, the snapshotter, the unpacker, garbage collection, the registry client, the pull pipeline and the image
 * service. The composition root of the service; closing it closes them in reverse order.
 */
public final class Node implements AutoCloseable {
    private final RootLock lock;
    private final MetadataDb db;
    private final ContentStore content;
    private final DirectorySnapshotter snapshots;
    private final SingleFlight<ChainId, SnapshotInfo> chains;
    private final Unpacker unpacker;
    private final RegistryClient registry;
    private final PullPipeline pipeline;
    private final ImageService images;

    private Node(ShimConfig config, FlightListener listener) {
        Path root = config.root().toAbsolutePath();
        this.lock = RootLock.acquire(root);
        try {
            this.db = MetadataDb.open(root.resolve("meta.db"));
            this.content = LocalContentStore.open(root, db);
            this.snapshots = new DirectorySnapshotter(root, db.snapshots());
            this.chains = SingleFlight.<ChainId, SnapshotInfo>builder("chain").listener(listener)
                    .grace(config.grace().orElse(null)).build();
            this.unpacker = new Unpacker(content, snapshots, chains, new UnpackLimits(config.maxConcurrentUnpacks())
                    .withExpansionLimit(config.maxExpansionRatio(), config.expansionCheckAbove()));
            this.registry = new RegistryClient(new RegistryHosts(config.insecureRegistries()));
            this.pipeline = new PullPipeline(registry, content, db, unpacker, config.platform(),
                    config.maxConcurrentDownloads(), listener, config.grace().orElse(null),
                    PullPipeline.downloadStallPolicy(config.minTransferRate(), config.stallWindow()));
            GarbageCollector gc = new GarbageCollector(db,
                    List.of(LocalContentStore.collectorFor(content), snapshots.collector()));
            this.images = new ImageService(pipeline, db, content, gc, root);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** Opens the root of {@code config}; FAILED_PRECONDITION when another process holds it. */
    public static Node open(ShimConfig config, FlightListener listener) {
        return new Node(config, listener);
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

    /** Live flights of every tier. */
    public List<FlightInfo> flights() {
        List<FlightInfo> all = new ArrayList<>(pipeline.flights());
        all.addAll(chains.flights());
        return all;
    }

    @Override
    public void close() {
        try {
            content.close();
            db.close();
        } finally {
            lock.close();
        }
    }
}

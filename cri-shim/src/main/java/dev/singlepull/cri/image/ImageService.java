package dev.singlepull.cri.image;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.ImageRecord;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.SnapshotStore;
import dev.singlepull.cri.pull.PullPipeline;
import dev.singlepull.cri.pull.PulledImage;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.cri.registry.ImageConfig;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The image service as a plain Java domain service: pull, status, list, remove and filesystem usage, in CRI's terms
 * but free of gRPC. Lookups never wait behind pulls and touch no disk once an image has been seen: image records are
 * kept in memory by the metadata database, and what the views take from an image's config (user, top ChainID) is
 * kept here per image id, which content addressing makes safe to keep. Thread-safe.
 */
public final class ImageService {
    private final PullPipeline pipeline;
    private final MetadataDb db;
    private final ContentStore content;
    private final GarbageCollector gc;
    private final RuntimeRegistration runtime;
    private final Path root;
    /** Per image id: what its view takes from the config blob and its labels. Dropped when the image is removed. */
    private final Map<Digest, ConfigDetails> details = new ConcurrentHashMap<>();

    /** What an image's view takes from its config blob (null when the blob could not be read) and its labels. */
    private record ConfigDetails(ImageConfig config, String chainId) { }

    public ImageService(PullPipeline pipeline, MetadataDb db, ContentStore content, GarbageCollector gc, Path root) {
        this(pipeline, db, content, gc, root, RuntimeRegistration.NONE);
    }

    /** As the other constructor, with {@code runtime} told of every image pulled and removed. */
    public ImageService(PullPipeline pipeline, MetadataDb db, ContentStore content, GarbageCollector gc, Path root,
                        RuntimeRegistration runtime) {
        this.pipeline = pipeline;
        this.db = db;
        this.content = content;
        this.gc = gc;
        this.root = root;
        this.runtime = runtime;
    }

    /**
     * Makes a pulled image known to the container runtime, if one is configured (see {@link RuntimeRegistration});
     * a PullImage answers only after this returns.
     */
    public void register(PulledImage image) {
        runtime.register(image);
    }

    /** Starts or joins the pull of {@code image}; INVALID_ARGUMENT for a bad reference. */
    public Call<PulledImage> pull(String image, Credentials credentials) {
        return pipeline.pull(ImageRef.parse(image), credentials);
    }

    /** The progress of a pull of {@code image} in flight, if there is one. INVALID_ARGUMENT for a bad reference. */
    public Optional<FlightProgress> pullProgress(String image) {
        return pipeline.progressOf(ImageRef.parse(image));
    }

    /**
     * The image that {@code ref} names (an image id, with or without {@code sha256:}, a repo tag, a repo digest, or
     * a name without tag, meaning {@code :latest}); empty if there is none. INVALID_ARGUMENT when {@code ref} is none
     * of these.
     */
    public Optional<ImageView> status(String ref) {
        return idOf(ref).flatMap(this::view);
    }

    /** Every image, or only the one {@code filter} names. */
    public List<ImageView> list(Optional<String> filter) {
        if (filter.isPresent() && !filter.get().isBlank()) {
            return status(filter.get()).map(List::of).orElse(List.of());
        }
        Map<Digest, List<ImageRecord>> byId = new LinkedHashMap<>();
        for (ImageRecord record : db.images().list()) {
            byId.computeIfAbsent(record.configDigest(), k -> new ArrayList<>()).add(record);
        }
        List<ImageView> views = new ArrayList<>();
        byId.forEach((id, records) -> views.add(toView(id, records)));
        return views;
    }

    /**
     * Removes the image {@code ref} names, with every name pointing at it, then collects what no other image and no
     * pull in flight uses. Removing an absent image is not an error.
     *
     * @return the names removed
     */
    public List<String> remove(String ref) {
        Optional<Digest> id = idOf(ref);
        if (id.isEmpty()) {
            return List.of();
        }
        List<String> names = db.images().byConfig(id.get()).stream().map(ImageRecord::name).toList();
        runtime.unregister(id.get(), names);
        db.images().delete(names);
        details.remove(id.get());
        gc.collect();
        return names;
    }

    /** Runs a garbage collection now. */
    public GarbageCollector.Result collectGarbage() {
        return gc.collect();
    }

    /**
     * Bytes and inodes used by images under the root: committed blobs and ingests (partial downloads), plus every
     * snapshot record's files. Cheap enough for kubelet's polling: blobs are counted as they come and go, snapshots
     * summed by the database, and only the ingests are measured on disk. Unpacks in progress (staging directories)
     * are not counted until they commit.
     */
    public FsUsage fsUsage() {
        ContentStore.Usage blobs = content.usage();
        SnapshotStore.Totals snapshots = db.snapshots().totals();
        return new FsUsage(root, blobs.bytes() + snapshots.size(), blobs.inodes() + snapshots.inodes());
    }

    /** Usage of the image filesystem. */
    public record FsUsage(Path mountpoint, long usedBytes, long inodesUsed) { }

    private Optional<Digest> idOf(String ref) {
        return ImageNames.idOf(db.images(), ref);
    }

    private Optional<ImageView> view(Digest id) {
        List<ImageRecord> records = db.images().byConfig(id);
        return records.isEmpty() ? Optional.empty() : Optional.of(toView(id, records));
    }

    private ImageView toView(Digest id, List<ImageRecord> records) {
        List<String> tags = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        for (ImageRecord r : records) {
            (r.name().contains("@") ? digests : tags).add(r.name());
        }
        ImageRecord first = records.getFirst();
        ConfigDetails d = details(id);
        ImageConfig config = d.config();
        String chainId = d.chainId();
        OptionalLong uid = config == null ? OptionalLong.empty() : config.uid();
        String username = config == null ? "" : config.username();
        return new ImageView(id, tags, digests, first.size(), uid, username, chainId, first.manifestDigest(),
                config == null ? null : config.document());
    }

    private ConfigDetails details(Digest id) {
        ConfigDetails known = details.get(id);
        if (known != null) {
            return known;
        }
        ImageConfig config = readConfig(id);
        String chainId = content.info(id).map(info -> info.labels().getOrDefault(
                ImageNames.SNAPSHOT_LABEL, "")).orElse("");
        ConfigDetails read = new ConfigDetails(config, chainId);
        if (config != null && !chainId.isEmpty()) {
            details.put(id, read); // complete: keep it; a partial answer is read again next time
        }
        return read;
    }

    private ImageConfig readConfig(Digest id) {
        try (InputStream in = content.open(id)) {
            return ImageConfig.parse(in.readAllBytes(), id.toString());
        } catch (IOException | SinglepullException e) {
            return null; // a record whose config is gone is still listed; status shows what it can
        }
    }
}

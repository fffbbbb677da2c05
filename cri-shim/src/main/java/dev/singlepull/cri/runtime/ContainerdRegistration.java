package dev.singlepull.cri.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.FieldMask;
import dev.singlepull.api.containerd.content.v1.Info;
import dev.singlepull.api.containerd.content.v1.InfoRequest;
import dev.singlepull.api.containerd.content.v1.UpdateRequest;
import dev.singlepull.api.containerd.content.v1.WriteAction;
import dev.singlepull.api.containerd.content.v1.WriteContentRequest;
import dev.singlepull.api.containerd.content.v1.WriteContentResponse;
import dev.singlepull.api.containerd.images.v1.CreateImageRequest;
import dev.singlepull.api.containerd.images.v1.DeleteImageRequest;
import dev.singlepull.api.containerd.images.v1.GetImageRequest;
import dev.singlepull.api.containerd.images.v1.Image;
import dev.singlepull.api.containerd.images.v1.UpdateImageRequest;
import dev.singlepull.api.containerd.leases.v1.CreateRequest;
import dev.singlepull.api.containerd.leases.v1.AddResourceRequest;
import dev.singlepull.api.containerd.leases.v1.DeleteRequest;
import dev.singlepull.api.containerd.leases.v1.Resource;
import dev.singlepull.api.containerd.snapshots.v1.PrepareSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.RemoveSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.StatSnapshotRequest;
import dev.singlepull.api.containerd.types.Descriptor;
import dev.singlepull.content.ContentProvider;
import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.ImageRecord;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.cri.config.RuntimeSettings;
import dev.singlepull.cri.image.RuntimeRegistration;
import dev.singlepull.cri.pull.PulledImage;
import dev.singlepull.dedup.FlightListener;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Registers singlepull's images in containerd, so that its CRI plugin runs containers from singlepull's layers. One
 * registration flight per image id (callers of one image register it once), under a containerd lease so that
 * containerd's garbage collection cannot take half-registered state:
 * <ol>
 *   <li>the index (if the name resolved to one), the manifest and the config are written to containerd's content
 *       store, labelled as containerd labels what it pulls: {@code containerd.io/gc.ref.content.m.0} on the index,
 *       {@code containerd.io/gc.ref.content.config} on the manifest, {@code containerd.io/gc.ref.snapshot.<name>}
 *       = the top ChainID on the config. Layer blobs are not copied;</li>
 *   <li>each layer, bottom up, unless containerd already knows it: {@code Snapshots.Prepare} with the label
 *       {@code containerd.io/snapshot.ref} = its ChainID, which singlepull's snapshots service answers with
 *       ALREADY_EXISTS, and containerd records the layer as its snapshot;</li>
 *   <li>{@code Images.Create} (or {@code Update}) of every name of the image and of its id, labelled as containerd's
 *       CRI plugin labels its own.</li>
 * </ol>
 * Registered names are remembered, so later pulls of a registered image cost nothing; {@link #registerAll} registers
 * again what containerd lacks (at start-up: containerd may have been reinstalled). Errors: UNAVAILABLE naming
 * containerd's socket when it cannot be reached; others as containerd answered. Thread-safe.
 */
public final class ContainerdRegistration implements RuntimeRegistration, AutoCloseable {
    static final String SNAPSHOT_REF = "containerd.io/snapshot.ref";
    static final String GC_CONFIG = "containerd.io/gc.ref.content.config";
    static final String GC_MANIFEST = "containerd.io/gc.ref.content.m.0";
    static final String GC_SNAPSHOT = "containerd.io/gc.ref.snapshot.";
    static final String GC_EXPIRE = "containerd.io/gc.expire";
    static final String CRI_MANAGED = "io.cri-containerd.image";
    private static final String SINGLEPULL_SNAPSHOT_LABEL = "containerd.io/gc.ref.snapshot.singlepull";
    private static final int WRITE_CHUNK = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final System.Logger LOG = System.getLogger(ContainerdRegistration.class.getName());

    private final RuntimeSettings settings;
    private final MetadataDb db;
    private final ContentProvider content;
    private final ContainerdConnection containerd;
    private final SingleFlight<Digest, Void> flights;
    /** Names (and ids) containerd has been given, by image id; dropped when the image is removed. */
    private final Map<Digest, Set<String>> registered = new ConcurrentHashMap<>();

    public ContainerdRegistration(RuntimeSettings settings, MetadataDb db, ContentProvider content,
                                  FlightListener listener) {
        if (!settings.registers()) {
            throw SinglepullException.invalidArgument("no containerd_address configured");
        }
        this.settings = settings;
        this.db = db;
        this.content = content;
        this.containerd = new ContainerdConnection(settings.containerdAddress(), settings.namespace());
        this.flights = SingleFlight.<Digest, Void>builder("register").listener(listener).build();
    }

    @Override
    public void register(PulledImage image) {
        // a flight this call joins may have read the image's names before this pull recorded a new one: then one
        // more flight registers it
        for (int flight = 0; flight < 2; flight++) {
            Set<String> done = registered.get(image.imageId());
            if (done != null && done.containsAll(image.names())) {
                return;
            }
            flights.run(image.imageId(), ctx -> {
                registerNow(image.imageId());
                return null;
            });
        }
    }

    /**
     * Registers every image of the store, skipping what containerd already has; returns how many images it went
     * through. An image that fails is logged and the others still go.
     */
    public int registerAll() {
        Set<Digest> ids = new LinkedHashSet<>();
        db.images().list().forEach(r -> ids.add(r.configDigest()));
        int done = 0;
        for (Digest id : ids) {
            try {
                flights.run(id, ctx -> {
                    registerNow(id);
                    return null;
                });
                done++;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot register image " + id + " in containerd: "
                        + e.getMessage());
            }
        }
        return done;
    }

    @Override
    public void unregister(Digest imageId, List<String> names) {
        registered.remove(imageId);
        ContainerdConnection.Stubs stubs = containerd.stubs(null);
        List<String> all = new ArrayList<>(names);
        all.add(imageId.toString());
        for (String name : all) {
            try {
                stubs.images().delete(DeleteImageRequest.newBuilder().setName(name).build());
                LOG.log(System.Logger.Level.INFO, "containerd: removed image record {0}", name);
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                    LOG.log(System.Logger.Level.WARNING, containerd.translate("delete image " + name, e).getMessage());
                }
            }
        }
    }

    /** The registration itself: everything of image {@code id} that containerd lacks. */
    private void registerNow(Digest id) {
        List<ImageRecord> records = db.imagesOf(id);
        if (records.isEmpty()) {
            return; // removed meanwhile
        }
        String top = db.labels(id).get(SINGLEPULL_SNAPSHOT_LABEL);
        if (top == null) {
            throw SinglepullException.internal("image " + id + " has no top layer label", null);
        }
        List<String> chain = chainOf(top);
        String lease = "singlepull-register-" + UUID.randomUUID();
        ContainerdConnection.Stubs plain = containerd.stubs(null);
        call("create a lease", () -> plain.leases().create(CreateRequest.newBuilder().setId(lease)
                .putLabels(GC_EXPIRE, Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString())
                .build()));
        try {
            ContainerdConnection.Stubs leased = containerd.stubs(lease);
            Map<Digest, Descriptor> targets = new LinkedHashMap<>();
            for (ImageRecord record : records) {
                targets.computeIfAbsent(record.manifestDigest(), t -> writeDocuments(leased, lease, t, id, top));
            }
            for (int i = 0; i < chain.size(); i++) {
                registerLayer(leased, lease, chain.get(i), i == 0 ? "" : chain.get(i - 1));
            }
            Set<String> names = new LinkedHashSet<>();
            for (ImageRecord record : records) {
                putImage(leased, record.name(), targets.get(record.manifestDigest()));
                names.add(record.name());
            }
            putImage(leased, id.toString(), targets.get(records.getFirst().manifestDigest()));
            registered.put(id, names);
            LOG.log(System.Logger.Level.INFO, "containerd: registered image {0} as {1} ({2} layers)", id, names,
                    chain.size());
        } finally {
            try {
                plain.leases().delete(DeleteRequest.newBuilder().setId(lease).build());
            } catch (StatusRuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, containerd.translate("delete lease " + lease, e).getMessage()
                        + " (it expires within the hour)");
            }
        }
    }

    /** The ChainIDs from the bottom layer to {@code top}, from singlepull's snapshot records. */
    private List<String> chainOf(String top) {
        List<String> chain = new ArrayList<>();
        for (String next = top; next != null; ) {
            String key = next;
            SnapshotRecord r = db.snapshot(key).filter(SnapshotRecord::isCommitted).orElseThrow(() ->
                    SinglepullException.notFound("layer " + key + " of the image is not in the store"));
            chain.add(key);
            next = r.parent();
            if (chain.size() > 10_000) {
                throw SinglepullException.internal("the layer chain of " + top + " loops", null);
            }
        }
        return chain.reversed();
    }

    /**
     * Writes the documents a name's {@code target} leads to (an index and its manifest, or a manifest) and the
     * config, with containerd's GC labels; returns the target's descriptor.
     */
    private Descriptor writeDocuments(ContainerdConnection.Stubs stubs, String lease, Digest target, Digest config,
                                      String top) {
        byte[] targetBytes = read(target);
        String mediaType = mediaType(targetBytes);
        String manifest = db.labels(target).get(GC_MANIFEST);
        writeBlob(stubs, lease, config, read(config), Map.of(GC_SNAPSHOT + settings.snapshotter(), top));
        if (manifest != null) {
            Digest m = Digest.parse(manifest);
            writeBlob(stubs, lease, m, read(m), Map.of(GC_CONFIG, config.toString()));
            writeBlob(stubs, lease, target, targetBytes, Map.of(GC_MANIFEST, manifest));
        } else {
            writeBlob(stubs, lease, target, targetBytes, Map.of(GC_CONFIG, config.toString()));
        }
        return Descriptor.newBuilder().setMediaType(mediaType).setDigest(target.toString())
                .setSize(targetBytes.length).build();
    }

    /**
     * Writes {@code bytes} as blob {@code digest} unless containerd has it, then sets {@code labels} on it. A blob
     * containerd already has is first added to the lease: nothing may reference it yet (its image was deleted, say),
     * and a collection must not take it between this look and the image record that will.
     */
    private void writeBlob(ContainerdConnection.Stubs stubs, String lease, Digest digest, byte[] bytes,
                           Map<String, String> labels) {
        boolean present;
        try {
            protect(stubs, lease, digest.toString(), "content");
            stubs.content().info(InfoRequest.newBuilder().setDigest(digest.toString()).build());
            present = true;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                throw containerd.translate("look up blob " + digest, e);
            }
            present = false;
        }
        if (!present) {
            write(stubs, digest, bytes);
        }
        List<String> paths = labels.keySet().stream().map(k -> "labels." + k).toList();
        call("label blob " + digest, () -> stubs.content().update(UpdateRequest.newBuilder()
                .setInfo(Info.newBuilder().setDigest(digest.toString()).putAllLabels(labels))
                .setUpdateMask(FieldMask.newBuilder().addAllPaths(paths)).build()));
    }

    /** One Write exchange: the bytes in chunks, then a commit checked against size and digest. */
    private void write(ContainerdConnection.Stubs stubs, Digest digest, byte[] bytes) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        StreamObserver<WriteContentRequest> out = stubs.contentAsync().write(new StreamObserver<>() {
            @Override
            public void onNext(WriteContentResponse response) {
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });
        String ref = "singlepull-" + digest.hex();
        for (int offset = 0; offset < bytes.length; offset += WRITE_CHUNK) {
            int n = Math.min(WRITE_CHUNK, bytes.length - offset);
            out.onNext(WriteContentRequest.newBuilder().setAction(WriteAction.WRITE).setRef(ref).setOffset(offset)
                    .setData(ByteString.copyFrom(bytes, offset, n)).build());
        }
        out.onNext(WriteContentRequest.newBuilder().setAction(WriteAction.COMMIT).setRef(ref)
                .setOffset(bytes.length).setTotal(bytes.length).setExpected(digest.toString()).build());
        out.onCompleted();
        try {
            done.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof StatusRuntimeException sre) {
                if (sre.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
                    return; // committed by someone else meanwhile: just as good
                }
                throw containerd.translate("write blob " + digest, sre);
            }
            throw SinglepullException.internal("writing blob " + digest + " to containerd failed", e.getCause());
        } catch (TimeoutException e) {
            throw new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "containerd at " + containerd.address()
                    + " did not take blob " + digest + " within 60 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted writing blob " + digest, e);
        }
    }

    /**
     * Makes layer {@code chainId} (over {@code parent}) a snapshot containerd knows, unless it already is one: a
     * Prepare naming it as the target, which singlepull's snapshots service answers with ALREADY_EXISTS.
     */
    private void registerLayer(ContainerdConnection.Stubs stubs, String lease, String chainId, String parent) {
        try {
            protect(stubs, lease, chainId, "snapshots/" + settings.snapshotter());
            stubs.snapshots().stat(StatSnapshotRequest.newBuilder().setSnapshotter(settings.snapshotter())
                    .setKey(chainId).build());
            return;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                throw containerd.translate("look up snapshot " + chainId, e);
            }
        }
        String key = "singlepull-register-" + UUID.randomUUID() + " " + chainId;
        try {
            stubs.snapshots().prepare(PrepareSnapshotRequest.newBuilder().setSnapshotter(settings.snapshotter())
                    .setKey(key).setParent(parent).putLabels(SNAPSHOT_REF, chainId).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) {
                return; // the expected answer: containerd now has the layer as its snapshot
            }
            throw containerd.translate("register layer " + chainId + " (snapshotter " + settings.snapshotter() + ")",
                    e);
        }
        try {
            stubs.snapshots().remove(RemoveSnapshotRequest.newBuilder().setSnapshotter(settings.snapshotter())
                    .setKey(key).build());
        } catch (StatusRuntimeException ignored) {
            // an empty active snapshot under a lease that is about to end: containerd collects it
        }
        throw SinglepullException.failedPrecondition("containerd's snapshotter '" + settings.snapshotter()
                + "' does not know layer " + chainId + ": is it singlepull's snapshots service? (see `singlepull "
                + "containerd-config`)");
    }

    /** Creates image {@code name} pointing at {@code target}, or points the existing one there. */
    private void putImage(ContainerdConnection.Stubs stubs, String name, Descriptor target) {
        Image image = Image.newBuilder().setName(name).setTarget(target).putLabels(CRI_MANAGED, "managed").build();
        try {
            stubs.images().create(CreateImageRequest.newBuilder().setImage(image).build());
            return;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.ALREADY_EXISTS) {
                throw containerd.translate("create image " + name, e);
            }
        }
        Image existing = call("read image " + name, () -> stubs.images().get(GetImageRequest.newBuilder()
                .setName(name).build())).getImage();
        if (existing.getTarget().getDigest().equals(target.getDigest())
                && "managed".equals(existing.getLabelsMap().get(CRI_MANAGED))) {
            return;
        }
        call("update image " + name, () -> stubs.images().update(UpdateImageRequest.newBuilder().setImage(image)
                .setUpdateMask(FieldMask.newBuilder().addPaths("target").addPaths("labels." + CRI_MANAGED)).build()));
    }

    /** Adds a resource to the lease, so containerd's collection keeps it while the registration runs. */
    private void protect(ContainerdConnection.Stubs stubs, String lease, String id, String type) {
        call("lease " + type + " " + id, () -> stubs.leases().addResource(AddResourceRequest.newBuilder().setId(lease)
                .setResource(Resource.newBuilder().setId(id).setType(type)).build()));
    }

    private byte[] read(Digest digest) {
        try (InputStream in = content.open(digest)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw SinglepullException.internal("cannot read blob " + digest, e);
        }
    }

    /** The media type a manifest or index names, or the OCI one its shape says. */
    static String mediaType(byte[] document) {
        try {
            JsonNode json = JSON.readTree(document);
            if (json.hasNonNull("mediaType")) {
                return json.get("mediaType").asText();
            }
            return json.has("manifests") ? "application/vnd.oci.image.index.v1+json"
                    : "application/vnd.oci.image.manifest.v1+json";
        } catch (IOException e) {
            throw SinglepullException.dataLoss("stored manifest is not JSON: " + e.getMessage());
        }
    }

    private <T> T call(String doing, java.util.function.Supplier<T> rpc) {
        try {
            return rpc.get();
        } catch (StatusRuntimeException e) {
            throw containerd.translate(doing, e);
        }
    }

    /** Registrations running now. */
    public List<dev.singlepull.dedup.FlightInfo> flights() {
        return flights.flights();
    }

    @Override
    public void close() {
        containerd.close();
    }
}

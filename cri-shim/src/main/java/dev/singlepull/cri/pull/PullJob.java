package dev.singlepull.cri.pull;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.IngestFollowException;
import dev.singlepull.content.meta.ImageRecord;
import dev.singlepull.content.meta.Leases;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageConfig;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.cri.registry.Manifests;
import dev.singlepull.cri.registry.Platform;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.FlightContext;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.LayerRef;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.Unpacker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The work of one ref flight: one pull of one reference. Holds a lease for its whole life, so that a garbage
 * collection running meanwhile takes nothing it wrote; the lease ends after the image records are written, and from
 * then on the records keep everything alive through the labels written here.
 */
final class PullJob {
    static final String LABEL_CONFIG = "containerd.io/gc.ref.content.config";
    static final String LABEL_LAYER = "containerd.io/gc.ref.content.l.";
    static final String LABEL_MANIFEST = "containerd.io/gc.ref.content.m.";
    static final String LABEL_SNAPSHOT = "containerd.io/gc.ref.snapshot.singlepull";
    private static final Duration LEASE_TTL = Duration.ofHours(6);

    /** @param unpackWhileDownloading whether a layer unpacks from its download as the bytes arrive */
    record Dependencies(RegistryClient registry, ContentStore content, MetadataDb db, Unpacker unpacker,
                        BlobFetcher blobs, Platform platform, boolean unpackWhileDownloading) { }

    private final Dependencies deps;
    private final ImageRef ref;
    private final Credentials credentials;
    private final FlightContext ctx;

    PullJob(Dependencies deps, ImageRef ref, Credentials credentials, FlightContext ctx) {
        this.deps = deps;
        this.ref = ref;
        this.credentials = credentials;
        this.ctx = ctx;
    }

    /**
     * Pulls. Every failure names the reference: a message that does not yet is prefixed with it (registry failures
     * already name the host).
     */
    PulledImage run() throws InterruptedException {
        try {
            return pull();
        } catch (SinglepullException e) {
            String name = ref.toString();
            if (e.getMessage() != null && e.getMessage().contains(name)) {
                throw e;
            }
            throw new SinglepullException(e.kind(), "pull of " + name + ": " + e.getMessage(), e);
        }
    }

    private PulledImage pull() throws InterruptedException {
        try (Leases.Lease lease = deps.db().leases().create("pull " + ref, LEASE_TTL)) {
            ctx.progress().phase("resolving");
            RegistryClient.Resolved resolved = deps.registry().resolve(ref, credentials, deps.platform());
            Manifests.ImageManifest manifest = resolved.image();
            Digest target = resolved.index().map(RegistryClient.Document::digest)
                    .orElse(resolved.manifest().digest());

            lease.add(Leases.CONTENT, resolved.manifest().digest().toString());
            resolved.index().ifPresent(index -> lease.add(Leases.CONTENT, index.digest().toString()));
            lease.add(Leases.CONTENT, manifest.config().digest().toString());

            ctx.progress().phase("fetching config");
            deps.blobs().fetch(ref, manifest.config(), credentials, shown -> { });
            ImageConfig config = ImageConfig.parse(readBlob(manifest.config().digest()), ref.toString());
            if (config.diffIds().size() != manifest.layers().size()) {
                throw SinglepullException.dataLoss("image " + ref + " has " + manifest.layers().size()
                        + " layers but its config lists " + config.diffIds().size() + " diff_ids");
            }
            List<ChainId> chain = ChainId.chain(config.diffIds());
            for (int i = 0; i < chain.size(); i++) {
                lease.add(Leases.CONTENT, manifest.layers().get(i).digest().toString());
                lease.add(Leases.SNAPSHOT, chain.get(i).toString());
            }

            ctx.progress().phase("downloading and unpacking");
            ctx.progress().total(manifest.size());
            fetchAndUnpackLayers(manifest, config, chain);
            ctx.throwIfCancelled();

            ctx.progress().phase("recording");
            storeDocument(resolved.manifest());
            resolved.index().ifPresent(this::storeDocument);
            writeLabels(resolved, chain);
            List<String> names = recordNames(target);
            Instant now = Instant.now();
            for (String name : names) {
                deps.db().images().put(new ImageRecord(name, target, manifest.config().digest(), manifest.size(),
                        now, now));
            }
            ctx.progress().phase("done");
            return new PulledImage(manifest.config().digest(), target, resolved.manifest().digest(), names,
                    manifest.size(), chain.stream().map(ChainId::toString).toList());
        }
    }

    /**
     * Every layer is an independent diff: each downloads and unpacks on its own virtual thread. A layer not yet in
     * the store unpacks while it downloads (when {@code unpackWhileDownloading}), reading the bytes the download has
     * written so far; the snapshot is committed only after the blob's digest was verified.
     */
    private void fetchAndUnpackLayers(Manifests.ImageManifest manifest, ImageConfig config, List<ChainId> chain)
            throws InterruptedException {
        List<Descriptor> layers = manifest.layers();
        try (ExecutorService perLayer = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < layers.size(); i++) {
                Descriptor layer = layers.get(i);
                LayerRef layerRef = new LayerRef(layer.digest(), layer.mediaType(), layer.size(), config.diffIds().get(i));
                ChainId chainId = chain.get(i);
                ChainId parent = i == 0 ? null : chain.get(i - 1);
                ctx.progress().part(layer.digest().toString(), FlightProgress.finished("waiting", 0));
                futures.add(perLayer.submit(() -> {
                    pullLayer(layer, layerRef, chainId, parent);
                    return null;
                }));
            }
            try {
                for (Future<?> f : futures) {
                    f.get();
                }
            } catch (ExecutionException e) {
                futures.forEach(f -> f.cancel(true));
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException re) {
                    throw re;
                }
                throw SinglepullException.internal("layer of " + ref + " failed: " + cause, cause);
            } catch (InterruptedException e) {
                futures.forEach(f -> f.cancel(true));
                throw e;
            }
        }
    }

    private void pullLayer(Descriptor layer, LayerRef layerRef, ChainId chainId, ChainId parent) {
        String part = layer.digest().toString();
        Optional<Call<ContentInfo>> download = deps.blobs().start(ref, layer, credentials,
                shown -> ctx.progress().part(part, shown));
        boolean streamed = download.isPresent() && deps.unpackWhileDownloading();
        Call<SnapshotInfo> unpack;
        if (streamed) {
            unpack = deps.unpacker().join(layerRef, chainId, parent, deps.blobs().follow(layer, download.get()));
            download.get().future().thenRun(() -> ctx.progress().part(part, unpack.progress()));
        } else {
            download.ifPresent(Call::await);
            unpack = deps.unpacker().join(layerRef, chainId, parent);
            ctx.progress().part(part, unpack.progress());
        }
        try {
            unpack.await();
        } catch (SinglepullException e) {
            if (!streamed || !causedBy(e, IngestFollowException.class)) {
                download.ifPresent(Call::cancel);
                throw e;
            }
            download.get().await(); // a failed download is the failure to report
            // the download started over or was cut short and resumed: unpack from the verified blob instead
            Call<SnapshotInfo> again = deps.unpacker().join(layerRef, chainId, parent);
            ctx.progress().part(part, again.progress());
            again.await();
        }
        download.ifPresent(Call::await);
        ctx.progress().part(part, FlightProgress.finished("pull complete", layer.size()));
        ctx.progress().advance(layer.size());
    }

    private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    private byte[] readBlob(Digest digest) {
        try (InputStream in = deps.content().open(digest)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw SinglepullException.internal("reading blob " + digest + " from the store failed", e);
        }
    }

    /** Manifests and indexes are already in memory and verified: they are written straight into the store. */
    private void storeDocument(RegistryClient.Document document) {
        if (deps.content().info(document.digest()).isPresent()) {
            return;
        }
        try (ContentWriter writer = deps.content().writer("doc-" + document.digest(), document.digest(),
                document.bytes().length)) {
            if (writer.offset() != 0) {
                writer.close();
                deps.content().abort("doc-" + document.digest());
                storeDocument(document);
                return;
            }
            writer.write(ByteBuffer.wrap(document.bytes()));
            writer.commit();
        }
    }

    private void writeLabels(RegistryClient.Resolved resolved, List<ChainId> chain) {
        Manifests.ImageManifest manifest = resolved.image();
        Map<String, String> manifestLabels = new LinkedHashMap<>();
        manifestLabels.put(LABEL_CONFIG, manifest.config().digest().toString());
        for (int i = 0; i < manifest.layers().size(); i++) {
            manifestLabels.put(LABEL_LAYER + i, manifest.layers().get(i).digest().toString());
        }
        deps.content().label(resolved.manifest().digest(), manifestLabels);
        if (!chain.isEmpty()) {
            deps.content().label(manifest.config().digest(), Map.of(LABEL_SNAPSHOT, chain.getLast().toString()));
        }
        resolved.index().ifPresent(index -> deps.content().label(index.digest(),
                Map.of(LABEL_MANIFEST + "0", resolved.manifest().digest().toString())));
    }

    /**
     * The tag name and the digest name, as containerd records both. A reference that names a digest records only
     * the digest: the tag it may carry is not checked against the registry and could point elsewhere by now.
     */
    private List<String> recordNames(Digest target) {
        List<String> names = new ArrayList<>();
        if (ref.digest().isEmpty()) {
            ref.tagged().ifPresent(names::add);
        }
        names.add(ref.withDigest(target));
        return names;
    }
}

package dev.singlepull.content.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.testing.MutableClock;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GarbageCollectorTest {
    @TempDir
    Path root;

    private final MutableClock clock = MutableClock.startingNow();
    private MetadataDb db;
    private ContentStore store;
    private FakeSnapshots snapshots;
    private GarbageCollector gc;

    @BeforeEach
    void open() {
        db = SqliteMetadataDb.open(root.resolve("meta.db"), clock);
        store = LocalContentStore.open(root, db);
        snapshots = new FakeSnapshots(db);
        gc = new GarbageCollector(db, List.of(LocalContentStore.collectorFor(store), snapshots));
    }

    @AfterEach
    void close() {
        store.close();
        db.close();
    }

    /** Snapshot directories kept in memory; removing one also removes its record, as the unpacker's collector does. */
    private static final class FakeSnapshots implements ResourceCollector {
        final Map<String, Long> sizes = new ConcurrentHashMap<>();
        final Set<String> failing = ConcurrentHashMap.newKeySet();
        private final MetadataDb db;

        FakeSnapshots(MetadataDb db) {
            this.db = db;
        }

        void create(String key, String parent, long size) {
            sizes.put(key, size);
            db.snapshots().insert(new SnapshotRecord(key, parent, "snapshots/" + db.snapshots().nextId(), size, 1,
                    null));
        }

        @Override
        public String kind() {
            return Leases.SNAPSHOT;
        }

        @Override
        public Set<String> all() {
            return Set.copyOf(sizes.keySet());
        }

        @Override
        public long remove(String id) {
            if (failing.contains(id)) {
                throw SinglepullException.internal("cannot remove " + id, null);
            }
            db.snapshots().delete(id);
            Long size = sizes.remove(id);
            return size == null ? 0 : size;
        }
    }

    private Digest put(String text) {
        return put(text.getBytes(StandardCharsets.UTF_8));
    }

    private Digest put(byte[] data) {
        Digest digest = Digest.sha256(data);
        try (ContentWriter writer = store.writer("test-" + digest, digest, data.length)) {
            writer.write(ByteBuffer.wrap(data, (int) writer.offset(), data.length - (int) writer.offset()));
            return writer.commit().digest();
        }
    }

    private Set<Digest> blobs() {
        return store.list().stream().map(ContentInfo::digest).collect(Collectors.toSet());
    }

    /** What a pull leaves: layers, a config pointing at its top snapshot, a manifest pointing at both, a record. */
    private record Image(String name, Digest manifest, Digest config, List<Digest> layers) { }

    private Image pullImage(String name, List<String> layers, List<String> chain) {
        List<Digest> layerDigests = layers.stream().map(this::put).toList();
        Digest config = put("config of " + name);
        store.label(config, Map.of("containerd.io/gc.ref.snapshot.unpack", chain.getLast()));
        Digest manifest = put("manifest of " + name);
        Map<String, String> refs = new HashMap<>();
        refs.put("containerd.io/gc.ref.content.config", config.toString());
        for (int i = 0; i < layerDigests.size(); i++) {
            refs.put("containerd.io/gc.ref.content.l." + i, layerDigests.get(i).toString());
        }
        store.label(manifest, refs);
        db.images().put(new ImageRecord(name, manifest, config, 0, null, null));
        return new Image(name, manifest, config, layerDigests);
    }

    @Test
    void removingOneImageFreesOnlyWhatItAloneUsed() {
        snapshots.create("chain-base", null, 1_000);
        snapshots.create("chain-a", "chain-base", 200);
        snapshots.create("chain-b", "chain-base", 300);
        Image a = pullImage("docker.io/library/a:1", List.of("base layer", "layer of a"), List.of("chain-base", "chain-a"));
        Image b = pullImage("docker.io/library/b:1", List.of("base layer", "layer of b"), List.of("chain-base", "chain-b"));
        Digest base = a.layers().getFirst();

        GarbageCollector.Result nothing = gc.collect();
        assertEquals(0, nothing.count());
        assertEquals(7, blobs().size());

        db.images().delete(List.of(a.name()));
        GarbageCollector.Result first = gc.collect();
        assertEquals(Set.of(a.manifest().toString(), a.config().toString(), a.layers().get(1).toString()),
                Set.copyOf(first.removed().get(Leases.CONTENT)));
        assertEquals(List.of("chain-a"), first.removed().get(Leases.SNAPSHOT));
        assertEquals(Set.of(b.manifest(), b.config(), base, b.layers().get(1)), blobs());
        assertEquals(Set.of("chain-base", "chain-b"), snapshots.all());
        long aBlobBytes = ("manifest of " + a.name()).length() + ("config of " + a.name()).length()
                + "layer of a".length();
        assertEquals(aBlobBytes + 200, first.bytesFreed());
        assertEquals(aBlobBytes, first.bytesFreed(Leases.CONTENT));
        assertEquals(200, first.bytesFreed(Leases.SNAPSHOT));
        assertEquals(3, first.count(Leases.CONTENT));
        assertEquals(1, first.count(Leases.SNAPSHOT));

        db.images().delete(List.of(b.name()));
        GarbageCollector.Result second = gc.collect();
        assertEquals(4, second.removed().get(Leases.CONTENT).size());
        assertEquals(Set.of("chain-base", "chain-b"), Set.copyOf(second.removed().get(Leases.SNAPSHOT)));
        assertEquals(Set.of(), blobs());
        assertEquals(Set.of(), snapshots.all());
        assertEquals(List.of(), db.snapshots().list());
        assertEquals(0, gc.collect().count());
    }

    @Test
    void twoNamesOfOneImageKeepItUntilBothAreGone() {
        snapshots.create("chain", null, 10);
        Image image = pullImage("docker.io/library/a:1", List.of("layer"), List.of("chain"));
        db.images().put(new ImageRecord("docker.io/library/a:latest", image.manifest(), image.config(), 0, null, null));
        db.images().delete(List.of(image.name()));
        assertEquals(0, gc.collect().count());
        db.images().delete(List.of("docker.io/library/a:latest"));
        assertEquals(4, gc.collect().count());
    }

    @Test
    void leaseProtectsABlobNoImageReferences() {
        Digest blob = put("downloaded, not yet recorded");
        Leases.Lease lease = db.leases().create("pull in flight", Duration.ofHours(1));
        lease.add(Leases.CONTENT, blob.toString());
        lease.add(Leases.SNAPSHOT, "chain-in-flight");
        snapshots.create("chain-in-flight", null, 5);

        assertEquals(0, gc.collect().count());
        assertEquals(Set.of(blob), blobs());

        lease.close();
        GarbageCollector.Result result = gc.collect();
        assertEquals(List.of(blob.toString()), result.removed().get(Leases.CONTENT));
        assertEquals(List.of("chain-in-flight"), result.removed().get(Leases.SNAPSHOT));
    }

    @Test
    void expiredLeaseIsDeletedAndProtectsNothing() {
        Digest blob = put("left by a crashed pull");
        db.leases().create("crashed pull", Duration.ofMinutes(5)).add(Leases.CONTENT, blob.toString());
        assertEquals(0, gc.collect().count());
        clock.advance(Duration.ofMinutes(10));
        GarbageCollector.Result result = gc.collect();
        assertEquals(1, result.count());
        assertEquals(1, result.expiredLeases());
        assertEquals(0, db.leases().deleteExpired());
    }

    @Test
    void oneFailureDoesNotStopTheRestAndIsReported() {
        snapshots.create("stuck", null, 1);
        snapshots.create("free", null, 2);
        snapshots.failing.add("stuck");
        Digest blob = put("unreferenced");
        SinglepullException e = assertThrows(SinglepullException.class, gc::collect);
        assertEquals(ErrorKind.INTERNAL, e.kind());
        assertTrue(e.getMessage().contains("could not free 1"), e.getMessage());
        assertEquals(Set.of("stuck"), snapshots.all());
        assertTrue(store.info(blob).isEmpty());
    }

    @Test
    void unknownCollectorKindIsRejected() {
        ResourceCollector odd = new ResourceCollector() {
            @Override
            public String kind() {
                return "volumes";
            }

            @Override
            public Set<String> all() {
                return Set.of();
            }

            @Override
            public long remove(String id) {
                return 0;
            }
        };
        SinglepullException e = assertThrows(SinglepullException.class, () -> new GarbageCollector(db, List.of(odd)));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
    }
}

package dev.singlepull.cri.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.pull.BlobPeers;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.dedup.SingleFlight;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The blob flight's peer source between two real stores: a holder serving on a real peer server, a fetching node,
 * and a real {@code redis-server} as the lease store.
 */
@Timeout(60)
class ClusterBlobsTest {
    private static final String TOKEN = "cluster-secret";
    private static final ImageRef REF = ImageRef.parse("127.0.0.1:5000/team/app:1");
    @TempDir
    Path holderRoot;
    @TempDir
    Path nodeRoot;
    private LocalRedis redis;
    private MetadataDb holderDb;
    private ContentStore holderStore;
    private MetadataDb nodeDb;
    private ContentStore nodeStore;
    private PeerServer holderServer;
    private RedisLeaseStore leases;
    private ScheduledExecutorService renewals;
    private Peer holder;
    private final AtomicInteger peerErrors = new AtomicInteger();
    private final AtomicLong fromPeers = new AtomicLong();
    private ClusterBlobs node;

    @BeforeEach
    void start() throws Exception {
        assumeTrue(LocalRedis.installed(), "redis-server is not installed: the peer source is not checked");
        redis = LocalRedis.start();
        holderDb = MetadataDb.open(holderRoot.resolve("meta.db"));
        holderStore = LocalContentStore.open(holderRoot, holderDb);
        nodeDb = MetadataDb.open(nodeRoot.resolve("meta.db"));
        nodeStore = LocalContentStore.open(nodeRoot, nodeDb);
        holderServer = PeerServer.start(new InetSocketAddress("127.0.0.1", 0), holderStore, d -> false, TOKEN, 4,
                ClusterListener.NONE);
        holder = new Peer("holder", "127.0.0.1:" + holderServer.port());
        leases = new RedisLeaseStore(redis.uri(), Duration.ofSeconds(2), ClusterListener.NONE);
        assertTrue(leases.awaitConnected(Duration.ofSeconds(10)));
        renewals = Executors.newSingleThreadScheduledExecutor();
        ClusterListener counting = new ClusterListener() {
            @Override
            public void peerError() {
                peerErrors.incrementAndGet();
            }

            @Override
            public void bytesFromPeers(long bytes) {
                fromPeers.addAndGet(bytes);
            }
        };
        node = new ClusterBlobs(new Peer("node", "127.0.0.1:1"), leases,
                new PeerClient(TOKEN, Duration.ofSeconds(2), Duration.ofSeconds(3)), nodeStore, renewals,
                Duration.ofSeconds(10), Duration.ofMinutes(5), counting);
    }

    @AfterEach
    void stop() throws Exception {
        if (redis == null) {
            return;
        }
        renewals.shutdownNow();
        leases.close();
        holderServer.close();
        nodeStore.close();
        nodeDb.close();
        holderStore.close();
        holderDb.close();
        redis.close();
    }

    private Descriptor committedOnHolder(byte[] data) {
        Digest digest = Digest.sha256(data);
        try (ContentWriter w = holderStore.writer("blob-" + digest, digest, data.length)) {
            w.write(ByteBuffer.wrap(data));
            w.commit();
        }
        leases.addHolder(digest.toString(), holder, Duration.ofMinutes(5));
        return new Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, data.length, Optional.empty(),
                List.of());
    }

    private BlobPeers.Claim claim(Descriptor blob) {
        SingleFlight<Digest, BlobPeers.Claim> flights = SingleFlight.<Digest, BlobPeers.Claim>builder("blob").build();
        return flights.run(blob.digest(), ctx -> node.claim(REF, blob, "blob-" + blob.digest(), ctx));
    }

    private static byte[] bytes(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    @Test
    void aBlobAHolderHasComesFromItAndIsCommittedHere() throws Exception {
        byte[] data = bytes(700_000, 7);
        Descriptor blob = committedOnHolder(data);

        try (BlobPeers.Claim claim = claim(blob)) {
            ContentInfo info = claim.fetched().orElseThrow();
            assertEquals(blob.digest(), info.digest());
        }
        try (InputStream in = nodeStore.open(blob.digest())) {
            assertArrayEquals(data, in.readAllBytes());
        }
        assertEquals(data.length, fromPeers.get());
        assertEquals(Set.of(holder, new Peer("node", "127.0.0.1:1")), leases.holders(blob.digest().toString()),
                "this node is recorded as a holder too");
    }

    @Test
    void bytesThatFailTheDigestAreDiscardedAndThePeerLeftForUpstream() throws Exception {
        byte[] data = bytes(500_000, 8);
        Descriptor blob = committedOnHolder(data);
        Path onDisk = holderRoot.resolve("content/blobs/sha256/" + blob.digest().hex());
        assertTrue(Files.exists(onDisk), onDisk.toString());
        onDisk.toFile().setWritable(true);
        Files.write(onDisk, bytes(data.length, 9)); // the holder's copy rotted: same size, other bytes

        try (BlobPeers.Claim claim = claim(blob)) {
            assertTrue(claim.fetched().isEmpty(), "fetched upstream instead");
            assertEquals(new Peer("node", "127.0.0.1:1"), leases.acquire(blob.digest().toString(),
                    new Peer("third", "127.0.0.1:2"), Duration.ofSeconds(10)), "with the lease, once the peer failed");
        }
        assertEquals(1, peerErrors.get());
        assertTrue(nodeStore.info(blob.digest()).isEmpty(), "nothing wrong was committed");
        assertTrue(nodeStore.ingests().stream().noneMatch(i -> i.ref().equals("blob-" + blob.digest()) && i.offset() > 0),
                "the wrong bytes were discarded: " + nodeStore.ingests());
    }
}

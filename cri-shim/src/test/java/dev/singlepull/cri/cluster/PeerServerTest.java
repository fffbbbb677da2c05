package dev.singlepull.cri.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.meta.MetadataDb;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The peer blob server over real HTTP, on a real content store. */
@Timeout(60)
class PeerServerTest {
    private static final String TOKEN = "s3cret-of-the-cluster";
    @TempDir
    Path root;
    private MetadataDb db;
    private ContentStore store;
    private PeerServer server;
    private Peer peer;
    private final Set<Digest> downloading = ConcurrentHashMap.newKeySet();
    private final PeerClient client = new PeerClient(TOKEN, Duration.ofSeconds(2), Duration.ofSeconds(10));

    @BeforeEach
    void start() {
        db = MetadataDb.open(root.resolve("meta.db"));
        store = LocalContentStore.open(root, db);
        server = PeerServer.start(new InetSocketAddress("127.0.0.1", 0), store, downloading::contains, TOKEN, 1,
                ClusterListener.NONE);
        peer = new Peer("holder", "127.0.0.1:" + server.port());
    }

    @AfterEach
    void stop() {
        server.close();
        store.close();
        db.close();
    }

    private static byte[] bytes(int size, int seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    private Digest commit(byte[] data) {
        Digest digest = Digest.sha256(data);
        try (ContentWriter w = store.writer("blob-" + digest, digest, data.length)) {
            w.write(ByteBuffer.wrap(data));
            w.commit();
        }
        return digest;
    }

    @Test
    void servesACommittedBlobWholeOrFromAnOffset() throws Exception {
        byte[] data = bytes(300_000, 1);
        Digest digest = commit(data);

        PeerClient.Answer whole = client.open(peer, "any/name", digest, 0);
        assertEquals(200, whole.status());
        try (InputStream in = whole.body()) {
            assertArrayEquals(data, in.readAllBytes());
        }
        PeerClient.Answer tail = client.open(peer, "any/name", digest, 123_456);
        assertEquals(206, tail.status());
        try (InputStream in = tail.body()) {
            assertArrayEquals(Arrays.copyOfRange(data, 123_456, data.length), in.readAllBytes());
        }
        assertEquals(404, client.open(peer, "any/name", Digest.sha256(new byte[] {1}), 0).status());
    }

    @Test
    void refusesCallersWithoutTheClusterToken() throws Exception {
        Digest digest = commit(bytes(1000, 2));
        assertEquals(401, new PeerClient("guess", Duration.ofSeconds(2), Duration.ofSeconds(2))
                .open(peer, "n", digest, 0).status());
        HttpURLConnection bare = (HttpURLConnection) URI.create("http://" + peer.address() + "/v2/n/blobs/" + digest)
                .toURL().openConnection();
        assertEquals(401, bare.getResponseCode(), "no Authorization header at all");
        HttpURLConnection head = (HttpURLConnection) URI.create("http://" + peer.address() + "/v2/n/blobs/" + digest)
                .toURL().openConnection();
        head.setRequestMethod("HEAD");
        assertEquals(401, head.getResponseCode(), "HEAD says nothing either");
    }

    @Test
    void followsABlobStillDownloadingAndAnswers503BeyondTheUploadLimit() throws Exception {
        byte[] data = bytes(1_000_000, 3);
        Digest digest = Digest.sha256(data);
        downloading.add(digest);
        try (ContentWriter w = store.writer("blob-" + digest, digest, data.length)) {
            w.write(ByteBuffer.wrap(data, 0, 400_000));
            PeerClient.Answer first = client.open(peer, "n", digest, 100_000);
            assertEquals(206, first.status());
            CompletableFuture<byte[]> follower = CompletableFuture.supplyAsync(() -> {
                try (InputStream in = first.body()) {
                    return in.readAllBytes();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(503, client.open(peer, "n", digest, 0).status(), "a second upload beyond max_peer_uploads = 1");
            w.write(ByteBuffer.wrap(data, 400_000, data.length - 400_000));
            w.commit();
            assertArrayEquals(Arrays.copyOfRange(data, 100_000, data.length), follower.get(),
                    "the follower got the rest of the blob as it was written");
        }
        downloading.remove(digest);
        assertTrue(client.open(peer, "n", digest, 0).ok(), "the slot is free again");
    }
}

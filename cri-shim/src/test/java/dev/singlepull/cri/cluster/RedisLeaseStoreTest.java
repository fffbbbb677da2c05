package dev.singlepull.cri.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@link LeaseStore} contract, against a real {@code redis-server}. */
@Timeout(60)
class RedisLeaseStoreTest {
    private static final Duration TTL = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    private static final Peer A = new Peer("a", "10.0.0.1:5050");
    private static final Peer B = new Peer("b", "10.0.0.2:5050");
    private static final Peer C = new Peer("c", "10.0.0.3:5050");
    private static LocalRedis redis;
    private static int blobs;

    @BeforeAll
    static void startRedis() throws Exception {
        assumeTrue(LocalRedis.installed(), "redis-server is not installed (" + LocalRedis.BINARY
                + "): the lease store's contract is not checked");
        redis = LocalRedis.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    private static String blob() {
        return "sha256:" + String.format("%064x", ++blobs);
    }

    private static LeaseStore store() {
        RedisLeaseStore store = new RedisLeaseStore(redis.uri(), TIMEOUT, ClusterListener.NONE);
        assertTrue(store.awaitConnected(Duration.ofSeconds(10)), "connected to " + redis.uri());
        return store;
    }

    @Test
    void theFirstNodeTakesTheLeaseAndOthersSeeItsHolder() {
        try (LeaseStore a = store(); LeaseStore b = store()) {
            String blob = blob();
            assertEquals(A, a.acquire(blob, A, TTL));
            assertEquals(A, b.acquire(blob, B, TTL), "b is shown a, which holds it");
            assertEquals(A, a.acquire(blob, A, TTL), "a still holds it");
        }
    }

    @Test
    void onlyTheHolderRenewsOrReleases() {
        try (LeaseStore store = store()) {
            String blob = blob();
            store.acquire(blob, A, TTL);
            assertTrue(store.renew(blob, A, TTL));
            assertFalse(store.renew(blob, B, TTL));
            store.release(blob, B);
            assertEquals(A, store.acquire(blob, B, TTL), "a release by another node leaves the lease alone");
            store.release(blob, A);
            assertEquals(B, store.acquire(blob, B, TTL), "free once its holder released it");
            assertFalse(store.renew(blob, A, TTL), "a lease lost cannot be renewed");
        }
    }

    @Test
    void aLeaseExpiresUnlessRenewed() throws InterruptedException {
        try (LeaseStore store = store()) {
            String blob = blob();
            store.acquire(blob, A, Duration.ofMillis(300));
            Thread.sleep(100);
            assertTrue(store.renew(blob, A, Duration.ofMillis(300)));
            Thread.sleep(200);
            assertEquals(A, store.acquire(blob, B, TTL), "renewed: still a's after its first term");
            Thread.sleep(250);
            assertEquals(B, store.acquire(blob, B, TTL), "expired once no longer renewed");
        }
    }

    @Test
    void aTakeoverReplacesOnlyTheFailedHolder() {
        try (LeaseStore store = store()) {
            String blob = blob();
            store.acquire(blob, A, TTL);
            assertEquals(B, store.takeOver(blob, A, B, TTL), "b replaces a, which failed it");
            assertEquals(B, store.takeOver(blob, A, C, TTL), "c, also failed by a, finds b and follows it");
            store.release(blob, B);
            assertEquals(C, store.takeOver(blob, A, C, TTL), "a free lease is simply taken");
        }
    }

    @Test
    void holdersAreRecordedPerBlobAndExpire() throws InterruptedException {
        try (LeaseStore store = store()) {
            String blob = blob();
            String other = blob();
            assertEquals(Set.of(), store.holders(blob));
            store.addHolder(blob, A, TTL);
            store.addHolder(blob, B, TTL);
            store.addHolder(other, C, Duration.ofMillis(200));
            assertEquals(Set.of(A, B), store.holders(blob));
            store.removeHolder(blob, A);
            assertEquals(Set.of(B), store.holders(blob));
            Thread.sleep(400);
            assertEquals(Set.of(), store.holders(other), "the record of holders expires");
        }
    }

    @Test
    void anUnreachableStoreFailsQuicklyAndCountsEachFailure() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        AtomicInteger failures = new AtomicInteger();
        ClusterListener counting = new ClusterListener() {
            @Override
            public void storeUnavailable() {
                failures.incrementAndGet();
            }
        };
        try (LeaseStore store = new RedisLeaseStore("redis://127.0.0.1:" + port, TIMEOUT, counting)) {
            long start = System.nanoTime();
            assertThrows(LeaseStore.Unavailable.class, () -> store.acquire(blob(), A, TTL));
            assertThrows(LeaseStore.Unavailable.class, () -> store.holders(blob()));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 3 * TIMEOUT.toMillis(), "answered within the timeout: " + millis + " ms");
            assertEquals(2, failures.get());
        }
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.api.admin.v1.Flight;
import dev.singlepull.api.admin.v1.ListFlightsRequest;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RedisProcess;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.ServiceProcess;
import dev.singlepull.it.fixture.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster tier on one machine: a {@code redis-server}, the registry behind a counting proxy, and K singlepull
 * processes, each with its own root, socket and peer port, pulling one cold image at once.
 */
@Timeout(180)
class ClusterIT {
    private static final int NODES = 4;
    @TempDir
    Path dir;
    private RedisProcess redis;
    private RegistryProcess registry;
    private ProxyServer upstream;
    private final List<ServiceProcess> nodes = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        assumeTrue(RedisProcess.installed(), "redis-server is not installed: the cluster tier is not tested");
        redis = RedisProcess.start();
        registry = RegistryProcess.start();
        upstream = ProxyServer.start(registry);
        Path token = Files.writeString(dir.resolve("cluster-token"), "the-cluster-secret\n");
        // generous on a loaded CI machine: a call that times out sends its blob upstream, which the tests count
        Path config = Files.writeString(dir.resolve("config.toml"), "[cluster]\nredis_timeout_ms = 5000\n");
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ServiceProcess>> started = new ArrayList<>();
            for (int i = 0; i < NODES; i++) {
                Path node = Files.createDirectories(dir.resolve("node" + i));
                String id = "node" + i;
                started.add(pool.submit(() -> ServiceProcess.start(node.resolve("root"), node.resolve("cri.sock"),
                        node.resolve("serve.log"), "--config", config.toString(), "--cluster-redis", redis.uri(),
                        "--node-id", id,
                        "--peer-listen", "127.0.0.1:0", "--peer-token-file", token.toString())));
            }
            for (Future<ServiceProcess> f : started) {
                nodes.add(f.get());
            }
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!nodes.stream().allMatch(n -> n.logText().contains("connected to lease store"))) {
            assertTrue(System.nanoTime() < deadline, "every node connects to Redis\n" + logs());
            Thread.sleep(50);
        }
    }

    @AfterEach
    void stop() {
        nodes.forEach(ServiceProcess::close);
        if (upstream != null) {
            upstream.close();
        }
        if (registry != null) {
            registry.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    private PushedImage push(String repo, long bytes, long seed) {
        PushedImage image = TestImages.push(registry, TestImages.sampleImage(repo, "v1", bytes, seed));
        registry.awaitLogQuiet();
        return image;
    }

    private String throughProxy(PushedImage image) {
        return upstream.hostPort() + "/" + image.repository() + ":" + image.tag();
    }

    private long upstreamBlobBytes(PushedImage image) {
        return image.layerAndConfigDigests().stream().mapToLong(upstream::bytesServed).sum();
    }

    /** Starts a pull of {@code ref} on every node at once; each future gives the image id or fails. */
    private List<CompletableFuture<String>> pullOnAll(String ref) {
        List<CompletableFuture<String>> pulls = new ArrayList<>();
        for (ServiceProcess node : nodes) {
            pulls.add(CompletableFuture.supplyAsync(() -> {
                try (CriClient cri = node.client()) {
                    return cri.images().pullImage(Cri.pull(ref)).getImageRef();
                }
            }, Executors.newVirtualThreadPerTaskExecutor()));
        }
        return pulls;
    }

    private String logs() {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < nodes.size(); i++) {
            out.append("--- node").append(i).append('\n').append(nodes.get(i).logText());
        }
        return out.toString();
    }

    @Test
    void aColdImagePulledOnEveryNodeAtOnceComesFromUpstreamOnce() throws Exception {
        PushedImage image = push("it/cluster", 6_000_000, 141);

        List<CompletableFuture<String>> pulls = pullOnAll(throughProxy(image));

        for (CompletableFuture<String> pull : pulls) {
            assertEquals(image.configDigest(), pull.get(), logs());
        }
        upstream.awaitIdle(java.time.Duration.ofSeconds(5));
        System.out.println("cluster of " + NODES + ": upstream blob bytes " + upstreamBlobBytes(image) + " for an image of "
                + image.totalSize());
        assertEquals(image.totalSize(), upstreamBlobBytes(image),
                "upstream blob bytes are one copy of the image for " + NODES + " nodes\n" + logs());
        for (ServiceProcess node : nodes) {
            try (CriClient cri = node.client()) {
                assertTrue(cri.images().imageStatus(Cri.status(image.configDigest(), false)).hasImage(),
                        "every node has the image");
            }
        }
    }

    @Test
    void whenTheHolderIsKilledMidLayerTheOthersFinishWithLittleExtraUpstream() throws Exception {
        killTheHolderAndFinish(push("it/cluster-kill", 6_000_000, 142), 0.5, "at half of the largest layer");
    }

    @Test
    void whenTheHolderIsKilledBeforeItsFirstByteTheOthersFinishWithLittleExtraUpstream() throws Exception {
        killTheHolderAndFinish(push("it/cluster-kill-early", 4_000_000, 146), 0,
                "before its first byte of the largest layer");
    }

    /** Kills the lease holder once upstream stalls at {@code fraction} of the largest layer; the others finish. */
    private void killTheHolderAndFinish(PushedImage image, double fraction, String when) throws Exception {
        List<CompletableFuture<String>> pulls = new ArrayList<>();
        int holder = holderStoppedInTheLargestLayer(image, pulls, fraction);
        // what upstream sent may still sit in the holder's socket buffer: kill it once it has written it all, so
        // that the kill loses what "at this fraction" means and no more (a cold JVM can lag a second behind)
        String largest = image.layerDigests().get(image.layerDigests().size() - 1);
        long stallAt = (long) (image.compressedSizes().get(image.compressedSizes().size() - 1) * fraction);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (blobDone(nodes.get(holder), largest) < stallAt && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(blobDone(nodes.get(holder), largest) >= stallAt, "the holder wrote the " + stallAt
                + " bytes upstream sent before the stall: " + blobPhase(nodes.get(holder), largest));
        nodes.get(holder).kill();
        upstream.clearFaults();

        for (int i = 0; i < nodes.size(); i++) {
            if (i != holder) {
                assertEquals(image.configDigest(), pulls.get(i).get(), logs());
            }
        }
        upstream.awaitIdle(java.time.Duration.ofSeconds(5));
        long bytes = upstreamBlobBytes(image);
        System.out.println("holder killed " + when + ": upstream blob bytes " + bytes + " for an image of "
                + image.totalSize());
        assertTrue(bytes <= image.totalSize() * 1.05, "upstream " + bytes + " bytes for an image of "
                + image.totalSize() + " (at most 1.05x)\n" + logs());
    }

    @Test
    void whenTheHolderIsStoppedMidLayerTheOthersFinish() throws Exception {
        PushedImage image = push("it/cluster-stop", 4_000_000, 144);
        List<CompletableFuture<String>> pulls = new ArrayList<>();
        int holder = holderStoppedInTheLargestLayer(image, pulls, 0.5);
        signal("STOP", nodes.get(holder));
        try {
            upstream.clearFaults();
            for (int i = 0; i < nodes.size(); i++) {
                if (i != holder) {
                    assertEquals(image.configDigest(), pulls.get(i).get(), logs());
                }
            }
            System.out.println("holder stopped at half of the largest layer: upstream blob bytes "
                    + upstreamBlobBytes(image) + " for an image of " + image.totalSize());
        } finally {
            signal("CONT", nodes.get(holder));
        }
    }

    @Test
    void aHolderThatIsOnlySlowKeepsItsFollowersAndUpstreamSendsOneCopy() throws Exception {
        PushedImage image = push("it/cluster-slow", 4_000_000, 145);
        List<CompletableFuture<String>> pulls = new ArrayList<>();
        holderStoppedInTheLargestLayer(image, pulls, 0.5);
        // upstream sends nothing for 5 s in all: past the followers' stall time (3 s), within the holder's lease
        Thread.sleep(4000);
        upstream.clearFaults();

        for (CompletableFuture<String> pull : pulls) {
            assertEquals(image.configDigest(), pull.get(), logs());
        }
        upstream.awaitIdle(java.time.Duration.ofSeconds(5));
        assertEquals(image.totalSize(), upstreamBlobBytes(image), "a slow holder is waited for, not taken over: "
                + "upstream sends one copy\n" + logs());
    }

    /**
     * Starts pulls of {@code image} on every node (into {@code pulls}) with upstream stalling at {@code fraction} of
     * its largest layer, lets the followers catch up with the holder's bytes, as they keep close behind it, and returns
     * the index of the node that holds the layer's lease.
     */
    private int holderStoppedInTheLargestLayer(PushedImage image, List<CompletableFuture<String>> pulls,
                                               double fraction) throws InterruptedException {
        String largest = image.layerDigests().get(image.layerDigests().size() - 1);
        long largestSize = image.compressedSizes().get(image.compressedSizes().size() - 1);
        long stallAt = (long) (largestSize * fraction);
        upstream.stallAfter(ProxyServer.blob(largest), stallAt);
        pulls.addAll(pullOnAll(throughProxy(image)));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while ((upstream.bytesServed(largest) < stallAt || upstream.requestCount(ProxyServer.blob(largest)) == 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(1000);
        String lease = redis.get("singlepull:lease:" + largest);
        assertNotNull(lease, "a node holds the largest layer's lease (" + largest + ", "
                + upstream.bytesServed(largest) + " of " + largestSize + " bytes sent): " + redis.dump() + "\n" + logs());
        int holder = Integer.parseInt(lease.substring("node".length(), lease.indexOf('@')));
        String follower = blobPhase(nodes.get((holder + 1) % nodes.size()), largest);
        // from the holder, or from another node that follows it
        assertTrue(follower.matches("\\w+ from peer node\\d@.*"), "a follower shows its source: " + follower);
        String held = blobPhase(nodes.get(holder), largest);
        assertTrue(held.endsWith("from upstream (lease held)"), "the holder shows its source: " + held);
        return holder;
    }

    /** The phase that {@code node}'s live flights show for the blob flight of {@code digest}. */
    private static String blobPhase(ServiceProcess node, String digest) {
        try (CriClient cri = node.client()) {
            return cri.admin().listFlights(ListFlightsRequest.newBuilder().setTier("blob").build()).getFlightsList()
                    .stream().filter(f -> f.getKey().equals(digest)).map(Flight::getPhase).findFirst()
                    .orElse("(no flight)");
        }
    }

    /** The bytes {@code node}'s blob flight of {@code digest} has written so far; -1 with no such flight. */
    private static long blobDone(ServiceProcess node, String digest) {
        try (CriClient cri = node.client()) {
            return cri.admin().listFlights(ListFlightsRequest.newBuilder().setTier("blob").build()).getFlightsList()
                    .stream().filter(f -> f.getKey().equals(digest)).mapToLong(Flight::getBytesDone).findFirst()
                    .orElse(-1);
        }
    }

    private static void signal(String name, ServiceProcess node) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + name, Long.toString(node.pid())).inheritIO().start()
                .waitFor(), "kill -" + name);
    }

    @Test
    void whenRedisStopsMidRunEveryPullCompletes() throws Exception {
        PushedImage image = push("it/cluster-redis", 4_000_000, 143);
        upstream.throttle(ProxyServer.blobs(), 2_000_000);

        List<CompletableFuture<String>> pulls = pullOnAll(throughProxy(image));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (upstream.bytesServed() < 1_000_000 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        redis.kill();
        upstream.unthrottle();

        for (CompletableFuture<String> pull : pulls) {
            assertEquals(image.configDigest(), pull.get(), logs());
        }
    }
}

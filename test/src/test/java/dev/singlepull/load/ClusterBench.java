package dev.singlepull.load;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PrometheusText;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RedisProcess;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: K nodes pulling the 530 MB shape at once, with the registry behind a proxy whose one shared bandwidth
 * budget stands in for the uplink or a registry quota (issue 14). Three ways, each at K = 1, 2, 4 and 8:
 * <ul>
 *   <li>{@code cluster}: singlepull processes with the cluster tier on one {@code redis-server};</li>
 *   <li>{@code off}: singlepull processes with the tier off, each fetching upstream;</li>
 *   <li>{@code cache}: the same tier-off processes pulling through a distribution pull-through cache
 *       ({@code proxy.remoteurl}) in front of the budgeted proxy.</li>
 * </ul>
 * Every process runs long, warmed up by a small image first. Each row starts cold, outside the timed window: the
 * image removed on every node (content and snapshots collected synchronously), Redis emptied, the cache's storage
 * emptied, {@code sync}. The timed window is from the K PullImage calls to the last answer. Upstream bytes are the
 * blob bytes the budgeted proxy sent; peer bytes and lease-store calls are the nodes' own counters.
 *
 * <p>Properties: {@code bench.budgetMBps} (40), {@code bench.k} ({@code 1,2,4,8}), {@code bench.modes}
 * ({@code cluster,off,cache}). Run with {@code scripts/bench.sh -Dtest=ClusterBench}.
 */
class ClusterBench {
    private static final String PEER_BYTES = "singlepull_cluster_blob_bytes_total";
    private static final String STORE_CALLS = "singlepull_cluster_store_operations_total";

    @TempDir
    Path dir;

    /** One long-running singlepull process. */
    private record Node(String name, Process process, Path socket, int metricsPort) {
        CriClient client() {
            return new CriClient("unix://" + socket);
        }
    }

    private record Row(String mode, int k, double wall, long upstreamBytes, long peerBytes, double storeCallsPerBlob,
                       long redisCommands, double cpu) { }

    @Test
    void clusterOfK() throws Exception {
        assumeTrue(RedisProcess.installed(), "redis-server is not installed");
        long budget = Long.getLong("bench.budgetMBps", 40) * 1_000_000;
        List<Integer> ks = Arrays.stream(System.getProperty("bench.k", "1,2,4,8").split(","))
                .map(String::trim).map(Integer::parseInt).toList();
        Set<String> modes = Set.of(System.getProperty("bench.modes", "cluster,off,cache").split(","));
        int maxK = ks.stream().mapToInt(Integer::intValue).max().orElseThrow();

        List<Node> nodes = new ArrayList<>();
        try (RegistryProcess registry = RegistryProcess.start();
             RedisProcess redis = RedisProcess.start()) {
            System.out.println("building and pushing the image ...");
            PushedImage image = BenchImages.large(registry);
            PushedImage warm = TestImages.push(registry, TestImages.sampleImage("bench/warm", "v1", 16_000_000, 7));
            registry.awaitLogQuiet();
            BenchImages.describe(image);
            try (ProxyServer upstream = ProxyServer.start(registry).shareBudget(budget);
                 RegistryProcess cache = RegistryProcess.start(RegistryProcess.Options.anonymous()
                         .withProxyOf(upstream.baseUri()))) {
                Path token = Files.writeString(dir.resolve("cluster-token"), "bench-cluster-secret\n");
                List<Node> clustered = new ArrayList<>();
                List<Node> alone = new ArrayList<>();
                for (int i = 0; i < maxK; i++) {
                    if (modes.contains("cluster")) {
                        clustered.add(start("on" + i, "--cluster-redis", redis.uri(), "--node-id", "node" + i,
                                "--peer-listen", "127.0.0.1:" + BenchProcesses.freePort(), "--peer-token-file", token.toString()));
                    }
                    if (modes.contains("off") || modes.contains("cache")) {
                        alone.add(start("off" + i));
                    }
                }
                nodes.addAll(clustered);
                nodes.addAll(alone);
                System.out.printf(Locale.ROOT, "%d processes started; upstream budget %.0f MB/s shared%n",
                        nodes.size(), budget / 1e6);
                // warm-up, not timed: every node pulls a small image by each way it will pull the big one
                pullAll(clustered, upstream.hostPort() + "/" + warm.repository() + ":" + warm.tag());
                pullAll(alone, upstream.hostPort() + "/" + warm.repository() + ":" + warm.tag());
                pullAll(alone, cache.hostPort() + "/" + warm.repository() + ":" + warm.tag());

                List<Row> rows = new ArrayList<>();
                for (String mode : List.of("cluster", "off", "cache")) {
                    if (!modes.contains(mode)) {
                        continue;
                    }
                    String host = mode.equals("cache") ? cache.hostPort() : upstream.hostPort();
                    String ref = host + "/" + image.repository() + ":" + image.tag();
                    for (int k : ks) {
                        List<Node> set = (mode.equals("cluster") ? clustered : alone).subList(0, k);
                        // both names of the image go: a node that has it by the other name has all of its blobs
                        coldSetUp(mode.equals("cluster") ? clustered : alone, List.of(
                                upstream.hostPort() + "/" + image.repository() + ":" + image.tag(),
                                cache.hostPort() + "/" + image.repository() + ":" + image.tag()), redis,
                                mode.equals("cache") ? cache : null);
                        rows.add(row(mode, k, set, ref, image, upstream, redis));
                    }
                }
                print(rows, image, budget);
            }
        } finally {
            for (Node node : nodes) {
                BenchProcesses.stop(node.process());
            }
        }
    }

    private Node start(String name, String... args) throws Exception {
        int metrics = BenchProcesses.freePort();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--metrics-address", "127.0.0.1:" + metrics));
        Process p = BenchProcesses.serve(dir, name, all.toArray(String[]::new));
        return new Node(name, p, BenchProcesses.socket(dir, name), metrics);
    }

    /** Cold for every node of the set: the image and its blobs and snapshots gone, no leases, an empty cache. */
    private static void coldSetUp(List<Node> set, List<String> refs, RedisProcess redis, RegistryProcess cache)
            throws Exception {
        for (Node node : set) {
            try (CriClient cri = node.client()) {
                for (String ref : refs) {
                    cri.images().removeImage(Cri.remove(ref));
                }
            }
        }
        redis.flushAll();
        if (cache != null) {
            cache.stop();
            cache.emptyStorage();
            cache.restart();
        }
        BenchProcesses.sync();
    }

    private Row row(String mode, int k, List<Node> set, String ref, PushedImage image, ProxyServer upstream,
                    RedisProcess redis) throws Exception {
        long upstream0 = blobBytes(upstream, image);
        long peer0 = sum(set, PEER_BYTES, "source=\"peer\"");
        long calls0 = sum(set, STORE_CALLS, "");
        long redis0 = nodeCommands(redis.commandCalls());
        double cpu0 = cpu(set);

        long start = System.nanoTime();
        pullAll(set, ref).forEach(id -> {
            if (!id.equals(image.configDigest())) {
                throw new IllegalStateException("a node pulled " + id + ", not " + image.configDigest());
            }
        });
        double wall = (System.nanoTime() - start) / 1e9;
        upstream.awaitIdle(java.time.Duration.ofSeconds(10));

        int blobs = image.layerAndConfigDigests().size();
        Row row = new Row(mode, k, wall, blobBytes(upstream, image) - upstream0,
                sum(set, PEER_BYTES, "source=\"peer\"") - peer0,
                (sum(set, STORE_CALLS, "") - calls0) / (double) blobs,
                nodeCommands(redis.commandCalls()) - redis0, cpu(set) - cpu0);
        System.out.printf(Locale.ROOT, "%-8s K=%d wall=%.2fs upstream=%.1fMB peer=%.1fMB store_calls_per_blob=%.1f "
                        + "redis_commands=%d cpu=%.1fs%n", mode, k, wall, row.upstreamBytes() / 1e6,
                row.peerBytes() / 1e6, row.storeCallsPerBlob(), row.redisCommands(), row.cpu());
        return row;
    }

    /** Pulls {@code ref} on every node of the set at once; returns the image ids in node order. */
    private static List<String> pullAll(List<Node> set, String ref) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<String>> pulls = new ArrayList<>();
            for (Node node : set) {
                pulls.add(CompletableFuture.supplyAsync(() -> {
                    try (CriClient cri = node.client()) {
                        return cri.images().pullImage(Cri.pull(ref)).getImageRef();
                    }
                }, pool));
            }
            List<String> ids = new ArrayList<>();
            for (CompletableFuture<String> pull : pulls) {
                ids.add(pull.get());
            }
            return ids;
        }
    }

    private static long blobBytes(ProxyServer upstream, PushedImage image) {
        return image.layerAndConfigDigests().stream().mapToLong(upstream::bytesServed).sum();
    }

    /** The sum over the set's nodes of every series of {@code name} with {@code label} ("" for all). */
    private static long sum(List<Node> set, String name, String label) throws Exception {
        long total = 0;
        for (Node node : set) {
            total += (long) PrometheusText.sum(PrometheusText.scrape(node.metricsPort()), name, label);
        }
        return total;
    }

    /** Redis commands the nodes sent: all but those of this benchmark's own connections. */
    private static long nodeCommands(Map<String, Long> calls) {
        Set<String> ours = Set.of("info", "flushall", "hello", "client", "command");
        return calls.entrySet().stream().filter(e -> !ours.contains(e.getKey())).mapToLong(Map.Entry::getValue)
                .sum();
    }

    private static double cpu(List<Node> set) throws IOException {
        double total = 0;
        for (Node node : set) {
            total += ProcStats.cpuSeconds(node.process().pid());
        }
        return total;
    }

    private static void print(List<Row> rows, PushedImage image, long budget) {
        System.out.printf(Locale.ROOT, "%n| way (%.0f MB/s shared upstream) | K | wall | / K=1 | upstream MB | / image "
                + "| peer MB | lease-store calls per blob | Redis commands | nodes' CPU s |%n"
                + "|---|---|---|---|---|---|---|---|---|---|%n", budget / 1e6);
        for (Row row : rows) {
            double base = rows.stream().filter(r -> r.mode().equals(row.mode()) && r.k() == 1).mapToDouble(Row::wall)
                    .findFirst().orElse(Double.NaN);
            System.out.printf(Locale.ROOT, "| %s | %d | %.2f s | %.2fx | %.1f | %.2fx | %.1f | %.1f | %d | %.1f |%n",
                    row.mode(), row.k(), row.wall(), row.wall() / base, row.upstreamBytes() / 1e6,
                    row.upstreamBytes() / (double) image.totalSize(), row.peerBytes() / 1e6, row.storeCallsPerBlob(),
                    row.redisCommands(), row.cpu());
        }
    }
}

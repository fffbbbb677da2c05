package dev.singlepull.it;

import static dev.singlepull.it.fixture.PrometheusText.hostValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.FaultPlan;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.ProxyRequest;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Retries, Retry-After, the circuit breaker, the per-registry download bulkhead and in-pull resume, through the
 * fault-injecting proxy in front of the real registry, counted by the proxy and by the retry metrics.
 */
@Timeout(120)
class ResilienceIT {
    private static RegistryProcess registry;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
    }

    @AfterAll
    static void stop() {
        registry.close();
    }

    @Test
    void aBlobCutAtHalfResumesWithARangeAndReDownloadsOnlyTheBytesLostInTransit() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/resume", "v1", 601, 8_000_000));
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0"))) {
            proxy.cutAfter(ProxyServer.blob(layer), size / 2, 1);
            try (CriClient cri = server.client()) {
                assertEquals(image.imageId(),
                        cri.images().pullImage(Cri.pull(proxy.hostPort() + "/it/resume:v1")).getImageRef());
            }
            assertEquals(1, proxy.cutConnections());
            List<ProxyRequest> gets = proxy.requests().stream().filter(ProxyServer.blob(layer)).toList();
            assertEquals(2, gets.size(), "one cut GET, one resumed GET: " + gets);
            String range = gets.get(1).header("Range").orElseThrow(() -> new AssertionError("no Range: " + gets));
            Matcher m = Pattern.compile("bytes=(\\d+)-").matcher(range);
            assertTrue(m.matches(), range);
            long resumedAt = Long.parseLong(m.group(1));
            assertTrue(resumedAt > 0 && resumedAt <= size / 2, "resumed at " + resumedAt + " of " + size);
            assertTrue(proxy.awaitIdle(Duration.ofSeconds(5)));
            long served = proxy.bytesServed(layer);
            long reDownloaded = served - size;
            System.out.printf("resume: %d-byte blob cut after %d bytes, resumed at %d, %d bytes served, %d re-sent%n",
                    size, size / 2, resumedAt, served, reDownloaded);
            assertEquals(size / 2 - resumedAt, reDownloaded, "only the bytes lost in transit were sent twice");
            assertTrue(served <= size * 11 / 10, served + " bytes served for a " + size + "-byte blob");
            String metrics = server.metrics();
            assertEquals(1, hostValue(metrics, "singlepull_registry_resumes_total", proxy.hostPort()));
        }
    }

    @Test
    void manifestRequestsAnswered503AreRetriedAndCounted() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/retry503", "v1", 602));
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0"))) {
            proxy.failWith(ProxyServer.manifests(), 503, 2);
            try (CriClient cri = server.client()) {
                assertEquals(image.imageId(),
                        cri.images().pullImage(Cri.pull(proxy.hostPort() + "/it/retry503:v1")).getImageRef());
            }
            assertEquals(2, proxy.injectedFailures());
            assertEquals(2, hostValue(server.metrics(), "singlepull_registry_retries_total", proxy.hostPort()));
        }
    }

    @Test
    void a429WithRetryAfterIsWaitedFor() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/retry429", "v1", 603));
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0"))) {
            proxy.failWith(ProxyServer.manifests(), 429, 1); // with Retry-After: 1
            long start = System.nanoTime();
            try (CriClient cri = server.client()) {
                assertEquals(image.imageId(),
                        cri.images().pullImage(Cri.pull(proxy.hostPort() + "/it/retry429:v1")).getImageRef());
            }
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(elapsedMillis >= 950, "waited the second Retry-After asked for, not the 200 ms back-off: "
                    + elapsedMillis + " ms");
            assertEquals(1, hostValue(server.metrics(), "singlepull_registry_retries_total", proxy.hostPort()));
        }
    }

    @Test
    void theCircuitOpensAfterFailuresInARowAndLaterPullsFailFastNamingTheHost() throws Exception {
        TestImages.push(registry, SmallImages.of("it/breaker", "v1", 604));
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0")
                     // a 1 ms slice: every retry, 20 ms apart, counts (with the default second they would count once)
                     .registry(r -> r.withCircuitBreaker(3, Duration.ofMillis(1), Duration.ofMinutes(5))
                             .withRetries(4, Duration.ofMillis(20), Duration.ofSeconds(30))))) {
            proxy.failWith(ProxyServer.any(), 503, FaultPlan.ALWAYS);
            String ref = proxy.hostPort() + "/it/breaker:v1";
            try (CriClient cri = server.client()) {
                StatusRuntimeException first = assertThrows(StatusRuntimeException.class,
                        () -> cri.images().pullImage(Cri.pull(ref)));
                assertEquals(Status.Code.UNAVAILABLE, first.getStatus().getCode());
                assertEquals(3, proxy.requests().size(), "three 503s in a row opened the circuit");

                StatusRuntimeException second = assertThrows(StatusRuntimeException.class,
                        () -> cri.images().pullImage(Cri.pull(ref)));
                assertEquals(Status.Code.UNAVAILABLE, second.getStatus().getCode());
                String message = second.getStatus().getDescription();
                assertTrue(message.contains(proxy.hostPort()) && message.contains("circuit breaker")
                        && message.contains(ref), message);
                assertEquals(3, proxy.requests().size(), "the open circuit sent nothing: " + proxy.requestLines());
            }
            assertEquals(1, hostValue(server.metrics(), "singlepull_registry_circuit_opened_total", proxy.hostPort()));
        }
    }

    @Test
    void oneDownloadAtATimeFromARegistryWhenItsBulkheadSaysOne() {
        int layerBytes = 150_000;
        ImageSpec.Builder spec = ImageSpec.builder("it/bulkhead", "v1");
        for (int i = 0; i < 3; i++) {
            spec.layer(LayerSpec.gzip(LayerEntry.randomFile("data/layer-" + i, layerBytes, 605 + i)));
        }
        PushedImage image = TestImages.push(registry, spec.build());
        long rate = 300_000;
        try (ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b.registry(r -> r.withDownloadsPerHost(1)))) {
            proxy.throttle(ProxyServer.blobs(), rate);
            long start = System.nanoTime();
            try (CriClient cri = server.client()) {
                assertEquals(image.imageId(),
                        cri.images().pullImage(Cri.pull(proxy.hostPort() + "/it/bulkhead:v1")).getImageRef());
            }
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            long layersTotal = image.compressedSizes().stream().mapToLong(Long::longValue).sum();
            long sequentialMillis = layersTotal * 1000 / rate;
            // each response is paced on its own: three layers side by side would take a third of this
            assertTrue(elapsedMillis >= sequentialMillis * 9 / 10, "layers were downloaded one after another: "
                    + elapsedMillis + " ms for " + layersTotal + " bytes at " + rate + " B/s each");
        }
    }
}

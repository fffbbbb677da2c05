package dev.singlepull.it;

import static dev.singlepull.it.fixture.PrometheusText.hostValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.pull.ParallelParts;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ProxyRequest;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The real registry process killed and started again while a pull downloads a layer as parallel ranges. The proxy in
 * front only slows the layer down so that the outage falls in its middle: it resets its clients when the registry
 * dies, and resets the connections the registry would refuse while it is down.
 */
@Timeout(120)
class RegistryOutageIT {
    private static final int LAYER_BYTES = 6_000_000;
    private static final long RATE = 500_000; // per response; four parts at once
    private static final ParallelParts PARTS = new ParallelParts(4, 1 << 20);

    @AutoClose
    private static final RegistryProcess registry = RegistryProcess.start();

    @Test
    void aRestartOfASecondIsRiddenOutInsideThePullAndOnlyBytesInTransitAreFetchedAgain() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/outage-short", "v1", 611, LAYER_BYTES));
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        try (ProxyServer proxy = ProxyServer.start(registry).resetWhenUpstreamDown(true);
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0")
                     .parallelParts(PARTS))) {
            proxy.throttle(ProxyServer.blob(layer), RATE);
            CompletableFuture<String> pull = server.pullAsync(proxy.hostPort() + "/it/outage-short:v1");
            awaitServed(proxy, layer, size / 4);

            long down = System.nanoTime();
            registry.stop();
            int reset = proxy.resetClients();
            long servedBeforeOutage = proxy.bytesServed(layer);
            Thread.sleep(1000);
            registry.restart();
            long outageMillis = (System.nanoTime() - down) / 1_000_000;

            assertEquals(image.imageId(), pull.get(60, TimeUnit.SECONDS), "the pull rode out the restart");
            long pullDoneMillis = (System.nanoTime() - down) / 1_000_000;
            assertTrue(reset >= 1, "the outage broke the download under way");
            assertTrue(proxy.awaitIdle(Duration.ofSeconds(5)));
            long served = proxy.bytesServed(layer);
            List<ProxyRequest> gets = proxy.requests().stream().filter(ProxyServer.blob(layer)).toList();
            System.out.printf("outage: registry down for %d ms (%d connections reset, %d of %d bytes served before);"
                            + " pull done %d ms after the stop; %d blob GETs, %d bytes served, %d re-sent%n",
                    outageMillis, reset, servedBeforeOutage, size, pullDoneMillis, gets.size(), served, served - size);
            // what was written stays written: only what was on the wire when the connections died comes again
            assertTrue(served - size <= 4 * 256 * 1024L, served + " bytes served for a " + size + "-byte blob");
            String metrics = server.metrics();
            assertEquals(0, hostValue(metrics, "singlepull_registry_circuit_opened_total", proxy.hostPort()),
                    "one restart opened the circuit");
            assertTrue(hostValue(metrics, "singlepull_registry_retries_total", proxy.hostPort()) >= 1,
                    "the refused reconnects were retried");
        }
    }

    @Test
    void anOutageLongerThanTheWindowFailsThePullAndThePullAfterTheRestartSucceedsPromptly() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/outage-long", "v1", 612, LAYER_BYTES));
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        String ref;
        try (ProxyServer proxy = ProxyServer.start(registry).resetWhenUpstreamDown(true);
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0")
                     .parallelParts(PARTS)
                     .registry(r -> r.withOutageWindow(Duration.ofSeconds(3))
                             .withCircuitBreaker(2, Duration.ofSeconds(1), Duration.ofSeconds(2))))) {
            ref = proxy.hostPort() + "/it/outage-long:v1";
            proxy.throttle(ProxyServer.blob(layer), RATE);
            CompletableFuture<String> pull = server.pullAsync(ref);
            awaitServed(proxy, layer, size / 4);

            long down = System.nanoTime();
            registry.stop();
            proxy.resetClients();
            ExecutionException failure = assertThrows(ExecutionException.class,
                    () -> pull.get(30, TimeUnit.SECONDS));
            long failedAfterMillis = (System.nanoTime() - down) / 1_000_000;
            Status status = Status.fromThrowable(failure.getCause());
            assertEquals(Status.Code.UNAVAILABLE, status.getCode(), String.valueOf(status));
            assertTrue(status.getDescription().contains(proxy.hostPort()), status.getDescription());
            // it gives up when the window is spent, or when the open circuit's next probe would come after it
            assertTrue(failedAfterMillis >= 1_000 && failedAfterMillis < 10_000,
                    "the pull gave up within the 3 s window: " + failedAfterMillis + " ms");
            assertTrue(hostValue(server.metrics(), "singlepull_registry_circuit_opened_total", proxy.hostPort()) >= 1,
                    "the outage outlasted two slices, so the circuit opened");

            registry.restart();
            proxy.unthrottle();
            long back = System.nanoTime();
            try (CriClient cri = server.client()) {
                assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
            }
            long nextPullMillis = (System.nanoTime() - back) / 1_000_000;
            System.out.printf("outage: the pull failed %d ms after the stop (window 3 s); the next pull after the"
                    + " restart took %d ms%n", failedAfterMillis, nextPullMillis);
            assertTrue(nextPullMillis < 5_000, "the first pull after the restart waited out the circuit: "
                    + nextPullMillis + " ms");
        }
    }

    private static void awaitServed(ProxyServer proxy, String layer, long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (proxy.bytesServed(layer) < bytes) {
            assertTrue(System.nanoTime() - deadline < 0, "the download did not get going: "
                    + proxy.bytesServed(layer) + " bytes of " + layer);
            Thread.sleep(20);
        }
    }
}

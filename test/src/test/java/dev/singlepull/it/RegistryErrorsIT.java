package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.FaultPlan;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each kind of registry failure reaches the caller as the gRPC status DESIGN.md lists, with a message naming the
 * reference and the registry host.
 */
@Timeout(120)
class RegistryErrorsIT {
    private static RegistryProcess registry;
    private static ProxyServer proxy;
    private static SinglepullServer server;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
        proxy = ProxyServer.start(registry);
        server = SinglepullServer.start(b -> b.registry(r -> r.withRetries(3, Duration.ofMillis(10),
                Duration.ofSeconds(1)).withCircuitBreaker(50, Duration.ofSeconds(1), Duration.ofSeconds(30))));
    }

    @AfterAll
    static void stop() {
        server.close();
        proxy.close();
        registry.close();
    }

    private static StatusRuntimeException pullFails(String ref, Status.Code code, String host) {
        try (CriClient cri = server.client()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(ref)));
            assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
            String message = e.getStatus().getDescription();
            assertTrue(message.contains(ref), "names the reference: " + message);
            assertTrue(message.contains(host), "names the host " + host + ": " + message);
            return e;
        }
    }

    @Test
    void aMissingRepositoryOrTagIsNotFound() {
        TestImages.push(registry, SmallImages.of("it/errors-present", "v1", 901));
        pullFails(registry.hostPort() + "/it/errors-absent:v1", Status.Code.NOT_FOUND, registry.hostPort());
        pullFails(registry.hostPort() + "/it/errors-present:nope", Status.Code.NOT_FOUND, registry.hostPort());
    }

    @Test
    void aBlobTheRegistryLostIsNotFound() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/errors-lost", "v1", 902));
        String layer = image.layerDigests().getLast();
        HttpResponse<String> deleted = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(registry.baseUri() + "/v2/it/errors-lost/blobs/" + layer)).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(202, deleted.statusCode(), deleted.body());
        StatusRuntimeException e = pullFails(image.reference(), Status.Code.NOT_FOUND, registry.hostPort());
        assertTrue(e.getStatus().getDescription().contains(layer), e.getStatus().getDescription());
    }

    @Test
    void aBlobThatDoesNotMatchItsDigestIsDataLoss() throws Exception {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/errors-corrupt", "v1", 903));
        String layer = image.layerDigests().getLast();
        registry.corruptBlob(layer);
        StatusRuntimeException e = pullFails(image.reference(), Status.Code.DATA_LOSS, registry.hostPort());
        assertTrue(e.getStatus().getDescription().contains(layer), e.getStatus().getDescription());
        try (CriClient cri = server.client()) {
            assertFalse(cri.images().imageStatus(Cri.status(image.reference(), false)).hasImage());
        }
    }

    @Test
    void anUnreachableRegistryIsUnavailable() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        String host = "127.0.0.1:" + closed;
        pullFails(host + "/it/x:v1", Status.Code.UNAVAILABLE, host);
    }

    @Test
    void serverErrorsAfterRetriesAreUnavailable() {
        TestImages.push(registry, SmallImages.of("it/errors-5xx", "v1", 904));
        proxy.clearLog();
        proxy.failWith(ProxyServer.manifests(), 500, FaultPlan.ALWAYS);
        try {
            StatusRuntimeException e = pullFails(proxy.hostPort() + "/it/errors-5xx:v1", Status.Code.UNAVAILABLE,
                    proxy.hostPort());
            assertTrue(e.getStatus().getDescription().contains("500"), e.getStatus().getDescription());
            assertEquals(3, proxy.requestCount(ProxyServer.manifests()), "three attempts as configured");
        } finally {
            proxy.clearFaults();
        }
    }

    @Test
    void aForbiddingRegistryIsPermissionDenied() {
        TestImages.push(registry, SmallImages.of("it/errors-403", "v1", 905));
        proxy.failWith(ProxyServer.manifests(), 403, 1);
        try {
            pullFails(proxy.hostPort() + "/it/errors-403:v1", Status.Code.PERMISSION_DENIED, proxy.hostPort());
        } finally {
            proxy.clearFaults();
        }
    }

    @Test
    void aDownloadThatKeepsBreakingIsUnavailableAndTheNextPullResumes() {
        PushedImage image = TestImages.push(registry, SmallImages.of("it/errors-cut", "v1", 906, 600_000));
        String layer = image.layerDigests().getLast();
        long size = image.compressedSizes().getLast();
        String ref = proxy.hostPort() + "/it/errors-cut:v1";
        proxy.clearLog();
        proxy.cutAfter(ProxyServer.blob(layer), 50_000, 6); // the first GET and five resumes each break
        try {
            StatusRuntimeException e = pullFails(ref, Status.Code.UNAVAILABLE, proxy.hostPort());
            assertTrue(e.getStatus().getDescription().contains(layer), e.getStatus().getDescription());
            assertEquals(6, proxy.requestCount(ProxyServer.blob(layer)), "one GET and max_blob_resumes (5) resumes");
        } finally {
            proxy.clearFaults();
        }
        try (CriClient cri = server.client()) {
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
        }
        assertTrue(proxy.awaitIdle(Duration.ofSeconds(5)));
        assertTrue(proxy.bytesServed(layer) <= size + 6 * 65_536L,
                "the retry resumed what the broken attempts wrote: " + proxy.bytesServed(layer) + " for " + size);
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.registry.HostConfig;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.FaultPlan;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestCerts;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The hosts configuration against real registries: mirrors tried in order with fallback to the registry itself, the
 * Docker Hub name sent to a local mirror, and TLS with a custom CA or skip_verify on a loopback registry that serves
 * https. One service holds the whole configuration; each test uses its own registry names.
 */
@Timeout(120)
class HostsConfigIT {
    private static Path dir;
    private static RegistryProcess store;
    private static RegistryProcess mirror;
    private static RegistryProcess emptyMirror;
    private static ProxyServer failingMirror;
    /** Never resolved: its host configuration names the server. */
    private static final String SYSTEM_TLS_NAME = "system-tls.test";
    private static RegistryProcess tlsRegistry;
    private static RegistryProcess tlsRegistrySkipVerify;
    private static String deadRegistry;
    private static String deadMirror;
    private static SinglepullServer server;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("sp-hosts-it-");
        store = RegistryProcess.start();
        mirror = RegistryProcess.start(RegistryProcess.Options.anonymous().withStorageOf(store));
        emptyMirror = RegistryProcess.start();
        failingMirror = ProxyServer.start(mirror);
        failingMirror.failWith(ProxyServer.any(), 503, FaultPlan.ALWAYS);
        TestCerts.ServerTls tls = TestCerts.serverTls(dir, "test-ca");
        TestCerts.ServerTls otherCa = TestCerts.serverTls(dir, "other-ca");
        tlsRegistry = RegistryProcess.start(RegistryProcess.Options.anonymous().withStorageOf(store).withTls(tls.server()));
        tlsRegistrySkipVerify = RegistryProcess.start(RegistryProcess.Options.anonymous().withStorageOf(store)
                .withTls(otherCa.server()));
        deadRegistry = "127.0.0.1:" + closedPort();
        deadMirror = "http://127.0.0.1:" + closedPort();

        server = SinglepullServer.start(b -> b
                // a registry that is down, with a mirror that has everything
                .host(deadRegistry, mirrors(mirror.baseUri().toString()))
                // Docker Hub's name, sent to the local mirror; its own address is a closed port, never the internet
                .host("docker.io", new HostConfig(List.of(), Optional.of(URI.create("http://" + deadRegistry)), false,
                        Optional.empty(), false))
                .addMirrors("docker.io", List.of(mirror.baseUri()))
                // mirrors that fail in three ways before the registry itself, which has the images
                .host(store.hostPort(), mirrors(deadMirror, failingMirror.baseUri().toString(),
                        emptyMirror.baseUri().toString()))
                // loopback registries serving https: one trusted through its CA, one through skip_verify, and the
                // first one again by another name, with the wrong CA
                .host(tlsRegistry.hostPort(), tlsHost(Optional.of(tls.caCert()), false))
                .host("localhost:" + tlsRegistry.port(), tlsHost(Optional.of(otherCa.caCert()), false))
                .host(tlsRegistrySkipVerify.hostPort(), tlsHost(Optional.empty(), true))
                // a name whose server is the skip_verify registry over https, with no TLS settings: the system's CAs
                .host(SYSTEM_TLS_NAME, new HostConfig(List.of(), Optional.of(URI.create("https://localhost:"
                        + tlsRegistrySkipVerify.port())), false, Optional.empty(), false)));
    }

    @AfterAll
    static void stop() {
        server.close();
        for (AutoCloseable c : new AutoCloseable[] {failingMirror, tlsRegistry, tlsRegistrySkipVerify, emptyMirror,
                mirror, store}) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        TestFiles.deleteTree(dir);
    }

    private static HostConfig mirrors(String... urls) {
        return new HostConfig(List.of(urls).stream().map(HostConfig::parseLocation).toList(), Optional.empty(), false,
                Optional.empty(), false);
    }

    private static HostConfig tlsHost(Optional<Path> ca, boolean skipVerify) {
        return new HostConfig(List.of(), Optional.empty(), false, ca, skipVerify);
    }

    private static int closedPort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The image's config and layers came from {@code registry}, once each. */
    private static void assertFetchedOnceFrom(RegistryProcess registry, PushedImage image) {
        List<String> blobs = new java.util.ArrayList<>(image.layerDigests());
        blobs.add(image.configDigest());
        for (String digest : blobs) {
            assertEquals(1, registry.blobGets(digest), digest + " from " + registry + ": " + registry.requests());
        }
    }

    @Test
    void aMirrorServesPullsOfARegistryThatIsDown() {
        PushedImage image = TestImages.push(store, SmallImages.of("team/mirrored", "v1", 501));
        mirror.clearLog();
        try (CriClient cri = server.client()) {
            String ref = deadRegistry + "/team/mirrored:v1";
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
            assertTrue(cri.images().imageStatus(Cri.status(ref, false)).hasImage(), "recorded under the name pulled");
        }
        mirror.awaitLogQuiet();
        assertFetchedOnceFrom(mirror, image);
        assertEquals(2, mirror.manifestRequests(), "HEAD and GET of the manifest from the mirror");
        assertTrue(mirror.requests().stream().allMatch(r -> r.path().contains("ns=" + deadRegistry.replace(":", "%3A"))),
                "a mirror is told which registry it stands in for: " + mirror.requests());
    }

    @Test
    void dockerHubPullsGoToTheLocalMirror() {
        PushedImage image = TestImages.push(store, SmallImages.of("library/hubimage", "7", 502));
        mirror.clearLog();
        try (CriClient cri = server.client()) {
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull("hubimage:7")).getImageRef());
            assertTrue(cri.images().imageStatus(Cri.status("docker.io/library/hubimage:7", false)).hasImage());
        }
        mirror.awaitLogQuiet();
        assertFetchedOnceFrom(mirror, image);
    }

    @Test
    void failingMirrorsFallBackInOrderToTheRegistryItself() {
        PushedImage image = TestImages.push(store, SmallImages.of("team/fallback", "v1", 503));
        store.clearLog();
        emptyMirror.clearLog();
        failingMirror.clearLog();
        try (CriClient cri = server.client()) {
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(image.reference())).getImageRef());
        }
        store.awaitLogQuiet();
        emptyMirror.awaitLogQuiet();
        int blobs = image.layerDigests().size() + 1;
        assertFetchedOnceFrom(store, image);
        assertTrue(emptyMirror.manifestRequests() >= 1, "the mirror without the image was asked (404)");
        long failingRequests = failingMirror.requests().size();
        assertTrue(failingRequests >= 1 && failingRequests <= 1 + blobs,
                "a mirror answering 503 was asked once per request, not retried: " + failingRequests);
    }

    @Test
    void httpsWithTheConfiguredCa() {
        PushedImage image = TestImages.push(store, SmallImages.of("team/tls", "v1", 504));
        try (CriClient cri = server.client()) {
            String ref = tlsRegistry.hostPort() + "/team/tls:v1";
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
        }
        tlsRegistry.awaitLogQuiet();
        assertFetchedOnceFrom(tlsRegistry, image);
    }

    @Test
    void httpsWithSkipVerify() {
        PushedImage image = TestImages.push(store, SmallImages.of("team/tls-skip", "v1", 505));
        try (CriClient cri = server.client()) {
            String ref = tlsRegistrySkipVerify.hostPort() + "/team/tls-skip:v1";
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
        }
    }

    @Test
    void aCertificateTheConfiguredCaDidNotSignIsUnavailableNamingTheHost() {
        TestImages.push(store, SmallImages.of("team/tls-wrong", "v1", 506));
        String host = "localhost:" + tlsRegistry.port();
        try (CriClient cri = server.client()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(host + "/team/tls-wrong:v1")));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            String message = e.getStatus().getDescription();
            assertTrue(message.contains(host) && message.contains("TLS") && message.contains("team/tls-wrong:v1"),
                    message);
        }
    }

    @Test
    void aCertificateTheSystemCasDidNotSignIsRefusedWithTheSystemTlsSettings() {
        // the system TLS context is set up on the first TLS connection (LazySystemTls): it must still verify
        TestImages.push(store, SmallImages.of("team/tls-system", "v1", 507));
        try (CriClient cri = server.client()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(SYSTEM_TLS_NAME + "/team/tls-system:v1")));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            String message = e.getStatus().getDescription();
            assertTrue(message.contains("TLS") && message.contains("team/tls-system:v1"), message);
        }
    }
}

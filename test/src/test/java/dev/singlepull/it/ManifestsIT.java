package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.ManifestFormat;
import dev.singlepull.it.fixture.MediaTypes;
import dev.singlepull.it.fixture.Platform;
import dev.singlepull.it.fixture.ProxyRequest;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Manifests and indexes from the real registry: platform choice with variant rules and a configured platform, the
 * platforms named when none fits, schema 1 refused, pulls by tag, digest and tag@digest, and HEAD-then-GET resolution
 * with the complete Accept header, seen through the proxy.
 */
@Timeout(120)
class ManifestsIT {
    private static RegistryProcess registry;
    private static ProxyServer proxy;
    private static SinglepullServer amd64;
    private static SinglepullServer arm64;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start(RegistryProcess.Options.anonymous().withSchema1());
        proxy = ProxyServer.start(registry);
        amd64 = SinglepullServer.start();
        arm64 = SinglepullServer.start(b -> b.platform(dev.singlepull.cri.registry.Platform.parse("linux/arm64/v8")));
    }

    @AfterAll
    static void stop() {
        arm64.close();
        amd64.close();
        proxy.close();
        registry.close();
    }

    private static LayerSpec layer(String name) {
        return LayerSpec.gzip(LayerEntry.dir("etc"), LayerEntry.file("etc/" + name, name + "\n"));
    }

    private static ImageSpec multiPlatform(String repository, ManifestFormat format, Platform... platforms) {
        ImageSpec.Builder spec = ImageSpec.builder(repository, "v1").format(format);
        for (Platform p : platforms) {
            spec.addPlatform(p, ImageConfig.defaults().withLabel("platform", p.toString()), layer(p.toString()
                    .replace('/', '-')));
        }
        return spec.build();
    }

    @Test
    void anIndexAndAManifestListGiveEachServiceItsPlatform() {
        for (ManifestFormat format : ManifestFormat.values()) {
            Platform arm64NoVariant = new Platform("linux", "arm64", null);
            PushedImage image = TestImages.push(registry, multiPlatform("it/multi-" + format.name().toLowerCase(),
                    format, Platform.LINUX_ARM_V7, arm64NoVariant, Platform.LINUX_AMD64));
            try (CriClient cri = amd64.client()) {
                assertEquals(image.image().manifest(Platform.LINUX_AMD64).configDigest(),
                        cri.images().pullImage(Cri.pull(image.reference())).getImageRef());
            }
            try (CriClient cri = arm64.client()) {
                assertEquals(image.image().manifest(arm64NoVariant).configDigest(),
                        cri.images().pullImage(Cri.pull(image.reference())).getImageRef(),
                        "linux/arm64/v8 takes an arm64 entry without variant");
            }
        }
    }

    @Test
    void aMissingPlatformIsFailedPreconditionNamingThePlatformsPresent() {
        PushedImage image = TestImages.push(registry, multiPlatform("it/no-amd64", ManifestFormat.OCI,
                Platform.LINUX_ARM64, Platform.LINUX_S390X, new Platform("linux", "amd64", "v3")));
        try (CriClient cri = amd64.client()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(image.reference())));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            String message = e.getStatus().getDescription();
            for (String expected : new String[] {"linux/amd64", "linux/arm64/v8", "linux/s390x", "linux/amd64/v3",
                    image.reference(), registry.hostPort()}) {
                assertTrue(message.contains(expected), expected + " in: " + message);
            }
        }
    }

    @Test
    void schema1IsRefusedClearly() throws Exception {
        TestImages.push(registry, ImageSpec.builder("it/schema1", "v2").format(ManifestFormat.DOCKER)
                .layer(layer("old")).build());
        HttpClient http = HttpClient.newHttpClient();
        URI tagged = registry.baseUri().resolve("/v2/it/schema1/manifests/v2");
        // the registry converts its schema 2 manifest for a client that accepts only schema 1 ...
        HttpResponse<byte[]> converted = http.send(HttpRequest.newBuilder(tagged)
                .header("Accept", "application/vnd.docker.distribution.manifest.v1+prettyjws").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        byte[] schema1 = converted.body();
        assertEquals(200, converted.statusCode(), new String(schema1, java.nio.charset.StandardCharsets.UTF_8));
        // ... and stores that signed schema 1 manifest under a tag of its own
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(registry.baseUri()
                        .resolve("/v2/it/schema1/manifests/v1"))
                .header("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(schema1)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, put.statusCode(), put.body());
        String ref = registry.hostPort() + "/it/schema1:v1";
        try (CriClient cri = amd64.client()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(ref)));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            String message = e.getStatus().getDescription();
            assertTrue(message.contains("schema 1") && message.contains(ref) && message.contains(registry.hostPort()),
                    message);
        }
    }

    @Test
    void byTagByDigestAndByTagAtDigestWhereTheDigestWins() {
        PushedImage one = TestImages.push(registry, SmallImages.of("it/refs", "one", 801));
        PushedImage two = TestImages.push(registry, SmallImages.of("it/refs", "two", 802));
        String name = proxy.hostPort() + "/it/refs";
        try (CriClient cri = amd64.client()) {
            proxy.clearLog();
            assertEquals(one.imageId(), cri.images().pullImage(Cri.pull(name + ":one")).getImageRef());
            List<ProxyRequest> byTag = proxy.requests().stream().filter(ProxyServer.manifests()).toList();
            assertEquals(List.of("HEAD " + "/v2/it/refs/manifests/one", "GET /v2/it/refs/manifests/"
                    + one.manifestDigest()), byTag.stream().map(ProxyRequest::line).toList(), "HEAD, then GET once");
            for (ProxyRequest request : byTag) {
                String accept = request.header("Accept").orElse("");
                for (String type : new String[] {MediaTypes.OCI_INDEX, MediaTypes.OCI_MANIFEST,
                        MediaTypes.DOCKER_MANIFEST_LIST, MediaTypes.DOCKER_MANIFEST}) {
                    assertTrue(accept.contains(type), request + " accepts " + type + ": " + accept);
                }
            }

            proxy.clearLog();
            assertEquals(two.imageId(), cri.images().pullImage(Cri.pull(name + "@" + two.manifestDigest()))
                    .getImageRef());
            assertEquals(List.of("GET /v2/it/refs/manifests/" + two.manifestDigest()),
                    proxy.requests().stream().filter(ProxyServer.manifests()).map(ProxyRequest::line).toList(),
                    "a digest needs no HEAD");

            String both = name + ":one@" + two.manifestDigest();
            assertEquals(two.imageId(), cri.images().pullImage(Cri.pull(both)).getImageRef(), "the digest wins");
            assertTrue(cri.images().imageStatus(Cri.status(name + "@" + two.manifestDigest(), false)).hasImage());
            assertEquals(one.imageId(), cri.images().imageStatus(Cri.status(name + ":one", false)).getImage().getId(),
                    "the tag given beside a digest is not re-pointed");
        }
    }
}

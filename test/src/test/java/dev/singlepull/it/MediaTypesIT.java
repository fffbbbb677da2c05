package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.BuiltImage;
import dev.singlepull.it.fixture.BuiltLayer;
import dev.singlepull.it.fixture.BuiltManifest;
import dev.singlepull.it.fixture.Compression;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.ManifestFormat;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Layers compressed with gzip, zstd or not at all, in Docker and OCI manifests, pulled from the real registry; and
 * non-distributable (foreign) layers, fetched from the URLs their descriptors list only when that is allowed.
 */
@Timeout(120)
class MediaTypesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OCI_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    private static final String DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    private static RegistryProcess registry;
    private static RegistryProcess cdn;
    private static SinglepullServer server;
    private static SinglepullServer allowingServer;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start(RegistryProcess.Options.anonymous().withLayerUrls());
        cdn = RegistryProcess.start();
        server = SinglepullServer.start();
        allowingServer = SinglepullServer.start(b -> b.registry(r -> r.withAllowForeignUrls(true)));
    }

    @AfterAll
    static void stop() {
        allowingServer.close();
        server.close();
        cdn.close();
        registry.close();
    }

    @ParameterizedTest
    @CsvSource({"OCI, GZIP", "OCI, ZSTD", "OCI, NONE", "DOCKER, GZIP", "DOCKER, ZSTD", "DOCKER, NONE"})
    void layersOfEveryCompressionInBothFormats(ManifestFormat format, Compression compression) {
        String name = "it/media-" + format.name().toLowerCase() + "-" + compression.name().toLowerCase();
        ImageSpec spec = ImageSpec.builder(name, "v1").format(format)
                .layer(LayerSpec.of(compression, LayerEntry.dir("etc"), LayerEntry.file("etc/base", "base\n")))
                .layer(LayerSpec.of(compression, LayerEntry.randomFile("data.bin", 30_000, name.hashCode())))
                .build();
        PushedImage image = TestImages.push(registry, spec);
        assertEquals(compression.mediaType(format), image.layers().getFirst().mediaType());
        try (CriClient cri = server.client()) {
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(image.reference())).getImageRef());
        }
        // every layer's DiffID was checked against the config while it was decompressed and applied
    }

    @Test
    void aForeignLayerIsFetchedFromItsUrlsOnlyWhenAllowed() throws Exception {
        for (String[] kind : new String[][] {{"docker", DOCKER_FOREIGN}, {"oci", OCI_NONDISTRIBUTABLE_GZIP}}) {
            String repository = "it/foreign-" + kind[0];
            Foreign image = pushWithForeignLayer(repository, kind[1], false, 711 + kind[0].length());
            try (CriClient cri = server.client()) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                        () -> cri.images().pullImage(Cri.pull(image.ref())));
                assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
                String message = e.getStatus().getDescription();
                assertTrue(message.contains(image.foreign().digest()) && message.contains("allow_foreign_urls")
                        && message.contains(image.ref()) && message.contains(image.url()), message);
            }
            cdn.clearLog();
            try (CriClient cri = allowingServer.client()) {
                assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(image.ref())).getImageRef());
            }
            cdn.awaitLogQuiet();
            assertEquals(1, cdn.blobGets(image.foreign().digest()), "fetched from its URL");
        }
    }

    @Test
    void aForeignLayerTheRegistryHoldsIsFetchedFromTheRegistry() throws Exception {
        Foreign image = pushWithForeignLayer("it/foreign-held", DOCKER_FOREIGN, true, 721);
        cdn.clearLog();
        try (CriClient cri = server.client()) {
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(image.ref())).getImageRef());
        }
        cdn.awaitLogQuiet();
        assertEquals(0, cdn.blobGetsTotal());
    }

    private record Foreign(String ref, String imageId, BuiltLayer foreign, String url) {
    }

    /**
     * Pushes an image whose second layer is declared {@code mediaType} with a URL on the "cdn" registry, which holds
     * it; the registry itself holds it only if {@code registryHoldsIt}.
     */
    private static Foreign pushWithForeignLayer(String repository, String mediaType, boolean registryHoldsIt,
                                                long seed) throws Exception {
        BuiltImage built = TestImages.build(ImageSpec.builder(repository, "v1").format(ManifestFormat.DOCKER)
                .layer(LayerSpec.gzip(LayerEntry.dir("etc"), LayerEntry.file("etc/os", "base\n")))
                .layer(LayerSpec.gzip(LayerEntry.randomFile("windows-ish.bin", 30_000, seed)).withMediaType(mediaType))
                .build());
        BuiltManifest m = built.primary();
        BuiltLayer foreign = m.layers().get(1);
        TestImages.pushBlob(registry.baseUri(), null, repository, m.configDigest(), m.configBytes());
        TestImages.pushBlob(registry.baseUri(), null, repository, m.layers().getFirst().digest(),
                m.layers().getFirst().bytes());
        if (registryHoldsIt) {
            TestImages.pushBlob(registry.baseUri(), null, repository, foreign.digest(), foreign.bytes());
        }
        TestImages.pushBlob(cdn.baseUri(), null, "cdn/layers", foreign.digest(), foreign.bytes());
        String url = cdn.baseUri() + "/v2/cdn/layers/blobs/" + foreign.digest();
        ObjectNode manifest = (ObjectNode) JSON.readTree(m.bytes());
        ((ObjectNode) manifest.withArray("layers").get(1)).putArray("urls").add(url);
        TestImages.pushManifest(registry.baseUri(), null, repository, "v1", m.mediaType(),
                JSON.writeValueAsBytes(manifest));
        return new Foreign(registry.hostPort() + "/" + repository + ":v1", m.configDigest(), foreign, url);
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.singlepull.api.cri.v1.Image;
import dev.singlepull.api.cri.v1.ImageFilter;
import dev.singlepull.api.cri.v1.ImageFsInfoRequest;
import dev.singlepull.api.cri.v1.ImageStatusResponse;
import dev.singlepull.api.cri.v1.ListImagesRequest;
import dev.singlepull.api.cri.v1.StreamImagesRequest;
import dev.singlepull.api.cri.v1.VersionRequest;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.ManifestFormat;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Pull, list, inspect and remove over the real socket, against the real registry. */
@Timeout(300)
class PullEndToEndIT {
    private static RegistryProcess registry;
    private static SinglepullServer server;
    private static PushedImage sample;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
        server = SinglepullServer.start();
        sample = TestImages.push(registry, TestImages.sampleImage("it/sample", "v1", 2_000_000, 1));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void pullReturnsTheImageIdAndStatusShowsWhatKubeletReads() throws Exception {
        try (CriClient cri = server.client()) {
            String imageRef = cri.images().pullImage(Cri.pull(sample.reference())).getImageRef();
            assertEquals(sample.configDigest(), imageRef, "image_ref is the config digest, as containerd returns");

            ImageStatusResponse status = cri.images().imageStatus(Cri.status(sample.reference(), true));
            assertTrue(status.hasImage());
            Image image = status.getImage();
            assertEquals(sample.configDigest(), image.getId());
            assertEquals(List.of(sample.reference()), image.getRepoTagsList());
            assertEquals(List.of(sample.hostPort() + "/it/sample@" + sample.manifestDigest()),
                    image.getRepoDigestsList());
            assertEquals(sample.totalSize(), image.getSize(), "size is config plus compressed layers");
            assertTrue(image.hasUid());
            assertEquals(1000, image.getUid().getValue());
            assertEquals("", image.getUsername());

            JsonNode info = new ObjectMapper().readTree(status.getInfoMap().get("info"));
            assertEquals(chainIdOf(sample.diffIds()), info.path("chainID").asText());
            assertEquals("1000", info.path("imageSpec").path("config").path("User").asText());
        }
    }

    @Test
    void statusAcceptsIdTagDigestAndTaglessNames() {
        PushedImage latest = TestImages.push(registry, TestImages.sampleImage("it/named", "latest", 100_000, 7));
        try (CriClient cri = server.client()) {
            cri.images().pullImage(Cri.pull(latest.hostPort() + "/it/named"));
            String id = latest.configDigest();
            for (String name : List.of(id, id.substring("sha256:".length()), latest.reference(),
                    latest.hostPort() + "/it/named", latest.hostPort() + "/it/named@" + latest.manifestDigest())) {
                ImageStatusResponse status = cri.images().imageStatus(Cri.status(name, false));
                assertTrue(status.hasImage(), "status of " + name);
                assertEquals(id, status.getImage().getId());
            }
        }
    }

    @Test
    void layersAreUnpackedIntoPerChainSnapshotDirectories() throws Exception {
        try (CriClient cri = server.client()) {
            cri.images().pullImage(Cri.pull(sample.reference()));
        }
        List<Path> snapshotDirs;
        try (Stream<Path> dirs = Files.list(server.root().resolve("snapshots"))) {
            snapshotDirs = dirs.filter(d -> d.getFileName().toString().matches("\\d+")).toList();
        }
        assertTrue(snapshotDirs.size() >= 3);
        boolean foundOsRelease = false;
        boolean foundBlob = false;
        for (Path dir : snapshotDirs) {
            Path osRelease = dir.resolve("fs/etc/os-release");
            if (Files.isRegularFile(osRelease)) {
                foundOsRelease = Files.readString(osRelease, StandardCharsets.UTF_8).contains("Singlepull Test Linux");
            }
            foundBlob |= Files.isRegularFile(dir.resolve("fs/opt/data/blob.bin"));
        }
        assertTrue(foundOsRelease, "the base layer's files are in a snapshot");
        assertTrue(foundBlob, "the top layer's files are in a snapshot");
    }

    @Test
    void listFiltersAndStreamsLikeListImages() {
        PushedImage other = TestImages.push(registry, TestImages.sampleImage("it/other", "v2", 100_000, 3));
        try (CriClient cri = server.client()) {
            cri.images().pullImage(Cri.pull(sample.reference()));
            cri.images().pullImage(Cri.pull(other.reference()));
            List<Image> all = cri.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList();
            assertTrue(all.stream().anyMatch(i -> i.getId().equals(other.configDigest())));
            assertTrue(all.stream().anyMatch(i -> i.getId().equals(sample.configDigest())));

            List<Image> filtered = cri.images().listImages(ListImagesRequest.newBuilder()
                    .setFilter(ImageFilter.newBuilder().setImage(Cri.spec(other.reference()))).build()).getImagesList();
            assertEquals(1, filtered.size());
            assertEquals(other.configDigest(), filtered.getFirst().getId());

            List<Image> streamed = new ArrayList<>();
            Iterator<dev.singlepull.api.cri.v1.StreamImagesResponse> it =
                    cri.images().streamImages(StreamImagesRequest.getDefaultInstance());
            it.forEachRemaining(r -> streamed.addAll(r.getImagesList()));
            assertEquals(all.size(), streamed.size());
        }
    }

    @Test
    void removeDeletesEveryTagAndFreesWhatNoOtherImageUses() {
        // Two tags of one image, plus an image sharing its base layer.
        ImageSpec spec = TestImages.sampleImage("it/removable", "a", 300_000, 11);
        PushedImage a = TestImages.push(registry, spec);
        PushedImage b = TestImages.push(registry, spec.withTag("b"));
        PushedImage sibling = TestImages.push(registry, TestImages.sampleImage("it/sibling", "v1", 300_000, 12));
        try (CriClient cri = server.client()) {
            cri.images().pullImage(Cri.pull(a.reference()));
            cri.images().pullImage(Cri.pull(b.reference()));
            cri.images().pullImage(Cri.pull(sibling.reference()));
            long before = usedBytes(cri);

            cri.images().removeImage(Cri.remove(a.reference()));
            assertFalse(cri.images().imageStatus(Cri.status(a.reference(), false)).hasImage());
            assertFalse(cri.images().imageStatus(Cri.status(b.reference(), false)).hasImage(),
                    "removing one tag removes every tag of the image");
            assertTrue(cri.images().imageStatus(Cri.status(sibling.reference(), false)).hasImage());
            long after = usedBytes(cri);
            assertTrue(after < before, "removal gave disk back: " + before + " -> " + after);

            // the shared base layer is still there for the sibling: its blob and snapshot survive
            assertTrue(Files.exists(blobPath(sibling.layerDigests().getFirst())));
            assertFalse(Files.exists(blobPath(a.layerDigests().getLast())), "a's own top layer was collected");

            // idempotent
            cri.images().removeImage(Cri.remove(a.reference()));
            cri.images().removeImage(Cri.remove("never/pulled:anything"));

            // a pull after removal is cold: the registry serves the removed layers again
            registry.awaitLogQuiet();
            registry.clearLog();
            cri.images().pullImage(Cri.pull(a.reference()));
            registry.awaitLogQuiet();
            assertEquals(1, registry.blobGets(a.layerDigests().getLast()));
        }
    }

    @Test
    void imageFsInfoReportsBytesAndInodesUnderTheRoot() {
        try (CriClient cri = server.client()) {
            cri.images().pullImage(Cri.pull(sample.reference()));
            var fs = cri.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance()).getImageFilesystems(0);
            assertEquals(server.root().toAbsolutePath().toString(), fs.getFsId().getMountpoint());
            assertTrue(fs.getUsedBytes().getValue() >= sample.totalSize());
            assertTrue(fs.getInodesUsed().getValue() > 200);
            assertTrue(fs.getTimestamp() > 0);
        }
    }

    @Test
    void versionAnswersAsARuntimeForCrictl() {
        try (CriClient cri = server.client()) {
            var v = cri.runtime().version(VersionRequest.newBuilder().setVersion("v1").build());
            assertEquals("singlepull", v.getRuntimeName());
            assertEquals("v1", v.getRuntimeApiVersion());
        }
    }

    @Test
    void dockerFormatAndUsernameAndUncompressedLayers() {
        ImageSpec spec = ImageSpec.builder("it/docker-format", "v1")
                .format(ManifestFormat.DOCKER)
                .layer(LayerSpec.gzip(LayerEntry.dir("etc"), LayerEntry.file("etc/hostname", "node\n")))
                .layer(LayerSpec.uncompressed(LayerEntry.file("etc/issue", "hello\n")))
                .config(ImageConfig.defaults().withUser("nginx:nginx"))
                .build();
        PushedImage pushed = TestImages.push(registry, spec);
        try (CriClient cri = server.client()) {
            cri.images().pullImage(Cri.pull(pushed.reference()));
            Image image = cri.images().imageStatus(Cri.status(pushed.reference(), false)).getImage();
            assertEquals("nginx", image.getUsername());
            assertFalse(image.hasUid());
        }
    }

    private long usedBytes(CriClient cri) {
        return cri.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance()).getImageFilesystems(0)
                .getUsedBytes().getValue();
    }

    private Path blobPath(String digest) {
        return server.root().resolve("content/blobs/sha256").resolve(digest.substring("sha256:".length()));
    }

    static String chainIdOf(List<String> diffIds) {
        String chain = diffIds.getFirst();
        for (String diffId : diffIds.subList(1, diffIds.size())) {
            chain = TestImages.sha256Digest((chain + " " + diffId).getBytes(StandardCharsets.UTF_8));
        }
        return chain;
    }
}

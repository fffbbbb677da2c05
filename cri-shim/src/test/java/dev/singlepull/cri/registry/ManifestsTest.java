package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestsTest {
    private static final String D1 = "sha256:" + "11".repeat(32);
    private static final String D2 = "sha256:" + "22".repeat(32);
    private static final String D3 = "sha256:" + "33".repeat(32);
    private static final String D4 = "sha256:" + "44".repeat(32);

    private static byte[] json(String text) {
        return text.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
    }

    private static String entry(String digest, String platform) {
        String[] p = platform.split("/");
        return "{'mediaType':'" + MediaTypes.OCI_MANIFEST + "','digest':'" + digest + "','size':100,'platform':{"
                + "'os':'" + p[0] + "','architecture':'" + p[1] + "'" + (p.length > 2 ? ",'variant':'" + p[2] + "'" : "")
                + "}}";
    }

    private static Manifests.Index index(String... entries) {
        byte[] doc = json("{'schemaVersion':2,'mediaType':'" + MediaTypes.OCI_INDEX + "','manifests':["
                + String.join(",", entries) + "]}");
        return Manifests.parseIndex(doc, MediaTypes.OCI_INDEX, "r");
    }

    @Test
    void schema1IsRefusedWithAClearMessage() {
        byte[] signed = json("{'schemaVersion':1,'name':'team/app','tag':'v1','architecture':'amd64',"
                + "'fsLayers':[{'blobSum':'" + D1 + "'}],'history':[],'signatures':[]}");
        for (String contentType : new String[] {MediaTypes.DOCKER_SCHEMA1_SIGNED, MediaTypes.DOCKER_SCHEMA1,
                "application/json", ""}) {
            SinglepullException e = assertThrows(SinglepullException.class,
                    () -> Manifests.mediaTypeOf(signed, contentType, "reg:5000/team/app:v1"));
            assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
            assertTrue(e.getMessage().contains("schema 1") && e.getMessage().contains("reg:5000/team/app:v1"),
                    e.getMessage());
        }
    }

    @Test
    void schema1IsRecognizedBeforeItsDigestIsChecked() {
        byte[] signed = json("{'schemaVersion':1,'name':'a','fsLayers':[],'signatures':[{}]}");
        assertEquals(ErrorKind.FAILED_PRECONDITION, assertThrows(SinglepullException.class,
                () -> Manifests.refuseSchema1(signed, MediaTypes.DOCKER_SCHEMA1_SIGNED + "; charset=utf-8", "r")).kind());
        assertEquals(ErrorKind.FAILED_PRECONDITION, assertThrows(SinglepullException.class,
                () -> Manifests.refuseSchema1(signed, "application/json", "r")).kind());
        Manifests.refuseSchema1(json("{'schemaVersion':2}"), MediaTypes.OCI_MANIFEST, "r");
        Manifests.refuseSchema1("not json".getBytes(StandardCharsets.UTF_8), "", "r");
    }

    @Test
    void mediaTypeComesFromTheDocumentThenTheHeaderThenItsShape() {
        byte[] docker = json("{'schemaVersion':2,'mediaType':'" + MediaTypes.DOCKER_MANIFEST + "','config':{},'layers':[]}");
        assertEquals(MediaTypes.DOCKER_MANIFEST, Manifests.mediaTypeOf(docker, MediaTypes.OCI_MANIFEST, "r"));
        byte[] bare = json("{'schemaVersion':2,'config':{},'layers':[]}");
        assertEquals(MediaTypes.OCI_MANIFEST, Manifests.mediaTypeOf(bare, "application/octet-stream", "r"));
        assertEquals(MediaTypes.DOCKER_MANIFEST_LIST,
                Manifests.mediaTypeOf(json("{'schemaVersion':2,'manifests':[]}"), MediaTypes.DOCKER_MANIFEST_LIST, "r"));
        assertEquals(MediaTypes.OCI_INDEX, Manifests.mediaTypeOf(json("{'schemaVersion':2,'manifests':[]}"), "", "r"));
        SinglepullException odd = assertThrows(SinglepullException.class,
                () -> Manifests.mediaTypeOf(json("{'schemaVersion':2,'mediaType':'text/plain'}"), "", "r"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, odd.kind());
        assertEquals(ErrorKind.DATA_LOSS, assertThrows(SinglepullException.class,
                () -> Manifests.mediaTypeOf(json("{not json"), "", "r")).kind());
    }

    @Test
    void manifestsParseConfigLayersAndForeignUrls() {
        byte[] doc = json("{'schemaVersion':2,'mediaType':'" + MediaTypes.DOCKER_MANIFEST + "',"
                + "'config':{'mediaType':'" + MediaTypes.DOCKER_CONFIG + "','digest':'" + D1 + "','size':10},"
                + "'layers':[{'mediaType':'" + MediaTypes.DOCKER_FOREIGN_LAYER + "','digest':'" + D2 + "','size':20,"
                + "'urls':['https://example.com/layer']}]}");
        Manifests.ImageManifest m = Manifests.parseManifest(doc, MediaTypes.DOCKER_MANIFEST, "r");
        assertEquals(D1, m.config().digest().toString());
        assertEquals(List.of("https://example.com/layer"), m.layers().getFirst().urls());
        assertEquals(30, m.size());
        assertTrue(MediaTypes.isNonDistributable(m.layers().getFirst().mediaType()));
        assertTrue(MediaTypes.isNonDistributable("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, assertThrows(SinglepullException.class,
                () -> Manifests.parseManifest(json("{'layers':[]}"), MediaTypes.OCI_MANIFEST, "r")).kind());
    }

    @Test
    void indexPicksTheExactPlatformThenTheBestThatRuns() {
        Manifests.Index idx = index(entry(D1, "linux/amd64"), entry(D2, "linux/arm/v6"), entry(D3, "linux/arm/v7"),
                entry(D4, "linux/arm64/v8"));
        assertEquals(D1, idx.select(Platform.LINUX_AMD64, "r").digest().toString());
        assertEquals(D4, idx.select(Platform.parse("linux/arm64"), "r").digest().toString());
        assertEquals(D3, idx.select(Platform.parse("linux/arm/v7"), "r").digest().toString());
        assertEquals(D3, idx.select(Platform.parse("linux/arm"), "r").digest().toString());
        assertEquals(D2, idx.select(Platform.parse("linux/arm/v6"), "r").digest().toString());
        Manifests.Index plainArm64 = index(entry(D1, "linux/arm64"));
        assertEquals(D1, plainArm64.select(Platform.parse("linux/arm64/v8"), "r").digest().toString());
    }

    @Test
    void aMissingPlatformNamesThePlatformsPresent() {
        Manifests.Index idx = index(entry(D1, "linux/arm64/v8"), entry(D2, "windows/amd64"),
                entry(D3, "linux/amd64/v3"));
        SinglepullException e = assertThrows(SinglepullException.class,
                () -> idx.select(Platform.LINUX_AMD64, "reg:5000/team/app:v1"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        for (String present : new String[] {"linux/arm64/v8", "windows/amd64", "linux/amd64/v3",
                "reg:5000/team/app:v1"}) {
            assertTrue(e.getMessage().contains(present), e.getMessage());
        }
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.server.Daemon;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.it.fixture.Platform;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Image records survive a restart; a second process cannot take the same root. */
@Timeout(180)
class RestartPersistenceIT {

    @Test
    void imagesSurviveARestartAndAreNotDownloadedAgain() {
        try (RegistryProcess registry = RegistryProcess.start(); SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/persist", "v1", 400_000, 41));
            try (CriClient cri = server.client()) {
                cri.images().pullImage(Cri.pull(image.reference()));
            }
            server.restart();
            registry.awaitLogQuiet();
            registry.clearLog();
            try (CriClient cri = server.client()) {
                var status = cri.images().imageStatus(Cri.status(image.reference(), false));
                assertTrue(status.hasImage());
                assertEquals(image.configDigest(), status.getImage().getId());
                assertEquals(image.configDigest(), cri.images().pullImage(Cri.pull(image.reference())).getImageRef());
            }
            registry.awaitLogQuiet();
            assertEquals(0, registry.blobGetsTotal());
            assertEquals(0, server.daemon().node().unpacker().unpacksPerformed(), "snapshots survived the restart");
        }
    }

    @Test
    void aSecondServiceOnTheSameRootRefusesToStart() {
        try (SinglepullServer server = SinglepullServer.start()) {
            var e = assertThrows(SinglepullException.class, () -> Daemon.start(
                    server.config().toBuilder().socket(server.root().resolveSibling("other.sock")).build(), "test"));
            assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
    }

    @Test
    void anIndexResolvesToTheAmd64ManifestAndRepoDigestIsTheIndex() {
        ImageSpec spec = ImageSpec.builder("it/multiarch", "v1")
                .addPlatform(Platform.LINUX_ARM64, ImageConfig.defaults(),
                        LayerSpec.gzip(LayerEntry.file("arch", "arm64\n")))
                .addPlatform(Platform.LINUX_AMD64, ImageConfig.defaults(),
                        LayerSpec.gzip(LayerEntry.file("arch", "amd64\n")))
                .build();
        try (RegistryProcess registry = RegistryProcess.start(); SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, spec);
            String amd64Config = image.image().manifest(Platform.LINUX_AMD64).configDigest();
            try (CriClient cri = server.client()) {
                assertEquals(amd64Config, cri.images().pullImage(Cri.pull(image.reference())).getImageRef());
                var status = cri.images().imageStatus(Cri.status(image.reference(), false)).getImage();
                assertEquals(image.hostPort() + "/it/multiarch@" + image.indexDigest(), status.getRepoDigests(0));
            }
        }
    }
}

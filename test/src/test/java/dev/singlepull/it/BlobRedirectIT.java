package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RedirectingFront;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Blob GETs redirected to another host, as registries backed by object storage answer them: followed, with the
 * registry's Authorization header left behind.
 */
@Timeout(120)
class BlobRedirectIT {

    @Test
    void redirectsToStorageAreFollowedWithoutTheRegistrysAuthorization() {
        try (RegistryProcess registry = RegistryProcess.startWithHtpasswd("alice", "s3cret-pass");
             RedirectingFront front = RedirectingFront.start(registry);
             SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, SmallImages.of("team/redirected", "v1", 701));
            try (CriClient cri = server.client()) {
                assertEquals(image.imageId(), cri.images().pullImage(
                        Cri.pull(front.hostPort() + "/team/redirected:v1", "alice", "s3cret-pass")).getImageRef());
            }
            int blobs = image.layerDigests().size() + 1;
            assertEquals(blobs, front.blobGetsWithAuthorization().size(),
                    "the registry's own host got the credentials: " + front.blobGetsWithAuthorization());
            assertEquals(blobs, front.storageRequests().size(), "every blob came from storage");
            for (RedirectingFront.StorageRequest request : front.storageRequests()) {
                assertFalse(request.authorization(), "Authorization sent to " + front.storageHostPort() + request.path());
                assertTrue(request.path().startsWith("/storage/team/redirected/sha256:"), request.path());
            }
        }
    }
}

package dev.singlepull.cri.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.ImageRecord;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.cri.config.RuntimeSettings;
import dev.singlepull.cri.pull.PulledImage;
import dev.singlepull.dedup.FlightListener;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContainerdRegistrationTest {
    @TempDir
    Path dir;

    @Test
    void theTargetsMediaTypeIsTheOneItNamesOrTheOciOneItsShapeSays() {
        assertEquals("application/vnd.docker.distribution.manifest.v2+json", ContainerdRegistration.mediaType(
                "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"layers\":[]}"
                        .getBytes(StandardCharsets.UTF_8)));
        assertEquals("application/vnd.oci.image.index.v1+json",
                ContainerdRegistration.mediaType("{\"manifests\":[]}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("application/vnd.oci.image.manifest.v1+json",
                ContainerdRegistration.mediaType("{\"layers\":[]}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(ErrorKind.DATA_LOSS, assertThrows(SinglepullException.class,
                () -> ContainerdRegistration.mediaType("not json".getBytes(StandardCharsets.UTF_8))).kind());
    }

    @Test
    void anUnreachableContainerdIsUnavailableNamingItsSocket() {
        Path socket = dir.resolve("no-containerd.sock");
        Digest id = Digest.sha256("config".getBytes(StandardCharsets.UTF_8));
        try (MetadataDb db = MetadataDb.open(dir.resolve("meta.db"))) {
            db.images().put(new ImageRecord("example/x:1", id, id, 1,
                    Instant.now(), Instant.now()));
            db.setLabels(id, Map.of("containerd.io/gc.ref.snapshot.singlepull", "sha256:" + "a".repeat(64)));
            db.snapshots().insert(new SnapshotRecord("sha256:" + "a".repeat(64), null,
                    "snapshots/1", 1, 1, Instant.now()));
            try (ContainerdRegistration registration = new ContainerdRegistration(
                    RuntimeSettings.DEFAULTS.withContainerdAddress(socket.toString()), db, d -> {
                        throw new AssertionError("nothing is read before containerd answers");
                    }, FlightListener.NONE)) {
                SinglepullException e = assertThrows(SinglepullException.class, () -> registration.register(
                        new PulledImage(id, id, id, List.of("example/x:1"), 1, List.of())));
                assertEquals(ErrorKind.UNAVAILABLE, e.kind());
                assertTrue(e.getMessage().contains(socket.toString()), e.getMessage());
            }
        }
    }
}

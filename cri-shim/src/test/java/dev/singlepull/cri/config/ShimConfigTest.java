package dev.singlepull.cri.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShimConfigTest {
    @TempDir
    Path dir;

    @Test
    void durabilityAndIngestKeysHaveDefaultsAndAreRead() throws Exception {
        assertEquals(SnapshotSync.SYNCFS, ShimConfig.defaults().snapshotSync());
        assertEquals(Duration.ofHours(24), ShimConfig.defaults().staleIngestAge());
        Path file = Files.writeString(dir.resolve("config.toml"), """
                snapshot_sync = "fsync"
                stale_ingest_seconds = 3600
                """);
        ShimConfig config = ShimConfig.load(file);
        assertEquals(SnapshotSync.FSYNC, config.snapshotSync());
        assertEquals(Duration.ofHours(1), config.staleIngestAge());
    }

    @Test
    void badValuesNameTheFileAndTheKey() throws Exception {
        Path sync = Files.writeString(dir.resolve("sync.toml"), "snapshot_sync = \"sometimes\"\n");
        var e = assertThrows(SinglepullException.class, () -> ShimConfig.load(sync));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("snapshot_sync"), e.getMessage());
        Path age = Files.writeString(dir.resolve("age.toml"), "stale_ingest_seconds = 0\n");
        var e2 = assertThrows(SinglepullException.class, () -> ShimConfig.load(age));
        assertTrue(e2.getMessage().contains("age.toml") && e2.getMessage().contains("stale_ingest_seconds"),
                e2.getMessage());
    }
}

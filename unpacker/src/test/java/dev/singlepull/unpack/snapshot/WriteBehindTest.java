package dev.singlepull.unpack.snapshot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The background writeback runs exactly while staging directories are open. */
class WriteBehindTest {
    @TempDir
    Path dir;

    @Test
    void flushesOnlyWhileAStagingIsOpen() throws Exception {
        assumeTrue(FileSystemSync.isAvailable(), "syncfs is not available here");
        WriteBehind writeBehind = new WriteBehind(dir);
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        assertFalse(writeBehind.active());
        writeBehind.started(a);
        writeBehind.started(b);
        Files.write(dir.resolve("file"), new byte[1 << 20]);
        writeBehind.ended(a);
        assertTrue(writeBehind.active(), "b is still being written");
        writeBehind.ended(b);
        writeBehind.ended(b); // a second end (commit after a failed abort) is harmless
        assertFalse(writeBehind.active());
    }
}

package dev.singlepull.unpack.tar;

import static dev.singlepull.unpack.testing.TarFixtures.tar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class WriteBehindTest {
    @TempDir
    Path dir;

    @Test
    void theApplierReportsEachRegularFileWithItsSizeOnceItIsWritten() throws IOException {
        Map<String, Long> reported = new TreeMap<>();
        WriteBehind recorder = (file, bytes) -> {
            try {
                // reported once written and closed: all of its bytes are there
                assertEquals(bytes, Files.size(file), file + " is complete when reported");
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            reported.put(dir.relativize(file).toString(), bytes);
        };
        byte[] layer = tar()
                .dir("etc", 0755)
                .file("etc/hosts", "127.0.0.1 localhost\n")
                .file("etc/empty", "")
                .symlink("etc/link", "hosts")
                .hardlink("etc/hosts.bak", "etc/hosts")
                .file("bin/tool", "x".repeat(300_000))
                .build();

        new TarApplier(false, recorder).apply(new ByteArrayInputStream(layer), dir, "sha256:l").finish(List.of());

        assertEquals(Map.of("bin/tool", 300_000L, "etc/empty", 0L, "etc/hosts", 20L), reported,
                "regular files only, links and directories are not written with data");
    }

    @Test
    void startingWritebackWorksOnAWrittenFileAndNeverFollowsASymlink() throws IOException {
        Path file = Files.writeString(dir.resolve("f"), "data".repeat(10_000));
        PosixCalls.startWriteback(file); // no error: writeback of its dirty pages has begun

        Path link = Files.createSymbolicLink(dir.resolve("l"), file);
        PosixCalls.Errno loop = assertThrows(PosixCalls.Errno.class, () -> PosixCalls.startWriteback(link));
        assertEquals(40, loop.errno(), "ELOOP: O_NOFOLLOW refuses the link");

        PosixCalls.Errno gone = assertThrows(PosixCalls.Errno.class,
                () -> PosixCalls.startWriteback(dir.resolve("missing")));
        assertEquals(PosixCalls.ENOENT, gone.errno());
    }

    @Test
    @Timeout(10)
    void theSharedWritebackTakesReportsWithoutEverBlockingTheUnpack() {
        WriteBehind shared = WriteBehind.startingWriteback();
        for (int i = 0; i < 100_000; i++) { // more than its queue holds: the rest are dropped, never waited for
            shared.written(dir.resolve("gone-" + i), 1);
        }
        assertEquals(FileWriteback.available() ? FileWriteback.shared() : WriteBehind.NONE, shared);
    }
}

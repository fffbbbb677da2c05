package dev.singlepull.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/** Temp-directory clean-up for the ITs. */
final class TestFiles {
    private TestFiles() {
    }

    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort in a temp dir
                }
            });
        } catch (IOException ignored) {
            // nothing to delete
        }
    }
}

package dev.singlepull.content.local;

import dev.singlepull.content.ContentStore;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Sums a directory tree: bytes of its files, and its entries (files and directories) as inodes. Not instantiable. */
final class DiskUsage {
    private DiskUsage() { }

    /**
     * Usage of everything under {@code dir}, not counting {@code dir} itself; an absent directory uses nothing.
     * Entries removed while walking are skipped.
     */
    static ContentStore.Usage of(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return new ContentStore.Usage(0, 0);
        }
        long[] bytesAndInodes = new long[2];
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (!d.equals(dir)) {
                    bytesAndInodes[1]++;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                bytesAndInodes[0] += attrs.isRegularFile() ? attrs.size() : 0;
                bytesAndInodes[1]++;
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
        return new ContentStore.Usage(bytesAndInodes[0], bytesAndInodes[1]);
    }
}

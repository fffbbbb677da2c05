package dev.singlepull.content.local;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Bytes and count of the committed blobs, kept up to date as blobs are committed and deleted, so that measuring the
 * store's usage (kubelet asks every few seconds) does not walk every blob. Counted once from disk when the store
 * opens. Thread-safe.
 */
final class BlobTotals {
    private long bytes;
    private long count;

    /** Counts the blobs under {@code blobsDir} ({@code <alg>/<hex>} files). */
    static BlobTotals count(Path blobsDir) throws IOException {
        BlobTotals totals = new BlobTotals();
        for (Path algorithmDir : entries(blobsDir)) {
            for (Path file : entries(algorithmDir)) {
                try {
                    BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
                    if (attrs.isRegularFile()) {
                        totals.added(attrs.size());
                    }
                } catch (NoSuchFileException e) {
                    // gone meanwhile
                }
            }
        }
        return totals;
    }

    private static java.util.List<Path> entries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return java.util.List.of();
        }
        java.util.List<Path> out = new java.util.ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(out::add);
        } catch (NoSuchFileException e) {
            return java.util.List.of();
        }
        return out;
    }

    /** A blob of {@code size} bytes was renamed into place. */
    synchronized void added(long size) {
        bytes += size;
        count++;
    }

    /** A blob of {@code size} bytes was deleted. */
    synchronized void removed(long size) {
        bytes -= size;
        count--;
    }

    synchronized long bytes() {
        return bytes;
    }

    synchronized long count() {
        return count;
    }
}

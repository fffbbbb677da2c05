package dev.singlepull.unpack;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.tar.ApplyStats;
import dev.singlepull.unpack.tar.Decompression;
import dev.singlepull.unpack.tar.LayerApplier;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One layer through decompression, DiffID hashing and tar apply. A virtual thread decompresses and hashes the
 * uncompressed bytes into a bounded {@link ChunkPipe}; the calling thread parses the tar and writes files. After the
 * tar's end-of-archive the rest of the stream is drained, so the DiffID covers every byte.
 *
 * <p>A failure on either side stops the other: when the decompressing side fails first, its own exception is thrown
 * (not the tar reader's echo of it); when the applying side fails, the pipe and the compressed source are closed,
 * the decompressing thread is interrupted and awaited.
 */
final class LayerPipeline {
    static final int CHUNK = 256 * 1024;
    static final int DEPTH = 4;
    /** How long a failed run waits for the decompressing thread to notice it should stop. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(30);

    /** What a layer produced: what was written, and the DiffID computed over the uncompressed stream. */
    record Result(ApplyStats stats, Digest diffId) { }

    private LayerPipeline() {
    }

    /**
     * Runs the layer. Does not verify the DiffID (the caller compares it) and does not close {@code compressed} on
     * success (the caller owns it).
     */
    static Result run(InputStream compressed, String mediaType, Path target, String layerName, LayerApplier applier)
            throws IOException {
        var pipe = new ChunkPipe(CHUNK, DEPTH);
        var diffId = new AtomicReference<Digest>();
        Thread producer = Thread.ofVirtual().name("decompress " + layerName)
                .start(() -> produce(compressed, mediaType, layerName, pipe, diffId));
        try (InputStream tar = pipe.reader()) {
            ApplyStats stats = applier.apply(tar, target, layerName);
            tar.transferTo(OutputStream.nullOutputStream());
            join(producer, null);
            return new Result(stats, diffId.get());
        } catch (Throwable t) {
            Throwable first = pipe.failure(); // read before we close anything: later failures are our own echo
            pipe.closeReader();
            closeQuietly(compressed);
            producer.interrupt();
            join(producer, STOP_WAIT);
            if (first != null && first != t) {
                first.addSuppressed(t);
                throw rethrow(first);
            }
            throw rethrow(t);
        }
    }

    private static void produce(InputStream compressed, String mediaType, String layerName, ChunkPipe pipe,
                                AtomicReference<Digest> diffId) {
        try (InputStream decompressed = Decompression.open(mediaType, compressed, layerName)) {
            var in = new DigestInputStream(decompressed, Digest.newSha256());
            while (true) {
                byte[] buffer = pipe.buffer();
                int n = in.readNBytes(buffer, 0, buffer.length);
                if (n > 0 && !pipe.write(buffer, n)) {
                    return; // the applying side left
                }
                if (n < buffer.length) {
                    break;
                }
            }
            diffId.set(Digest.fromHash("sha256", in.getMessageDigest().digest()));
            pipe.finish();
        } catch (Throwable t) {
            pipe.fail(t);
        }
    }

    /** Waits for {@code thread} (at most {@code limit}, if given), keeping the caller's interrupt status. */
    private static void join(Thread thread, Duration limit) {
        boolean interrupted = false;
        while (true) {
            try {
                if (limit == null) {
                    thread.join();
                } else {
                    thread.join(limit);
                }
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException | RuntimeException ignored) {
            // stopping after a failure; the failure is what matters
        }
    }

    /** Rethrows unchecked and IO exceptions as they are; anything else as INTERNAL. */
    private static IOException rethrow(Throwable t) throws IOException {
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error err) {
            throw err;
        }
        throw SinglepullException.internal(String.valueOf(t.getMessage()), t);
    }
}

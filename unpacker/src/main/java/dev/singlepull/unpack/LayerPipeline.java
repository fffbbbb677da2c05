package dev.singlepull.unpack;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.tar.AppliedLayer;
import dev.singlepull.unpack.tar.Decompression;
import dev.singlepull.unpack.tar.GzipDecoder;
import dev.singlepull.unpack.tar.LayerApplier;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One layer through decompression, DiffID hashing and tar apply. A platform thread decompresses and hashes the
 * uncompressed bytes into a bounded {@link ChunkPipe}; the calling thread parses the tar and writes files. After the
 * tar's end-of-archive the rest of the stream is drained, so the DiffID covers every byte.
 *
 * <p>A decompression bomb is stopped on the applying side: once more than {@link UnpackLimits#expansionCheckAbove()}
 * uncompressed bytes have been read, they may not exceed {@link UnpackLimits#maxExpansionRatio()} times the compressed
 * bytes read so far (RESOURCE_EXHAUSTED: a configured limit, which a trusted layer may be allowed past).
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

    /** What a layer produced: the applied (not yet finished) layer, and the DiffID of the uncompressed stream. */
    record Result(AppliedLayer applied, Digest diffId) { }

    private LayerPipeline() {
    }

    /**
     * Runs the layer. Does not verify the DiffID (the caller compares it) and does not close {@code compressed} on
     * success (the caller owns it).
     */
    static Result run(InputStream compressed, String mediaType, Path target, String layerName, LayerApplier applier,
                      UnpackLimits limits) throws IOException {
        return run(compressed, mediaType, target, layerName, applier, limits, CHUNK);
    }

    /** {@link #run} with pipe chunks of {@code chunkBytes} (the buffer-size benchmark sweeps it). */
    static Result run(InputStream compressed, String mediaType, Path target, String layerName, LayerApplier applier,
                      UnpackLimits limits, int chunkBytes) throws IOException {
        var pipe = new ChunkPipe(chunkBytes, DEPTH);
        var diffId = new AtomicReference<Digest>();
        var compressedRead = new AtomicLong();
        // A platform thread: inflating and hashing is CPU work that rarely blocks, and on a virtual thread it would
        // hold a carrier the service's calls need (ListImages answered in hundreds of milliseconds during pulls).
        Thread producer = Thread.ofPlatform().daemon().name("decompress " + layerName)
                .start(() -> produce(new Counting(compressed, compressedRead), mediaType, layerName, limits.gzipDecoder(),
                        pipe, diffId));
        try (InputStream tar = new ExpansionGuard(pipe.reader(), compressedRead, limits)) {
            AppliedLayer applied = applier.apply(tar, target, layerName);
            try {
                tar.transferTo(OutputStream.nullOutputStream());
            } catch (SinglepullException e) {
                throw new SinglepullException(e.kind(), "layer " + layerName + ": after its end-of-archive: "
                        + e.getMessage(), e);
            }
            join(producer, null);
            return new Result(applied, diffId.get());
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

    private static void produce(InputStream compressed, String mediaType, String layerName, GzipDecoder gzip,
                                ChunkPipe pipe, AtomicReference<Digest> diffId) {
        try (InputStream decompressed = Decompression.open(mediaType, compressed, layerName, gzip)) {
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

    /** Counts the compressed bytes read. */
    private static final class Counting extends FilterInputStream {
        private final AtomicLong count;

        Counting(InputStream in, AtomicLong count) {
            super(in);
            this.count = count;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count.incrementAndGet();
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count.addAndGet(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            count.addAndGet(Math.max(0, skipped));
            return skipped;
        }
    }

    /** Stops a stream that expands past the limit (see the class comment). For one thread. */
    private static final class ExpansionGuard extends FilterInputStream {
        private final AtomicLong compressedRead;
        private final int maxRatio;
        private final long checkAbove;
        private long uncompressed;

        ExpansionGuard(InputStream in, AtomicLong compressedRead, UnpackLimits limits) {
            super(in);
            this.compressedRead = compressedRead;
            this.maxRatio = limits.maxExpansionRatio();
            this.checkAbove = limits.expansionCheckAbove();
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                check(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                check(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            if (skipped > 0) {
                check(skipped);
            }
            return skipped;
        }

        private void check(long n) {
            uncompressed += n;
            if (maxRatio > 0 && uncompressed > checkAbove) {
                long compressed = Math.max(1, compressedRead.get());
                if (uncompressed > (long) maxRatio * compressed) {
                    throw new SinglepullException(ErrorKind.RESOURCE_EXHAUSTED, "the layer expands to more than "
                            + maxRatio + " times its compressed size (" + uncompressed + " bytes from " + compressed
                            + " compressed bytes so far): refused as a decompression bomb; the limit is "
                            + "max_layer_expansion_ratio");
                }
            }
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

package dev.singlepull.cri.pull;

import dev.singlepull.content.ContentWriter;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.dedup.FlightContext;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One blob downloaded as parallel HTTP ranges into one writer: the bytes still missing are cut into parts, and
 * {@link ParallelParts#streams()} virtual threads take parts in order, each GETting its range and writing it at its
 * offset ({@link ContentWriter#writeAt}); the writer hashes the prefix in order as parts land. A broken part
 * resumes from the bytes it got, sharing the download's resume budget ({@link ResumeBudget}: parts that break
 * together count once). A server that answers a range with the whole blob ends the parallel attempt: {@link #run}
 * returns false and the caller goes on with one stream from the hashed prefix. For one flight's work; not reusable.
 */
final class RangedDownload {
    record Part(long from, long end) { }

    private final RegistryClient registry;
    private final ImageRef ref;
    private final Descriptor blob;
    private final Credentials credentials;
    private final FlightContext ctx;
    private final ParallelParts policy;
    private final ResumeBudget resumes;
    private final int bufferBytes;
    private final AtomicBoolean rangesIgnored = new AtomicBoolean();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Set<InputStream> open = ConcurrentHashMap.newKeySet();
    private volatile String host = "the registry";

    RangedDownload(RegistryClient registry, ImageRef ref, Descriptor blob, Credentials credentials, FlightContext ctx,
                   ParallelParts policy, int maxResumes, int bufferBytes) {
        this.registry = registry;
        this.ref = ref;
        this.blob = blob;
        this.credentials = credentials;
        this.ctx = ctx;
        this.policy = policy;
        this.resumes = new ResumeBudget(maxResumes);
        this.bufferBytes = bufferBytes;
    }

    /**
     * Fetches every byte from {@code writer.offset()} to the blob's end. True when all are written; false when the
     * server does not serve ranges. Throws the first part's failure (the other parts are stopped).
     */
    boolean run(ContentWriter writer) throws InterruptedException {
        var parts = new ConcurrentLinkedQueue<>(plan(writer.offset(), writer.written(), blob.size(),
                policy.partBytes()));
        ctx.onCancel(this::stop);
        int workers = Math.min(policy.streams(), parts.size());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>(workers);
            for (int i = 0; i < workers; i++) {
                running.add(threads.submit(() -> {
                    for (Part part; !stopped.get() && (part = parts.poll()) != null; ) {
                        fetch(part, writer);
                    }
                    return null;
                }));
            }
            try {
                for (Future<?> f : running) {
                    f.get();
                }
            } catch (ExecutionException e) {
                stop();
                ctx.throwIfCancelled();
                throw e.getCause() instanceof RuntimeException re ? re
                        : SinglepullException.internal("part of blob " + blob.digest() + " failed", e.getCause());
            } catch (InterruptedException e) {
                stop();
                throw e;
            }
        }
        ctx.throwIfCancelled();
        return !rangesIgnored.get();
    }

    /**
     * The parts to fetch: the gaps between {@code offset} and {@code size} that {@code written} (extents already in
     * the ingest, from before a crash or close) leaves, each cut into parts of at most {@code partBytes}.
     */
    static List<Part> plan(long offset, List<ContentWriter.Extent> written, long size, long partBytes) {
        List<Part> parts = new ArrayList<>();
        long at = offset;
        for (ContentWriter.Extent have : written) {
            cut(parts, at, Math.min(have.start(), size), partBytes);
            at = Math.max(at, have.end());
        }
        cut(parts, at, size, partBytes);
        return parts;
    }

    private static void cut(List<Part> parts, long from, long to, long partBytes) {
        for (long at = from; at < to; at += partBytes) {
            parts.add(new Part(at, Math.min(to, at + partBytes)));
        }
    }

    /** The bytes {@link #plan} leaves to fetch. */
    static long missing(long offset, List<ContentWriter.Extent> written, long size) {
        long missing = size - offset;
        for (ContentWriter.Extent have : written) {
            missing -= Math.min(have.end(), size) - Math.min(Math.max(have.start(), offset), size);
        }
        return missing;
    }

    /** The host the parts came from (the last one, should mirrors differ). */
    String host() {
        return host;
    }

    /** Stops every part: no new part starts, and open bodies are closed (an interrupt does not reach a read). */
    private void stop() {
        stopped.set(true);
        for (InputStream in : open) {
            closeQuietly(in);
        }
    }

    private void fetch(Part part, ContentWriter writer) {
        byte[] buffer = new byte[bufferBytes];
        long at = part.from();
        while (at < part.end() && !stopped.get()) {
            RegistryClient.BlobStream stream = registry.openBlobRange(ref, blob, at, part.end(), credentials);
            long opened = System.nanoTime();
            InputStream body = stream.body();
            host = stream.host();
            if (!stream.partial() || stream.offset() != at) {
                // the whole blob instead of the part (even for the part at 0, whose bytes would fit: the other
                // parts are refused the same way, so the blob goes on as one stream)
                closeQuietly(body);
                rangesIgnored.set(true);
                stop();
                return;
            }
            open.add(body);
            try (body) {
                if (stopped.get()) {
                    return;
                }
                while (at < part.end()) {
                    int n = BodyReads.readAvailable(body, buffer, 0,
                            (int) Math.min(buffer.length, part.end() - at));
                    if (n < 0) {
                        throw new IOException("the body ended " + (part.end() - at) + " bytes before the part did");
                    }
                    writer.writeAt(at, ByteBuffer.wrap(buffer, 0, n));
                    at += n;
                    ctx.progress().advance(n);
                }
            } catch (IOException e) {
                ctx.throwIfCancelled();
                if (stopped.get()) {
                    return;
                }
                if (!resumes.resume(opened, System.nanoTime())) {
                    throw new SinglepullException(ErrorKind.UNAVAILABLE, "download of blob " + blob.digest() + " of "
                            + ref + " from " + stream.host() + " broke " + resumes.spent() + " times; the last part "
                            + "broke at byte " + at + " of " + part.from() + "-" + part.end() + ": " + e.getMessage(),
                            e);
                }
            } finally {
                open.remove(body);
            }
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // closing is how a part is stopped
        }
    }
}

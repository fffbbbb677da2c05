package dev.singlepull.cri.pull;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.cri.registry.Descriptor;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.cri.registry.RegistryClient;
import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.FlightContext;
import dev.singlepull.dedup.FlightProgress;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.BlobSource;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;

/**
 * Brings blobs into the content store, once per digest however many pulls ask: every fetch is a flight in the blob
 * table. A blob already committed costs no network. A download resumes from the bytes an earlier, broken download
 * left in its ingest; a stream that breaks during this download is reopened with a range from the bytes written, up
 * to {@code maxResumes} times, and the digest is checked over the whole blob at commit. The registry's download slot
 * and the global download permit are taken inside the flight, in that order, so waiters hold neither and a registry at
 * its limit holds no global permit. Thread-safe.
 */
final class BlobFetcher {
    /** The phase of a blob flight while bytes flow; the stall watchdog judges only this phase. */
    static final String DOWNLOADING = "downloading";
    /**
     * The copy buffer of a download stream. Download speed is flat from 16 KiB to 4 MiB here (CopyBufferBench,
     * docs/BENCHMARKS.md): the HTTP client hands the body over in its own chunks, so a bigger buffer only pins more
     * memory, 24 streams at once when every download slot fetches parallel ranges.
     */
    private static final int COPY_BUFFER = 64 * 1024;

    /** A read of the body failed after {@code written} bytes of the blob were in the ingest. */
    private static final class BrokenStream extends Exception {
        private static final long serialVersionUID = 1L;

        BrokenStream(IOException cause) {
            super(cause);
        }
    }

    /** A blob resumed from an earlier ingest failed its check at commit: the kept bytes may be what was wrong. */
    private static final class ResumedBytesWrong extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient SinglepullException lost;

        ResumedBytesWrong(SinglepullException lost) {
            super(lost);
            this.lost = lost;
        }
    }

    private static final System.Logger LOG = System.getLogger(BlobFetcher.class.getName());

    private final SingleFlight<Digest, ContentInfo> blobs;
    private final ContentStore content;
    private final RegistryClient registry;
    private final Semaphore downloads;
    private final int maxResumes;
    private final ParallelParts parts;
    private final BlobPeers peers;

    BlobFetcher(SingleFlight<Digest, ContentInfo> blobs, ContentStore content, RegistryClient registry,
                int maxConcurrentDownloads, int maxResumes, ParallelParts parts, BlobPeers peers) {
        this.peers = peers;
        this.blobs = blobs;
        this.content = content;
        this.registry = registry;
        this.downloads = new Semaphore(maxConcurrentDownloads, true);
        this.maxResumes = maxResumes;
        this.parts = parts;
    }

    /**
     * Returns once {@code blob} is committed; the blob's flight is shared with every other caller of its digest.
     * {@code shown} receives the progress to display for it: the shared download's, or a finished one when the
     * blob was already committed.
     */
    ContentInfo fetch(ImageRef ref, Descriptor blob, Credentials credentials, Consumer<FlightProgress> shown) {
        Optional<Call<ContentInfo>> call = start(ref, blob, credentials, shown);
        return call.isPresent() ? call.get().await() : content.info(blob.digest()).orElseGet(
                () -> fetch(ref, blob, credentials, shown)); // deleted between the two looks: fetch it after all
    }

    /**
     * Starts or joins the fetch of {@code blob} without waiting for it; empty when the blob is committed already.
     * {@code shown} receives the progress to display, as for {@link #fetch}.
     */
    Optional<Call<ContentInfo>> start(ImageRef ref, Descriptor blob, Credentials credentials,
                                      Consumer<FlightProgress> shown) {
        if (content.info(blob.digest()).isPresent()) {
            shown.accept(FlightProgress.finished("already exists", blob.size()));
            return Optional.empty();
        }
        Call<ContentInfo> call = blobs.join(blob.digest(), ctx -> download(ref, blob, credentials, ctx));
        shown.accept(call.progress());
        return Optional.of(call);
    }

    /**
     * A source reading {@code blob} from its first byte while {@code download} brings it into the store (see
     * {@link dev.singlepull.content.IngestManager#follow}); the stream ends once the blob is verified and committed.
     * Should {@code download} fail, even before its first byte, the stream is stopped with an
     * {@link dev.singlepull.content.IngestFollowException}.
     */
    BlobSource follow(Descriptor blob, Call<ContentInfo> download) {
        return () -> {
            InputStream in = content.follow(ingestRef(blob.digest()), blob.digest());
            download.future().whenComplete((info, failure) -> {
                if (failure != null) {
                    closeQuietly(in);
                }
            });
            return in;
        };
    }

    private static String ingestRef(Digest digest) {
        return "blob-" + digest;
    }

    private ContentInfo download(ImageRef ref, Descriptor blob, Credentials credentials, FlightContext ctx)
            throws InterruptedException {
        var committed = content.info(blob.digest());
        if (committed.isPresent()) {
            return committed.get();
        }
        try (BlobPeers.Claim claim = peers.claim(ref, blob, ingestRef(blob.digest()), ctx)) {
            Optional<ContentInfo> fromPeer = claim.fetched();
            if (fromPeer.isPresent()) {
                return fromPeer.get();
            }
            ContentInfo info = downloadUpstream(ref, blob, credentials, ctx);
            claim.committed(info);
            return info;
        }
    }

    private ContentInfo downloadUpstream(ImageRef ref, Descriptor blob, Credentials credentials, FlightContext ctx)
            throws InterruptedException {
        ctx.progress().phase("waiting for a download slot");
        ctx.progress().total(blob.size());
        RegistryClient.Slot registrySlot = registry.downloadSlot(ref);
        try {
            downloads.acquire();
            try {
                try {
                    return copyIntoStore(ref, blob, credentials, ctx);
                } catch (ResumedBytesWrong e) {
                    // bytes kept from before a crash that lost them (power lost before they reached the disk): the
                    // commit deleted the ingest, so the blob is fetched anew, once
                    LOG.log(System.Logger.Level.WARNING, e.lost.getMessage() + "; fetching it anew");
                    try {
                        return copyIntoStore(ref, blob, credentials, ctx);
                    } catch (ResumedBytesWrong again) {
                        throw again.lost;
                    }
                }
            } finally {
                downloads.release();
            }
        } finally {
            registrySlot.close();
        }
    }

    private ContentInfo copyIntoStore(ImageRef ref, Descriptor blob, Credentials credentials, FlightContext ctx)
            throws InterruptedException {
        String ingest = ingestRef(blob.digest());
        ContentWriter writer = content.writer(ingest, blob.digest(), blob.size());
        List<ContentWriter.Extent> kept = writer.written();
        boolean resumed = writer.offset() > 0 || !kept.isEmpty();
        try {
            String host = "the store";
            // parts kept from before a crash or close are resumed as ranges too: a stream in order would fetch them again
            if (!kept.isEmpty() || parts.appliesTo(RangedDownload.missing(writer.offset(), kept, blob.size()))) {
                ctx.progress().phase(DOWNLOADING);
                ctx.progress().done(writer.offset());
                var ranged = new RangedDownload(registry, ref, blob, credentials, ctx, parts, maxResumes, COPY_BUFFER);
                boolean complete = ranged.run(writer);
                host = ranged.host();
                if (!complete) {
                    // the server sends whole blobs only: reopen at the hashed prefix and go on as one stream
                    writer.close();
                    writer = content.writer(ingest, blob.digest(), blob.size());
                }
            }
            int resumes = 0;
            while (writer.offset() < blob.size()) {
                long offset = writer.offset();
                RegistryClient.BlobStream stream = registry.openBlob(ref, blob, offset, credentials);
                host = stream.host();
                if (stream.offset() != offset) {
                    // the server ignored the range: start the ingest over
                    writer.close();
                    content.abort(ingest);
                    writer = content.writer(ingest, blob.digest(), blob.size());
                }
                ctx.progress().phase(DOWNLOADING);
                ctx.progress().done(stream.offset());
                try {
                    copy(stream.body(), writer, blob, ctx);
                    break; // the body ended: commit judges whether it was all of the blob
                } catch (BrokenStream e) {
                    ctx.throwIfCancelled();
                    if (resumes++ >= maxResumes) {
                        throw new SinglepullException(ErrorKind.UNAVAILABLE, "download of blob " + blob.digest()
                                + " of " + ref + " from " + stream.host() + " broke after " + writer.offset() + " of "
                                + blob.size() + " bytes, " + resumes + " times: " + e.getCause().getMessage(), e);
                    }
                }
            }
            ctx.progress().phase("verifying");
            ContentInfo info;
            try {
                info = writer.commit();
            } catch (SinglepullException e) {
                if (e.kind() != ErrorKind.DATA_LOSS) {
                    throw e;
                }
                var lost = new SinglepullException(ErrorKind.DATA_LOSS, "blob " + blob.digest() + " of " + ref
                        + " downloaded from " + host + ": " + e.getMessage(), e);
                throw resumed ? new ResumedBytesWrong(lost) : lost;
            }
            ctx.progress().phase("downloaded");
            return info;
        } finally {
            writer.close();
        }
    }

    private static void copy(InputStream body, ContentWriter writer, Descriptor blob, FlightContext ctx)
            throws BrokenStream {
        ctx.onCancel(() -> closeQuietly(body)); // an interrupt does not reach a blocked socket read
        byte[] buffer = new byte[COPY_BUFFER];
        long written = writer.offset();
        try (body) {
            int n;
            while ((n = BodyReads.readAvailable(body, buffer, 0, buffer.length)) >= 0) {
                written += n;
                if (written > blob.size()) {
                    throw SinglepullException.dataLoss("blob " + blob.digest() + " is larger than the "
                            + blob.size() + " bytes its descriptor promised");
                }
                writer.write(ByteBuffer.wrap(buffer, 0, n));
                ctx.progress().advance(n);
            }
        } catch (IOException e) {
            ctx.throwIfCancelled();
            throw new BrokenStream(e);
        }
        ctx.throwIfCancelled();
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // closing is how we abort the read
        }
    }
}

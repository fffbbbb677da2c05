package dev.singlepull.content.local;

import dev.singlepull.content.Digest;
import dev.singlepull.content.IngestFollowException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.function.Function;

/**
 * Reads a blob from its first byte while an ingest writes it: the bytes a writer has written are read from the
 * ingest's data file (from the page cache, just after the writer put them there), and the stream waits for more.
 * It ends only after a writer committed the blob, so the bytes it returned are the verified blob's. When no writer
 * is live yet it waits for one, looking at the committed blobs meanwhile; a blob committed already is read from the
 * store.
 *
 * <p>Fails with {@link IngestFollowException} when the writer it followed ends without committing or when it is
 * closed from another thread (how a caller stops a follower whose download failed before it began); with
 * {@link InterruptedIOException} when its thread is interrupted. One reader thread; {@link #close} from any thread.
 */
final class IngestFollower extends InputStream {
    private final IngestWatch watch;
    private final String ref;
    private final Digest expected;
    private final Function<Digest, InputStream> openCommitted;
    private volatile boolean closed;
    private IngestWatch.Live following;
    private FileChannel channel;
    private InputStream committed;
    private long position;

    /** {@code openCommitted} opens a committed blob, or returns null when it is not committed. */
    IngestFollower(IngestWatch watch, String ref, Digest expected, Function<Digest, InputStream> openCommitted) {
        this.watch = watch;
        this.ref = ref;
        this.expected = expected;
        this.openCommitted = openCommitted;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (true) {
            if (committed != null) {
                return readCommitted(b, off, len);
            }
            IngestWatch.Step step;
            try {
                step = watch.await(ref, following, position, () -> closed);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted following ingest '" + ref + "'");
            }
            switch (step) {
                case IngestWatch.Step.Read read -> {
                    if (following == null && !startFollowing(read.live())) {
                        continue;
                    }
                    int want = (int) Math.min(len, read.upTo() - position);
                    int n = channel.read(ByteBuffer.wrap(b, off, want), position);
                    if (n > 0) {
                        position += n;
                        return n;
                    }
                    throw new IngestFollowException("ingest '" + ref + "' holds fewer bytes than its writer wrote");
                }
                case IngestWatch.Step.Committed c -> switchToCommitted(true);
                case IngestWatch.Step.NoWriter n -> switchToCommitted(false);
                case IngestWatch.Step.Abandoned a -> throw new IngestFollowException("the download of " + expected
                        + " into ingest '" + ref + "' stopped after " + position + " bytes were read");
                case IngestWatch.Step.Closed c -> throw new IngestFollowException("following ingest '" + ref
                        + "' was stopped");
            }
        }
    }

    /** Opens the data file of the writer now followed; false if it is gone already (the loop looks again). */
    private boolean startFollowing(IngestWatch.Live live) throws IOException {
        try {
            channel = FileChannel.open(live.data(), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            return false; // committed or abandoned between the writer's report and this open
        }
        following = live;
        return true;
    }

    /**
     * Continues from the committed blob if there is one: required after the writer followed committed, a mere look
     * while no writer is live.
     */
    private void switchToCommitted(boolean required) throws IOException {
        InputStream in = openCommitted.apply(expected);
        if (in == null) {
            if (required) {
                throw new IngestFollowException("blob " + expected + " was committed by ingest '" + ref
                        + "' and deleted before it was read");
            }
            return;
        }
        in.skipNBytes(position);
        committed = in;
        closeChannel();
    }

    private int readCommitted(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IngestFollowException("following ingest '" + ref + "' was stopped");
        }
        int n = committed.read(b, off, len);
        if (n > 0) {
            position += n;
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        watch.wake();
        closeChannel();
        InputStream in = committed;
        if (in != null) {
            in.close();
        }
    }

    private void closeChannel() throws IOException {
        FileChannel c = channel;
        if (c != null) {
            c.close();
        }
    }
}

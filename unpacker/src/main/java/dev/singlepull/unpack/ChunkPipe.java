package dev.singlepull.unpack;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded pipe of byte chunks between one writer thread and one reader thread. The writer blocks while
 * {@code depth} chunks are waiting; the reader blocks while none is. Chunk buffers are recycled, so a pipe holds at
 * most {@code depth + 2} buffers. The writer ends with {@link #finish} or {@link #fail}; the reader may leave early
 * with {@link #closeReader}, after which writes are refused, so neither side can be left blocked. Thread-safe.
 */
final class ChunkPipe {
    private final int chunkSize;
    private final int depth;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition notFull = lock.newCondition();
    private final Condition notEmpty = lock.newCondition();
    // guarded by lock
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    private final ArrayDeque<byte[]> free = new ArrayDeque<>();
    private boolean finished;
    private Throwable failure;
    private boolean readerClosed;

    ChunkPipe(int chunkSize, int depth) {
        this.chunkSize = chunkSize;
        this.depth = depth;
    }

    /** A buffer for the writer to fill: a recycled one if any. */
    byte[] buffer() {
        lock.lock();
        try {
            byte[] b = free.poll();
            return b != null ? b : new byte[chunkSize];
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands {@code length} bytes of {@code data} to the reader, waiting while the pipe is full. The buffer now belongs
     * to the pipe. Returns false if the reader has left: the writer should stop.
     */
    boolean write(byte[] data, int length) throws InterruptedException {
        lock.lock();
        try {
            while (chunks.size() >= depth && !readerClosed) {
                notFull.await();
            }
            if (readerClosed) {
                return false;
            }
            chunks.add(new Chunk(data, length));
            notEmpty.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The writer is done: the reader sees end of stream after the chunks already written. */
    void finish() {
        lock.lock();
        try {
            finished = true;
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The writer failed: the reader's next read fails at once (chunks not yet read are dropped). */
    void fail(Throwable cause) {
        lock.lock();
        try {
            if (!finished && failure == null) {
                failure = cause;
            }
            chunks.clear();
            notEmpty.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The reader leaves: pending and future writes are refused. Idempotent. */
    void closeReader() {
        lock.lock();
        try {
            readerClosed = true;
            chunks.clear();
            free.clear();
            notFull.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The writer's failure, if it failed. */
    Throwable failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** The reading end. Closing it closes the reader side. For one thread. */
    InputStream reader() {
        return new Reader();
    }

    /** The next chunk, or null at the end of the stream; recycles {@code done}. */
    private Chunk take(byte[] done) throws IOException {
        lock.lock();
        try {
            if (done != null && !readerClosed && free.size() < 2) {
                free.add(done);
            }
            while (chunks.isEmpty() && !finished && failure == null && !readerClosed) {
                notEmpty.await();
            }
            if (failure != null) {
                throw new IOException("the decompressing side failed: " + failure.getMessage(), failure);
            }
            if (readerClosed) {
                throw new IOException("pipe closed");
            }
            Chunk c = chunks.poll();
            if (c != null) {
                notFull.signal();
            }
            return c;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while unpacking", e);
        } finally {
            lock.unlock();
        }
    }

    private record Chunk(byte[] data, int length) { }

    private final class Reader extends InputStream {
        private Chunk current;
        private int position;
        private boolean eof;

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
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, current.length() - position);
            System.arraycopy(current.data(), position, b, off, n);
            position += n;
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            if (n <= 0 || !fill()) {
                return 0;
            }
            int skipped = (int) Math.min(n, current.length() - position);
            position += skipped;
            return skipped;
        }

        /** Makes bytes available in {@code current}; false at end of stream. */
        private boolean fill() throws IOException {
            if (eof) {
                return false;
            }
            if (current == null || position == current.length()) {
                current = take(current == null ? null : current.data());
                position = 0;
                if (current == null) {
                    eof = true;
                    return false;
                }
            }
            return true;
        }

        @Override
        public void close() {
            closeReader();
        }
    }
}

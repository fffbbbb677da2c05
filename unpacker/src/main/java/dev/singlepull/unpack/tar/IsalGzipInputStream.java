package dev.singlepull.unpack.tar;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32;
import java.util.zip.ZipException;

/**
 * A gzip stream decompressed by ISA-L ({@link IsalInflate}), with the behaviour of {@link java.util.zip.GZIPInputStream}:
 * member headers are read here (every optional field, the header CRC checked), ISA-L inflates the deflate data and
 * checks every member's CRC-32 and length, concatenated members are read as one stream, and bytes after a member that
 * do not start a gzip header are ignored. Compressed bytes go through one native input buffer and
 * decompressed bytes through one native output buffer; both, and the inflate state, are freed on {@link #close}.
 *
 * <p>Corrupt data fails a read with an {@link IsalInflate.IsalException}, a stream that ends inside a member with an
 * {@link EOFException}; a failure of the source is thrown as it is. For one reading thread; {@link #close} from any.
 */
final class IsalGzipInputStream extends InputStream {
    static final int DEFAULT_BUFFER = 256 * 1024;
    private static final int FHCRC = 0x02;
    private static final int FEXTRA = 0x04;
    private static final int FNAME = 0x08;
    private static final int FCOMMENT = 0x10;

    private final InputStream source;
    private final Arena arena = Arena.ofShared();
    private final IsalInflate.State state;
    private final MemorySegment in;
    private final MemorySegment out;
    private final byte[] transfer;
    /** Unread decompressed bytes are {@code out[outPos, outLimit)}. */
    private int outPos;
    private int outLimit;
    /** Whether a member's header was read and its deflate data is not finished. */
    private boolean inMember;
    private boolean firstMember = true;
    private final CRC32 headerCrc = new CRC32();
    private boolean finished;
    private final AtomicBoolean closed = new AtomicBoolean();

    IsalGzipInputStream(IsalInflate isal, InputStream source) {
        this(isal, source, DEFAULT_BUFFER, DEFAULT_BUFFER);
    }

    IsalGzipInputStream(IsalInflate isal, InputStream source, int inBytes, int outBytes) {
        if (inBytes < 2 || outBytes < 1) {
            throw new IllegalArgumentException("buffers of at least 2 input and 1 output bytes are needed, not "
                    + inBytes + " and " + outBytes);
        }
        this.source = source;
        try {
            this.state = isal.newState(arena);
            this.in = arena.allocate(inBytes, 64);
            this.out = arena.allocate(outBytes, 64);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.transfer = new byte[inBytes];
        state.input(in, 0);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed.get()) {
            throw new IOException("stream closed");
        }
        if (len == 0) {
            return 0;
        }
        while (outPos == outLimit) {
            if (!fill()) {
                return -1;
            }
        }
        int n = Math.min(len, outLimit - outPos);
        MemorySegment.copy(out, JAVA_BYTE, outPos, b, off, n);
        outPos += n;
        return n;
    }

    /** Decompresses more into {@code out}; false at the end of the last member. */
    private boolean fill() throws IOException {
        if (finished) {
            return false;
        }
        int idle = 0;
        while (true) {
            if (!inMember && !beginMember()) {
                finished = true;
                return false;
            }
            if (state.availIn() == 0 && !refill()) {
                throw new EOFException("unexpected end of gzip stream");
            }
            int produced = state.inflate(out);
            if (state.memberFinished()) {
                inMember = false;
            }
            if (produced > 0) {
                outPos = 0;
                outLimit = produced;
                return true;
            }
            // nothing written: the input was used up (refilled above next time) or the member just ended
            if (inMember && state.availIn() > 0 && ++idle > 2) {
                throw new IOException("ISA-L inflate makes no progress with " + state.availIn()
                        + " bytes of input left");
            }
        }
    }

    /**
     * Reads the header of the next member and readies the state for its deflate data. False when there is no next
     * member: the input ended after a member, or what follows a member is not a gzip header (ignored, as
     * java.util.zip ignores it). A bad or missing first header is an error.
     */
    private boolean beginMember() throws IOException {
        boolean first = firstMember;
        firstMember = false;
        if (!first && !ensureInput(1)) {
            return false;
        }
        try {
            readHeader();
        } catch (ZipException | EOFException e) {
            if (first) {
                throw e;
            }
            return false;
        }
        state.nextMember();
        inMember = true;
        return true;
    }

    /** Reads a gzip member header (RFC 1952): magic, method, flags, and the optional fields the flags announce. */
    private void readHeader() throws IOException {
        headerCrc.reset();
        if (headerByte() != 0x1f || headerByte() != 0x8b) {
            throw new ZipException("not in gzip format");
        }
        if (headerByte() != 8) {
            throw new ZipException("unsupported gzip compression method");
        }
        int flags = headerByte();
        for (int i = 0; i < 6; i++) {
            headerByte(); // MTIME, XFL, OS
        }
        if ((flags & FEXTRA) != 0) {
            int length = headerByte() | headerByte() << 8;
            for (int i = 0; i < length; i++) {
                headerByte();
            }
        }
        if ((flags & FNAME) != 0) {
            while (headerByte() != 0) {
                // the file name, up to its NUL
            }
        }
        if ((flags & FCOMMENT) != 0) {
            while (headerByte() != 0) {
                // the comment, up to its NUL
            }
        }
        if ((flags & FHCRC) != 0) {
            int expected = (int) headerCrc.getValue() & 0xffff;
            int actual = headerByte() | headerByte() << 8;
            if (actual != expected) {
                throw new ZipException("corrupt gzip header (header CRC)");
            }
        }
    }

    /** One byte of a member header, taken from the input, counted into the header CRC. */
    private int headerByte() throws IOException {
        if (!ensureInput(1)) {
            throw new EOFException("unexpected end of gzip header");
        }
        long at = state.nextInAddress() - in.address();
        int b = in.get(JAVA_BYTE, at) & 0xff;
        state.skip(1);
        headerCrc.update(b);
        return b;
    }

    /** Whether at least {@code n} unread input bytes are in {@code in}, reading more as needed. */
    private boolean ensureInput(int n) throws IOException {
        while (state.availIn() < n) {
            if (!refill()) {
                return false;
            }
        }
        return true;
    }

    /** Moves the unread input to the front of {@code in} and reads more behind it; false at the source's end. */
    private boolean refill() throws IOException {
        int left = state.availIn();
        long at = state.nextInAddress() - in.address();
        if (left > 0 && at != 0) {
            MemorySegment.copy(in, at, in, 0, left);
        }
        int room = (int) in.byteSize() - left;
        if (room == 0) {
            throw new IOException("gzip input buffer full without progress");
        }
        int n = source.read(transfer, 0, room);
        if (n < 0) {
            state.input(in, left);
            return false;
        }
        MemorySegment.copy(transfer, 0, in, JAVA_BYTE, left, n);
        state.input(in, left + n);
        return true;
    }

    /**
     * Closes the source first, without waiting for a read in progress (closing the source is what ends a read
     * blocked on it), then frees the native memory once no read is using it.
     */
    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return; // closed already, or closing on another thread
        }
        try {
            source.close();
        } finally {
            synchronized (this) {
                arena.close();
            }
        }
    }
}

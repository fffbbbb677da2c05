package dev.singlepull.unpack.tar;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;

/**
 * Intel's ISA-L streaming inflate ({@code isal_inflate} in {@code libisal.so.2}, Debian's {@code libisal2}), bound
 * through the Foreign Function &amp; Memory API: about twice as fast as {@code java.util.zip} on layer data here
 * (docs/BENCHMARKS.md, "gzip decompressors").
 *
 * <p>{@code struct inflate_state} is not opaque: the caller allocates it and sets its fields. The offsets below are
 * those of ISA-L 2.30 (the release Debian 12 ships), read off its header with {@code offsetof}. The stream fields
 * at the start of the struct have not moved across releases; the two further in ({@code block_state},
 * {@code crc_flag}) could. So the binding is used only after a self-test on this process's library has passed:
 * multi-block streams through small buffers, the end of a member seen exactly at its end, a wrong CRC and a wrong
 * length refused. A library that fails it is not used, and {@link #unavailableReason()} says why. Thread-safe;
 * each {@link State} is for one stream.
 */
final class IsalInflate {
    /** {@code sizeof(struct inflate_state)} in ISA-L 2.30. */
    static final long STATE_BYTES = 87_368;
    /** Allocated per state: room for a later release whose struct grew a little. */
    private static final long STATE_ALLOCATED = 128 * 1024;
    private static final long NEXT_OUT = 0;
    private static final long AVAIL_OUT = 8;
    private static final long NEXT_IN = 16;
    private static final long AVAIL_IN = 32;
    private static final long BLOCK_STATE = 21_160;
    private static final long CRC_FLAG = 21_172;

    /**
     * {@code crc_flag}: raw deflate data followed by a gzip trailer, whose CRC-32 and length ISA-L checks. The gzip
     * header is parsed by {@link IsalGzipInputStream} (ISA-L's own header parser refused valid headers with optional
     * fields here).
     */
    private static final int ISAL_GZIP_NO_HDR_VER = 6;
    /** {@code block_state} once a member is decompressed and flushed. */
    private static final int ISAL_BLOCK_FINISH = 5;

    private static final Optional<IsalInflate> LOADED;
    private static final String UNAVAILABLE;

    static {
        IsalInflate loaded = null;
        String reason = null;
        try {
            loaded = new IsalInflate(SymbolLookup.libraryLookup("libisal.so.2", Arena.global()));
            reason = loaded.selfTest();
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            reason = "libisal.so.2 cannot be loaded (Debian package libisal2): " + e.getMessage();
        } catch (IllegalCallerException e) {
            reason = "native access is not enabled for this code (--enable-native-access): " + e.getMessage();
        }
        LOADED = reason == null ? Optional.of(loaded) : Optional.empty();
        UNAVAILABLE = reason;
    }

    private final MethodHandle init;
    private final MethodHandle reset;
    private final MethodHandle inflate;

    private IsalInflate(SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        this.init = linker.downcallHandle(find(lib, "isal_inflate_init"), FunctionDescriptor.ofVoid(ADDRESS));
        this.reset = linker.downcallHandle(find(lib, "isal_inflate_reset"), FunctionDescriptor.ofVoid(ADDRESS));
        this.inflate = linker.downcallHandle(find(lib, "isal_inflate"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("libisal.so.2 has no " + name));
    }

    /** The binding, if the library is present and passed the self-test. */
    static Optional<IsalInflate> loaded() {
        return LOADED;
    }

    /** Why the binding is not used, or null when it is. */
    static String unavailableReason() {
        return UNAVAILABLE;
    }

    /** A fresh inflate state in {@code arena}, set up for the deflate data and trailer of a gzip member. */
    State newState(Arena arena) {
        MemorySegment s = arena.allocate(STATE_ALLOCATED, 64);
        State state = new State(s);
        try {
            init.invokeExact(s);
        } catch (Throwable t) {
            throw new IllegalStateException("isal_inflate_init failed", t);
        }
        s.set(JAVA_INT, CRC_FLAG, ISAL_GZIP_NO_HDR_VER);
        return state;
    }

    /** One stream's {@code struct inflate_state}. For one thread at a time. */
    final class State {
        private final MemorySegment s;

        private State(MemorySegment s) {
            this.s = s;
        }

        /** Ready for the deflate data of the next gzip member; the unread input stays where it is. */
        void nextMember() {
            MemorySegment in = s.get(ADDRESS, NEXT_IN);
            int avail = availIn();
            try {
                reset.invokeExact(s);
            } catch (Throwable t) {
                throw new IllegalStateException("isal_inflate_reset failed", t);
            }
            s.set(JAVA_INT, CRC_FLAG, ISAL_GZIP_NO_HDR_VER);
            s.set(ADDRESS, NEXT_IN, in);
            s.set(JAVA_INT, AVAIL_IN, avail);
        }

        void input(MemorySegment from, int length) {
            s.set(ADDRESS, NEXT_IN, from);
            s.set(JAVA_INT, AVAIL_IN, length);
        }

        /** Marks {@code n} input bytes as read (the gzip header, read by the caller). */
        void skip(int n) {
            MemorySegment in = s.get(ADDRESS, NEXT_IN);
            s.set(ADDRESS, NEXT_IN, MemorySegment.ofAddress(in.address() + n));
            s.set(JAVA_INT, AVAIL_IN, availIn() - n);
        }

        int availIn() {
            return s.get(JAVA_INT, AVAIL_IN);
        }

        /** Where the unread input starts. */
        long nextInAddress() {
            return s.get(ADDRESS, NEXT_IN).address();
        }

        /** Inflates into {@code out}; returns the bytes written, or throws for corrupt data (the ISA-L code). */
        int inflate(MemorySegment out) throws IsalException {
            int room = (int) out.byteSize();
            s.set(ADDRESS, NEXT_OUT, out);
            s.set(JAVA_INT, AVAIL_OUT, room);
            int rc;
            try {
                rc = (int) inflate.invokeExact(s);
            } catch (Throwable t) {
                throw new IllegalStateException("isal_inflate failed", t);
            }
            if (rc < 0) {
                throw new IsalException(rc);
            }
            return room - s.get(JAVA_INT, AVAIL_OUT);
        }

        /** Whether the current member is decompressed, its trailer checked and all of it written out. */
        boolean memberFinished() {
            return s.get(JAVA_INT, BLOCK_STATE) == ISAL_BLOCK_FINISH;
        }
    }

    /** Corrupt data, as ISA-L reported it. */
    static final class IsalException extends IOException {
        private static final long serialVersionUID = 1L;
        private final int code;

        IsalException(int code) {
            super(describe(code));
            this.code = code;
        }

        int code() {
            return code;
        }

        private static String describe(int code) {
            return switch (code) {
                case -1 -> "invalid deflate block";
                case -2 -> "invalid deflate symbol";
                case -3 -> "invalid lookback distance";
                case -6 -> "incorrect checksum (CRC-32 or length of the gzip trailer)";
                default -> "ISA-L inflate error " + code;
            };
        }
    }

    /** Null when the binding decompresses known streams correctly; otherwise what went wrong. */
    private String selfTest() {
        byte[] data = sample();
        byte[] gz = gzip(data);
        try {
            byte[] out = readAll(gz, 1000, 777);
            if (!Arrays.equals(data, out)) {
                return "ISA-L self-test: the output differs from the input (an ISA-L release whose inflate_state "
                        + "layout this binding does not know?)";
            }
            byte[] badCrc = gz.clone();
            badCrc[badCrc.length - 8] ^= 1;
            byte[] badLength = gz.clone();
            badLength[badLength.length - 1] ^= 1;
            for (byte[] bad : new byte[][] {badCrc, badLength}) {
                try {
                    readAll(bad, 4096, 4096);
                    return "ISA-L self-test: a corrupt gzip trailer was not refused";
                } catch (IsalException expected) {
                    // refused, as it must be
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "ISA-L self-test failed: " + e;
        }
    }

    private byte[] readAll(byte[] gz, int inChunk, int outChunk) throws IOException {
        try (InputStream in = new IsalGzipInputStream(this, new ByteArrayInputStream(gz), inChunk, outChunk)) {
            return in.readAllBytes();
        }
    }

    /** Text and random bytes: stored, fixed and dynamic blocks, and lookbacks across buffer ends. */
    private static byte[] sample() {
        var out = new ByteArrayOutputStream();
        var rnd = new java.util.Random(42);
        for (int i = 0; i < 400; i++) {
            out.writeBytes(("line " + i + " of the ISA-L self-test, " + rnd.nextInt(50) + "\n").getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII));
        }
        byte[] noise = new byte[70_000];
        rnd.nextBytes(noise);
        out.writeBytes(noise);
        out.writeBytes(new byte[50_000]);
        return out.toByteArray();
    }

    private static byte[] gzip(byte[] data) {
        var out = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }
}

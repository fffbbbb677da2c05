package dev.singlepull.unpack.tar;

import static dev.singlepull.unpack.testing.TarFixtures.OCI_GZIP;
import static dev.singlepull.unpack.testing.TarFixtures.gzip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The ISA-L gzip stream against java.util.zip: the same bytes out, the same streams refused. */
class IsalGzipInputStreamTest {
    private static IsalInflate isal;

    @BeforeAll
    static void load() {
        assumeTrue(IsalInflate.loaded().isPresent(), "ISA-L not usable here: " + IsalInflate.unavailableReason());
        isal = IsalInflate.loaded().orElseThrow();
    }

    private static byte[] mixed(int size, long seed) {
        var rnd = new Random(seed);
        var out = new ByteArrayOutputStream(size);
        while (out.size() < size) {
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    byte[] noise = new byte[rnd.nextInt(20_000)];
                    rnd.nextBytes(noise);
                    out.writeBytes(noise);
                }
                case 1 -> out.writeBytes(new byte[rnd.nextInt(40_000)]);
                default -> {
                    for (int i = rnd.nextInt(500); i > 0; i--) {
                        out.writeBytes(("func f" + rnd.nextInt(1000) + "() { return x }\n")
                                .getBytes(StandardCharsets.US_ASCII));
                    }
                }
            }
        }
        return Arrays.copyOf(out.toByteArray(), size);
    }

    private static byte[] isal(byte[] gz, int in, int out) throws IOException {
        try (InputStream s = new IsalGzipInputStream(isal, new ByteArrayInputStream(gz), in, out)) {
            return s.readAllBytes();
        }
    }

    private static byte[] jdk(byte[] gz) throws IOException {
        try (InputStream s = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return s.readAllBytes();
        }
    }

    @ParameterizedTest
    @CsvSource({"2, 1", "17, 4096", "4096, 13", "65536, 65536", "262144, 262144"})
    void theSameBytesAsJavaUtilZipWhateverTheBufferSizes(int in, int out) throws IOException {
        byte[] data = mixed(in < 100 || out < 100 ? 300_000 : 3_000_000, in * 31L + out);
        byte[] gz = gzip(data);
        assertArrayEquals(data, isal(gz, in, out));
        assertArrayEquals(jdk(gz), isal(gz, in, out));
    }

    @Test
    void everyCompressionLevel() throws IOException {
        byte[] data = mixed(500_000, 3);
        for (int level = 0; level <= 9; level++) {
            assertArrayEquals(data, isal(gzipAtLevel(data, level), 8192, 8192), "level " + level);
        }
    }

    @Test
    void anEmptyMember() throws IOException {
        assertEquals(0, isal(gzip(new byte[0]), 4096, 4096).length);
    }

    @Test
    void concatenatedMembersAreOneStream() throws IOException {
        byte[] a = mixed(200_000, 4);
        byte[] b = mixed(100_000, 5);
        byte[] gz = concat(gzip(a), gzip(new byte[0]), gzip(b));
        byte[] expected = concat(a, b);
        assertArrayEquals(expected, jdk(gz));
        assertArrayEquals(expected, isal(gz, 1000, 1000));
        assertArrayEquals(expected, isal(gz, 2, 65536)); // headers arrive in pieces
    }

    @Test
    void bytesAfterTheLastMemberThatAreNotGzipAreIgnoredAsJavaUtilZipDoes() throws IOException {
        byte[] data = mixed(100_000, 6);
        byte[] gz = concat(gzip(data), new byte[] {0, 0, 0, 0, 0, 0, 0, 0});
        assertArrayEquals(data, jdk(gz));
        assertArrayEquals(data, isal(gz, 4096, 4096));
        byte[] badSecondHeader = concat(gzip(data), new byte[] {0x1f, (byte) 0x8b, 7, 0, 0, 0, 0, 0, 0, 0});
        assertArrayEquals(data, jdk(badSecondHeader));
        assertArrayEquals(data, isal(badSecondHeader, 4096, 4096));
    }

    @Test
    void headerFieldsAreSkipped() throws IOException {
        byte[] data = mixed(50_000, 7);
        byte[] gz = gzipWithHeaderFields(data);
        assertArrayEquals(data, jdk(gz));
        assertArrayEquals(data, isal(gz, 4096, 4096));
        assertArrayEquals(data, isal(gz, 5, 4096));
    }

    @Test
    void aWrongCrcOrLengthIsRefused() {
        byte[] gz = gzip(mixed(80_000, 8));
        byte[] badCrc = gz.clone();
        badCrc[gz.length - 6] ^= 0x40;
        byte[] badLength = gz.clone();
        badLength[gz.length - 3] ^= 0x01;
        for (byte[] bad : new byte[][] {badCrc, badLength}) {
            assertThrows(IOException.class, () -> jdk(bad));
            var e = assertThrows(IsalInflate.IsalException.class, () -> isal(bad, 4096, 4096));
            assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        }
    }

    @Test
    void corruptDataIsRefused() {
        byte[] gz = gzip(mixed(300_000, 9));
        int refused = 0;
        var rnd = new Random(10);
        for (int i = 0; i < 50; i++) {
            byte[] bad = gz.clone();
            int at = 10 + rnd.nextInt(gz.length - 20);
            bad[at] ^= (byte) (1 << rnd.nextInt(8));
            boolean jdkRefuses = refuses(() -> jdk(bad));
            boolean isalRefuses = refuses(() -> isal(bad, 8192, 8192));
            assertEquals(jdkRefuses, isalRefuses, "flip at byte " + at);
            refused += isalRefuses ? 1 : 0;
        }
        assertEquals(50, refused, "every flipped bit is caught by the data, the CRC or the length");
    }

    @Test
    void aStreamCutShortIsAnEndOfFile() {
        byte[] gz = gzip(mixed(200_000, 11));
        for (int keep : new int[] {0, 5, 10, gz.length / 2, gz.length - 8, gz.length - 1}) {
            byte[] cut = Arrays.copyOf(gz, keep);
            assertThrows(EOFException.class, () -> isal(cut, 4096, 4096), "kept " + keep);
        }
    }

    @Test
    void throughDecompressionCorruptDataIsDataLossAndTheDecodersAgree() throws IOException {
        byte[] data = mixed(400_000, 12);
        byte[] gz = gzip(data);
        for (GzipDecoder decoder : new GzipDecoder[] {GzipDecoder.JDK, GzipDecoder.ISAL, GzipDecoder.AUTO}) {
            try (InputStream in = Decompression.open(OCI_GZIP, new ByteArrayInputStream(gz), "l",
                    decoder)) {
                assertArrayEquals(data, in.readAllBytes(), decoder.name());
            }
            byte[] cut = Arrays.copyOf(gz, gz.length / 2);
            var e = assertThrows(SinglepullException.class, () -> {
                try (InputStream in = Decompression.open(OCI_GZIP, new ByteArrayInputStream(cut), "l",
                        decoder)) {
                    in.readAllBytes();
                }
            }, decoder.name());
            assertEquals(ErrorKind.DATA_LOSS, e.kind());
        }
        assertEquals(GzipDecoder.ISAL, GzipDecoder.AUTO.resolved());
    }

    @Test
    void closingFromAnotherThreadEndsAReadBlockedOnTheSource() throws Exception {
        byte[] gz = gzip(mixed(200_000, 13));
        var source = new StallingSource(Arrays.copyOf(gz, 1000)); // then blocks, as a follower of a slow download
        var stream = new IsalGzipInputStream(isal, source);
        var read = new CompletableFuture<Throwable>();
        Thread.ofPlatform().start(() -> {
            try {
                stream.readAllBytes();
                read.complete(null);
            } catch (Throwable t) {
                read.complete(t);
            }
        });
        assertTrue(source.stalled.await(10, TimeUnit.SECONDS), "the read waits for the source");
        stream.close();
        assertTrue(read.get(10, TimeUnit.SECONDS) instanceof IOException);
        assertThrows(IOException.class, stream::read);
    }

    /** Serves some bytes, then blocks until closed, as a stream following a download does. */
    private static final class StallingSource extends InputStream {
        private final ByteArrayInputStream first;
        private final CountDownLatch closed = new CountDownLatch(1);
        final CountDownLatch stalled = new CountDownLatch(1);

        StallingSource(byte[] first) {
            this.first = new ByteArrayInputStream(first);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = first.read(b, off, len);
            if (n > 0) {
                return n;
            }
            stalled.countDown();
            try {
                closed.await();
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
            throw new IOException("closed");
        }

        @Override
        public void close() {
            closed.countDown();
        }
    }

    private static boolean refuses(Read read) {
        try {
            read.run();
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private interface Read {
        void run() throws IOException;
    }

    private static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] gzipAtLevel(byte[] data, int level) {
        return member(data, level, 0, new byte[0]);
    }

    /** A member with FEXTRA, FNAME, FCOMMENT and FHCRC set. */
    private static byte[] gzipWithHeaderFields(byte[] data) {
        var header = new ByteArrayOutputStream();
        header.writeBytes(new byte[] {4, 0, 'a', 'b', 'c', 'd'}); // XLEN 4, then the extra field
        header.writeBytes("layer.tar\0".getBytes(StandardCharsets.US_ASCII));
        header.writeBytes("a comment\0".getBytes(StandardCharsets.US_ASCII));
        return member(data, 6, 0x04 | 0x08 | 0x10 | 0x02, header.toByteArray());
    }

    private static byte[] member(byte[] data, int level, int flags, byte[] fields) {
        var out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, (byte) flags, 0, 0, 0, 0, 0, 3});
        out.writeBytes(fields);
        if ((flags & 0x02) != 0) {
            var crc = new CRC32();
            byte[] soFar = out.toByteArray();
            crc.update(soFar);
            long v = crc.getValue();
            out.write((int) v & 0xff);
            out.write((int) (v >>> 8) & 0xff);
        }
        var deflater = new Deflater(level, true);
        deflater.setInput(data);
        deflater.finish();
        byte[] buf = new byte[65536];
        while (!deflater.finished()) {
            int n = deflater.deflate(buf);
            out.write(buf, 0, n);
        }
        deflater.end();
        var crc = new CRC32();
        crc.update(data);
        writeIntLe(out, crc.getValue());
        writeIntLe(out, data.length);
        return out.toByteArray();
    }

    private static void writeIntLe(ByteArrayOutputStream out, long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }
}

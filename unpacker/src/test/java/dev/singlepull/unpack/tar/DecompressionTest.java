package dev.singlepull.unpack.tar;

import static dev.singlepull.unpack.testing.TarFixtures.gzip;
import static dev.singlepull.unpack.testing.TarFixtures.truncate;
import static dev.singlepull.unpack.testing.TarFixtures.zstd;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.tar.Decompression.Kind;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DecompressionTest {
    private static final byte[] DATA = payload();

    private static byte[] payload() {
        byte[] b = new byte[3 * 1024 * 1024];
        new Random(42).nextBytes(b);
        for (int i = 0; i < b.length; i += 3) {
            b[i] = 'x'; // compressible, but not trivially
        }
        return b;
    }

    private static byte[] readAll(String mediaType, byte[] blob) throws IOException {
        try (InputStream in = Decompression.open(mediaType, new ByteArrayInputStream(blob), "test-layer")) {
            return in.readAllBytes();
        }
    }

    @ParameterizedTest
    @CsvSource({
        "application/vnd.oci.image.layer.v1.tar, NONE",
        "application/vnd.oci.image.layer.v1.tar+gzip, GZIP",
        "application/vnd.oci.image.layer.v1.tar+zstd, ZSTD",
        "application/vnd.oci.image.layer.nondistributable.v1.tar, NONE",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip, GZIP",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd, ZSTD",
        "application/vnd.docker.image.rootfs.diff.tar, NONE",
        "application/vnd.docker.image.rootfs.diff.tar.gzip, GZIP",
        "application/vnd.docker.image.rootfs.diff.tar.zstd, ZSTD",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip, GZIP",
    })
    void mediaTypes(String mediaType, Kind kind) {
        assertEquals(kind, Decompression.forMediaType(mediaType));
    }

    @Test
    void unknownMediaTypeIsFailedPreconditionNamingIt() {
        var e = assertThrows(SinglepullException.class,
                () -> Decompression.forMediaType("application/vnd.oci.image.layer.v1.tar+bzip2"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains("application/vnd.oci.image.layer.v1.tar+bzip2"), e.getMessage());
        var open = assertThrows(SinglepullException.class,
                () -> Decompression.open("text/plain", new ByteArrayInputStream(DATA), "l"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, open.kind());
    }

    @Test
    void decompressesEachFormat() throws IOException {
        assertArrayEquals(DATA, readAll("application/vnd.oci.image.layer.v1.tar", DATA));
        assertArrayEquals(DATA, readAll("application/vnd.oci.image.layer.v1.tar+gzip", gzip(DATA)));
        assertArrayEquals(DATA, readAll("application/vnd.docker.image.rootfs.diff.tar.gzip", gzip(DATA)));
        assertArrayEquals(DATA, readAll("application/vnd.oci.image.layer.v1.tar+zstd", zstd(DATA)));
    }

    @Test
    void sniffsCompressedDataLabelledAsPlainTar() throws IOException {
        assertArrayEquals(DATA, readAll("application/vnd.oci.image.layer.v1.tar", gzip(DATA)));
        assertArrayEquals(DATA, readAll("application/vnd.docker.image.rootfs.diff.tar", zstd(DATA)));
    }

    @Test
    void emptyStreamIsEmpty() throws IOException {
        assertEquals(0, readAll("application/vnd.oci.image.layer.v1.tar", new byte[0]).length);
    }

    @Test
    void truncatedGzipIsDataLoss() {
        byte[] blob = gzip(DATA);
        var e = assertThrows(SinglepullException.class,
                () -> readAll("application/vnd.oci.image.layer.v1.tar+gzip", truncate(blob, blob.length / 2)));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains("test-layer"), e.getMessage());
    }

    @Test
    void gzipWithoutItsTrailerIsDataLoss() {
        byte[] blob = gzip(DATA);
        var e = assertThrows(SinglepullException.class,
                () -> readAll("application/vnd.oci.image.layer.v1.tar+gzip", truncate(blob, blob.length - 4)));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
    }

    @Test
    void truncatedZstdIsDataLoss() {
        byte[] blob = zstd(DATA);
        var e = assertThrows(SinglepullException.class,
                () -> readAll("application/vnd.oci.image.layer.v1.tar+zstd", truncate(blob, blob.length / 2)));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
    }

    @Test
    void corruptGzipIsDataLoss() {
        byte[] blob = gzip(DATA);
        for (int i = 100; i < 400; i++) {
            blob[i] ^= (byte) 0x5a;
        }
        var e = assertThrows(SinglepullException.class,
                () -> readAll("application/vnd.oci.image.layer.v1.tar+gzip", blob));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
    }

    @Test
    void gzipLabelOnDataThatIsNotGzipIsDataLoss() {
        var e = assertThrows(SinglepullException.class,
                () -> readAll("application/vnd.oci.image.layer.v1.tar+gzip", "not compressed".getBytes()));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
    }

    @Test
    void aFailingSourceIsRethrownAsItself() {
        var boom = new IOException("disk read error");
        byte[] blob = gzip(DATA);
        InputStream failing = new InputStream() {
            int served;

            @Override
            public int read() throws IOException {
                throw boom;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (served > 1000) {
                    throw boom;
                }
                int n = Math.min(len, 500);
                System.arraycopy(blob, served, b, off, n);
                served += n;
                return n;
            }
        };
        var thrown = assertThrows(IOException.class, () -> {
            try (InputStream in = Decompression.open("application/vnd.oci.image.layer.v1.tar+gzip", failing, "l")) {
                in.readAllBytes();
            }
        });
        assertSame(boom, thrown);
    }
}

package dev.singlepull.unpack;

import static dev.singlepull.unpack.testing.TarFixtures.OCI_GZIP;
import static dev.singlepull.unpack.testing.TarFixtures.OCI_TAR;
import static dev.singlepull.unpack.testing.TarFixtures.OCI_ZSTD;
import static dev.singlepull.unpack.testing.TarFixtures.gzip;
import static dev.singlepull.unpack.testing.TarFixtures.tar;
import static dev.singlepull.unpack.testing.TarFixtures.zstd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.tar.LayerApplier;
import dev.singlepull.unpack.testing.FileTrees;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class LayerPipelineTest {
    @TempDir
    Path base;
    final java.util.Map<String, dev.singlepull.unpack.tar.ApplyStats> stats = new java.util.HashMap<>();

    private static byte[] sampleTar() {
        byte[] big = new byte[3 * 1024 * 1024 + 17]; // spans many pipe chunks
        new Random(7).nextBytes(big);
        return tar()
                .dir("./", 0755)
                .dir("etc", 0755)
                .dir("bin", 0755)
                .file("etc/os-release", "ID=test\n")
                .file("bin/big", big, 0755)
                .symlink("bin/sh", "big")
                .hardlink("bin/big2", "bin/big")
                .file(".wh.gone", "")
                .build();
    }

    private LayerPipeline.Result run(byte[] blob, String mediaType, String dir) throws IOException {
        Path target = Files.createDirectories(base.resolve(dir));
        LayerPipeline.Result result = LayerPipeline.run(new ByteArrayInputStream(blob), mediaType, target,
                "sha256:test", LayerApplier.tar(), UnpackLimits.defaults());
        stats.put(dir, result.applied().finish(java.util.List.of()));
        return result;
    }

    @Test
    void gzipZstdAndNoneGiveIdenticalTreesAndTheSameDiffId() throws IOException {
        byte[] tar = sampleTar();
        Digest expected = Digest.sha256(tar);

        var none = run(tar, OCI_TAR, "none");
        var gz = run(gzip(tar), OCI_GZIP, "gzip");
        var zs = run(zstd(tar), OCI_ZSTD, "zstd");

        assertEquals(expected, none.diffId());
        assertEquals(expected, gz.diffId());
        assertEquals(expected, zs.diffId());
        assertEquals(stats.get("none"), stats.get("gzip"));
        assertEquals(stats.get("none"), stats.get("zstd"));
        var tree = FileTrees.describe(base.resolve("none"));
        assertEquals(8, tree.size()); // root, etc, etc/os-release, bin, bin/big, bin/sh, bin/big2, the whiteout
        assertEquals(tree, FileTrees.describe(base.resolve("gzip")));
        assertEquals(tree, FileTrees.describe(base.resolve("zstd")));
    }

    @Test
    void theDiffIdCoversBytesAfterTheEndOfArchive() throws IOException {
        byte[] tar = sampleTar();
        byte[] padded = Arrays.copyOf(tar, tar.length + 64 * 1024); // extra zero blocks, as some writers leave
        var result = run(gzip(padded), OCI_GZIP, "padded");
        assertEquals(Digest.sha256(padded), result.diffId());
    }

    @Test
    void truncatedGzipIsDataLossFromTheDecompressor() {
        byte[] blob = gzip(sampleTar());
        var e = assertThrows(SinglepullException.class,
                () -> run(TarFixtures.truncate(blob, blob.length / 2), OCI_GZIP, "truncated"));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains("gzip"), e.getMessage()); // the decompressor's error, not the tar echo
    }

    @Test
    void unknownMediaTypeSurfacesAsItself() {
        var e = assertThrows(SinglepullException.class, () -> run(sampleTar(), "application/x-rar", "rar"));
        assertEquals(ErrorKind.FAILED_PRECONDITION, e.kind());
    }

    @Test
    void aSourceFailureIsThrownAsTheOriginalException() throws IOException {
        var boom = new IOException("disk read error");
        byte[] blob = gzip(sampleTar());
        InputStream failing = new FilterInputStream(new ByteArrayInputStream(blob)) {
            long served;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (served > blob.length / 2) {
                    throw boom;
                }
                int n = super.read(b, off, Math.min(len, 4096));
                served += Math.max(n, 0);
                return n;
            }
        };
        Path target = Files.createDirectories(base.resolve("failing"));
        var thrown = assertThrows(IOException.class,
                () -> LayerPipeline.run(failing, OCI_GZIP, target, "l", LayerApplier.tar(), UnpackLimits.defaults()));
        assertSame(boom, thrown);
    }

    @Test
    void anApplierFailureStopsTheDecompressingSide() throws IOException {
        byte[] filler = new byte[32 * 1024 * 1024];
        byte[] tar = tar().file("../escape", "x").file("filler", filler, 0644).build();
        var read = new AtomicLong();
        var closed = new AtomicBoolean();
        InputStream source = new FilterInputStream(new ByteArrayInputStream(tar)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                read.addAndGet(Math.max(n, 0));
                return n;
            }

            @Override
            public void close() throws IOException {
                closed.set(true);
                super.close();
            }
        };
        Path target = Files.createDirectories(base.resolve("hostile"));

        var e = assertThrows(SinglepullException.class,
                () -> LayerPipeline.run(source, OCI_TAR, target, "l", LayerApplier.tar(), UnpackLimits.defaults()));

        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(closed.get());
        assertTrue(read.get() < tar.length, "the decompressing side stopped after " + read.get() + " bytes");
    }
}

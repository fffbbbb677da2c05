package dev.singlepull.unpack.tar;

import static dev.singlepull.unpack.testing.TarFixtures.tar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.testing.FileTrees;
import dev.singlepull.unpack.testing.RawTar;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TarApplierTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final String LAYER = "sha256:layer-under-test";
    private static final boolean ROOT = PosixCalls.geteuid() == 0;

    @TempDir
    Path base;
    Path target;
    Path sentinel;

    @BeforeEach
    void setUp() throws IOException {
        target = Files.createDirectory(base.resolve("layer"));
        sentinel = Files.createDirectory(base.resolve("sentinel"));
        Files.writeString(sentinel.resolve("secret"), "keep");
    }

    private ApplyStats apply(byte[] tar) throws IOException {
        return LayerApplier.tar().apply(new ByteArrayInputStream(tar), target, LAYER).finish(List.of());
    }

    private ApplyStats applyAufs(byte[] tar) throws IOException {
        return new TarApplier(false).apply(new ByteArrayInputStream(tar), target, LAYER).finish(List.of());
    }

    /** Applies {@code tar} as a finished layer in its own directory {@code name} (under base), over {@code lower}. */
    private Path layer(String name, byte[] tar, Path... lower) throws IOException {
        Path dir = Files.createDirectories(base.resolve("layers").resolve(name));
        LayerApplier.tar().apply(new ByteArrayInputStream(tar), dir, "sha256:" + name).finish(List.of(lower));
        return dir;
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 07777;
    }

    private static int type(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 0170000;
    }

    private static long rdev(Path p) throws IOException {
        return (Long) Files.getAttribute(p, "unix:rdev", NOFOLLOW);
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    private static byte[] xattr(Path p, String name) throws IOException {
        return PosixCalls.lgetxattr(p, name);
    }

    private static boolean isWhiteoutDevice(Path p) throws IOException {
        return Whiteouts.isOverlayWhiteout(Nodes.lstat(p));
    }

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW).fileKey();
    }

    // ---- entry kinds ----

    @Test
    void regularFilesDirectoriesSymlinksAndHardlinks() throws IOException {
        ApplyStats stats = apply(tar()
                .dir("etc", 0755)
                .file("etc/hosts", "127.0.0.1 localhost\n")
                .symlink("etc/localtime", "/nonexistent/zoneinfo/UTC")
                .symlink("etc/dangling", "../nowhere/at/all")
                .hardlink("etc/hosts.bak", "etc/hosts")
                .file("usr/lib/x/libfoo.so", "ELF")
                .build());

        assertEquals("127.0.0.1 localhost\n", read(target.resolve("etc/hosts")));
        assertTrue(Files.isSymbolicLink(target.resolve("etc/localtime")));
        assertEquals(Path.of("/nonexistent/zoneinfo/UTC"), Files.readSymbolicLink(target.resolve("etc/localtime")));
        assertEquals(Path.of("../nowhere/at/all"), Files.readSymbolicLink(target.resolve("etc/dangling")));
        assertEquals(fileKey(target.resolve("etc/hosts")), fileKey(target.resolve("etc/hosts.bak")));
        assertEquals("ELF", read(target.resolve("usr/lib/x/libfoo.so")));
        assertEquals(0755, mode(target.resolve("usr/lib"))); // parents not in the tar
        assertEquals(new ApplyStats(23, 6, Map.of()), stats);
    }

    @Test
    void longNamesAndLongLinkTargetsInPaxAndGnuForm() throws IOException {
        String dir = "d".repeat(120) + "/" + "e".repeat(90);
        String file = dir + "/" + "f".repeat(200) + ".txt";
        String linkTarget = "/" + "t".repeat(150) + "/target";
        apply(tar()
                .file(file, "long")
                .symlink("short-link", linkTarget)
                .hardlink("g".repeat(180), file)
                .gnuLongNames()
                .file("gnu/" + "h".repeat(150), "gnu long")
                .symlink("gnu/" + "i".repeat(130), "/" + "j".repeat(140))
                .hardlink("gnu/" + "k".repeat(120), "gnu/" + "h".repeat(150))
                .build());

        assertTrue(file.length() > 100);
        assertEquals("long", read(target.resolve(file)));
        assertEquals(Path.of(linkTarget), Files.readSymbolicLink(target.resolve("short-link")));
        assertEquals("long", read(target.resolve("g".repeat(180))));
        assertEquals("gnu long", read(target.resolve("gnu/" + "h".repeat(150))));
        assertEquals(Path.of("/" + "j".repeat(140)), Files.readSymbolicLink(target.resolve("gnu/" + "i".repeat(130))));
        assertEquals(fileKey(target.resolve("gnu/" + "h".repeat(150))), fileKey(target.resolve("gnu/" + "k".repeat(120))));
    }

    @Test
    void ustarPrefixAndBase256NumbersAndOldStyleDirectories() throws IOException {
        RawTar.Header prefixed = RawTar.header("file", '0').size(2);
        prefixed.prefix = "p".repeat(130) + "/q";
        RawTar.Header big = RawTar.header("big-owner", '0').size(1).owner(3_000_000_000L, 70000);
        big.base256 = true;
        RawTar.Header v7dir = RawTar.header("olddir/", '\0').format("v7");
        apply(RawTar.tar()
                .header(prefixed).data("ok".getBytes())
                .header(big).data("b".getBytes())
                .header(v7dir)
                .build());

        assertEquals("ok", read(target.resolve("p".repeat(130) + "/q/file")));
        assertEquals("b", read(target.resolve("big-owner")));
        assertTrue(Files.isDirectory(target.resolve("olddir"), NOFOLLOW));
        if (ROOT) {
            assertEquals((int) 3_000_000_000L, Files.getAttribute(target.resolve("big-owner"), "unix:uid", NOFOLLOW));
            assertEquals(70000, Files.getAttribute(target.resolve("big-owner"), "unix:gid", NOFOLLOW));
        }
    }

    @Test
    void modesIncludingSpecialBitsAndReadOnlyDirectories() throws IOException {
        apply(tar()
                .file("private", "p".getBytes(), 0600)
                .file("tool", "t".getBytes(), 0755)
                .file("suid", "s".getBytes(), 04755)
                .file("sgid", "s".getBytes(), 02711)
                .file("none", "n".getBytes(), 0)
                .file("wide", "w".getBytes(), 0666) // bits a usual umask (022) takes from a new file
                .file("open", "o".getBytes(), 0777)
                .dir("shared", 02775)
                .dir("tmp", 01777)
                .dir("ro", 0555)
                .file("ro/inside", "written before the directory became read-only".getBytes(), 0444)
                .build());

        assertEquals(0600, mode(target.resolve("private")));
        assertEquals(0755, mode(target.resolve("tool")));
        assertEquals(0444, mode(target.resolve("ro/inside")));
        assertEquals(0555, mode(target.resolve("ro")));
        assertEquals(0, mode(target.resolve("none")));
        assertEquals(0666, mode(target.resolve("wide")));
        assertEquals(0777, mode(target.resolve("open")));
        assertEquals(04755, mode(target.resolve("suid")));
        assertEquals(02711, mode(target.resolve("sgid")));
        assertEquals(02775, mode(target.resolve("shared")));
        assertEquals(01777, mode(target.resolve("tmp")));
    }

    @Test
    void mtimesOnFilesDirectoriesAndSymlinksToTheNanosecond() throws IOException {
        Instant dirTime = Instant.parse("2020-05-06T07:08:09Z");
        Instant fileTime = Instant.parse("2021-01-01T00:00:00Z");
        apply(tar()
                .mtime(dirTime).dir("d", 0755)
                .mtime(fileTime).file("d/f", "x").symlink("d/l", "f")
                .build());
        assertEquals(FileTime.from(dirTime), Files.getLastModifiedTime(target.resolve("d"), NOFOLLOW));
        assertEquals(FileTime.from(fileTime), Files.getLastModifiedTime(target.resolve("d/f"), NOFOLLOW));
        assertEquals(FileTime.from(fileTime), Files.getLastModifiedTime(target.resolve("d/l"), NOFOLLOW));
    }

    @Test
    void paxMtimesWithFractionsAndBefore1970() throws IOException {
        apply(RawTar.tar()
                .paxText(Map.of("mtime", "1600000001.123456789"))
                .file("precise", "p")
                .paxText(Map.of("mtime", "-1.5"))
                .file("before-1970", "b")
                .build());
        assertEquals(FileTime.from(Instant.ofEpochSecond(1600000001L, 123456789)),
                Files.getLastModifiedTime(target.resolve("precise"), NOFOLLOW));
        assertEquals(FileTime.from(Instant.ofEpochSecond(-2, 500_000_000)),
                Files.getLastModifiedTime(target.resolve("before-1970"), NOFOLLOW));
    }

    @Test
    void gnuBase256MtimesBefore1970ReachTheDisk() throws IOException {
        RawTar.Header dir = RawTar.header("old/", '5').format("gnu");
        dir.mtime = -86400;
        dir.base256Mtime = true;
        RawTar.Header file = RawTar.header("old/file", '0').format("gnu").size(3);
        file.mtime = -86400 * 365L * 50; // 1920
        file.base256Mtime = true;
        apply(RawTar.tar().header(dir).header(file).data("old".getBytes()).build());
        assertEquals(FileTime.from(Instant.parse("1969-12-31T00:00:00Z")),
                Files.getLastModifiedTime(target.resolve("old"), NOFOLLOW));
        assertEquals(FileTime.from(-86400 * 365L * 50, java.util.concurrent.TimeUnit.SECONDS),
                Files.getLastModifiedTime(target.resolve("old/file"), NOFOLLOW));
        assertEquals("old", read(target.resolve("old/file")));
    }

    @Test
    void timesBeyondTheFileSystemAreClampedNotRefused() throws IOException {
        RawTar.Header future = RawTar.header("future", '0');
        future.mtime = 1L << 40; // year 36812
        future.base256Mtime = true;
        RawTar.Header past = RawTar.header("past", '0').format("gnu");
        past.mtime = Long.MIN_VALUE;
        past.base256Mtime = true;
        apply(RawTar.tar()
                .header(future)
                .header(past)
                .paxText(Map.of("mtime", String.valueOf(Long.MAX_VALUE))).file("pax-future", "")
                .paxText(Map.of("mtime", "2147483648.5")).file("after-2038", "")
                .build());
        Instant year2400 = Instant.parse("2400-01-01T00:00:00Z");
        for (String name : List.of("future", "pax-future")) {
            Instant stored = Files.getLastModifiedTime(target.resolve(name), NOFOLLOW).toInstant();
            assertTrue(stored.isAfter(year2400), name + " is stored as the file system's latest time: " + stored);
        }
        Instant stored = Files.getLastModifiedTime(target.resolve("past"), NOFOLLOW).toInstant();
        assertTrue(stored.isBefore(Instant.parse("1902-01-01T00:00:00Z")), "the earliest time stored: " + stored);
        assertEquals(FileTime.from(Instant.ofEpochSecond(1L << 31, 500_000_000)),
                Files.getLastModifiedTime(target.resolve("after-2038"), NOFOLLOW));
    }

    @Test
    void ownersWhenRunningAsRoot() throws IOException {
        assumeTrue(ROOT, "needs root");
        apply(tar().owner(1234, 5678)
                .dir("d", 0755).file("d/f", "x").symlink("d/l", "/nonexistent")
                .build());

        for (String name : List.of("d", "d/f", "d/l")) {
            assertEquals(1234, Files.getAttribute(target.resolve(name), "unix:uid", NOFOLLOW), name);
            assertEquals(5678, Files.getAttribute(target.resolve(name), "unix:gid", NOFOLLOW), name);
        }
    }

    @Test
    void setuidSurvivesTheOwnerChange() throws IOException {
        assumeTrue(ROOT, "needs root");
        apply(tar().owner(1000, 1000).file("su", "s".getBytes(), 06755).build());
        assertEquals(06755, mode(target.resolve("su")));
        assertEquals(1000, Files.getAttribute(target.resolve("su"), "unix:uid", NOFOLLOW));
    }

    @Test
    void rootEntrySetsTheTargetDirectorysMode() throws IOException {
        apply(tar().dir("./", 0750).file("./a", "a").build());
        assertEquals(0750, mode(target));
        assertEquals("a", read(target.resolve("a")));
    }

    @Test
    void userXattrsFromPaxRecords() throws IOException {
        ApplyStats stats = apply(tar()
                .xattr("user.mime", "text/plain").file("f", "x")
                .xattr("user.dir", "yes").dir("d", 0755)
                .build());
        assertArrayEquals("text/plain".getBytes(), xattr(target.resolve("f"), "user.mime"));
        assertArrayEquals("yes".getBytes(), xattr(target.resolve("d"), "user.dir"));
        assertEquals(Map.of(), stats.skipped());
    }

    @Test
    void trustedAndSecurityXattrsWithBinaryValuesAsRoot() throws IOException {
        assumeTrue(ROOT, "needs root");
        byte[] capability = {1, 0, 0, 2, (byte) 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; // v2, invalid UTF-8
        byte[] binary = {(byte) 0xff, 0, (byte) 0xc3, 0x28, '\n', '='};
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("SCHILY.xattr.security.capability", capability);
        records.put("SCHILY.xattr.trusted.blob", binary);
        records.put("SCHILY.xattr.user.plain", "p".getBytes());
        records.put("SCHILY.xattr.trusted.overlay.opaque", "y".getBytes()); // forged whiteout bookkeeping
        RawTar.Header owned = RawTar.header("ping", '0').size(1).owner(1000, 1000).mode(0755);
        ApplyStats stats = apply(RawTar.tar().pax(records).header(owned).data("x".getBytes()).build());

        Path ping = target.resolve("ping");
        assertArrayEquals(capability, xattr(ping, "security.capability"), "set after chown, which clears it");
        assertArrayEquals(binary, xattr(ping, "trusted.blob"));
        assertArrayEquals("p".getBytes(), xattr(ping, "user.plain"));
        assertNull(xattr(ping, "trusted.overlay.opaque"));
        assertEquals(Map.of(Skips.XATTR_RESERVED, 1L), stats.skipped());
    }

    @Test
    void nonUserXattrsAreSkippedAndCountedWhenNotRoot() throws IOException {
        assumeFalse(ROOT, "runs as an ordinary user");
        ApplyStats stats = apply(tar().xattr("trusted.x", "1").xattr("user.y", "2").file("f", "x").build());
        assertNull(xattr(target.resolve("f"), "trusted.x"));
        assertArrayEquals("2".getBytes(), xattr(target.resolve("f"), "user.y"));
        assertEquals(Map.of(Skips.XATTR_NOT_ROOT, 1L), stats.skipped());
    }

    @Test
    void devicesAndFifosAsRoot() throws IOException {
        assumeTrue(ROOT, "needs root");
        ApplyStats stats = apply(tar().owner(0, 6)
                .charDevice("dev/null", 1, 3)
                .blockDevice("dev/sda", 8, 0)
                .charDevice("dev/big", 300, 70000)
                .fifo("run/pipe")
                .build());

        assertEquals(PosixCalls.S_IFCHR, type(target.resolve("dev/null")));
        assertEquals(PosixCalls.makedev(1, 3), rdev(target.resolve("dev/null")));
        assertEquals(0666, mode(target.resolve("dev/null")));
        assertEquals(PosixCalls.S_IFBLK, type(target.resolve("dev/sda")));
        assertEquals(PosixCalls.makedev(8, 0), rdev(target.resolve("dev/sda")));
        assertEquals(0660, mode(target.resolve("dev/sda")));
        assertEquals(6, Files.getAttribute(target.resolve("dev/sda"), "unix:gid", NOFOLLOW));
        assertEquals(PosixCalls.makedev(300, 70000), rdev(target.resolve("dev/big")));
        assertEquals(PosixCalls.S_IFIFO, type(target.resolve("run/pipe")));
        assertEquals(0644, mode(target.resolve("run/pipe")));
        assertEquals(4, stats.files());
        assertEquals(Map.of(), stats.skipped());
    }

    @Test
    void devicesAreSkippedAndCountedWhenNotRootButFifosAreMade() throws IOException {
        assumeFalse(ROOT, "runs as an ordinary user");
        ApplyStats stats = apply(tar()
                .charDevice("dev/null", 1, 3)
                .blockDevice("dev/sda", 8, 0)
                .fifo("run/pipe")
                .file("kept", "k")
                .build());

        assertEquals(Map.of(Skips.DEVICE_NOT_ROOT, 2L), stats.skipped());
        assertFalse(Files.exists(target.resolve("dev/null"), NOFOLLOW));
        assertEquals(PosixCalls.S_IFIFO, type(target.resolve("run/pipe")));
    }

    @Test
    void sparseFilesInEveryGnuFormKeepTheirContentAndHoles() throws Exception {
        byte[] head = "head".getBytes();
        byte[] middle = new byte[4096];
        java.util.Arrays.fill(middle, (byte) 'm');
        byte[] tail = "tail".getBytes();
        long realSize = 8L << 20;
        long middleAt = 4L << 20;
        long tailAt = realSize - tail.length;
        byte[] stored = concat(head, middle, tail);

        // old GNU 'S', with more segments than the header holds (extension blocks)
        RawTar.Header gnu = RawTar.header("gnu-sparse", 'S').format("gnu").size(stored.length + 6);
        gnu.realSize = realSize + 0;
        gnu.sparse = List.of(new long[] {0, head.length}, new long[] {middleAt, middle.length},
                new long[] {5L << 20, 1}, new long[] {5L << 20 | 4096, 1}, new long[] {6L << 20, 1},
                new long[] {6L << 20 | 4096, 1}, new long[] {7L << 20, 1}, new long[] {7L << 20 | 4096, 1},
                new long[] {tailAt, tail.length});
        byte[] gnuData = concat(head, middle, "abcdef".getBytes(), tail);

        // PAX 1.0: the map at the start of the data
        String map = "3\n0\n" + head.length + "\n" + middleAt + "\n" + middle.length + "\n" + tailAt + "\n"
                + tail.length + "\n";
        byte[] mapBlock = java.util.Arrays.copyOf(map.getBytes(), 512);
        byte[] pax10Data = concat(mapBlock, stored);

        byte[] tar = RawTar.tar()
                .header(gnu).data(gnuData)
                .paxText(Map.of("GNU.sparse.major", "1", "GNU.sparse.minor", "0", "GNU.sparse.name", "pax-1.0",
                        "GNU.sparse.realsize", String.valueOf(realSize)))
                .header(RawTar.header("GNUSparseFile.0/pax-1.0", '0').size(pax10Data.length)).data(pax10Data)
                .paxText(Map.of("GNU.sparse.size", String.valueOf(realSize), "GNU.sparse.numblocks", "3",
                        "GNU.sparse.name", "pax-0.1", "GNU.sparse.map",
                        "0," + head.length + "," + middleAt + "," + middle.length + "," + tailAt + "," + tail.length))
                .header(RawTar.header("GNUSparseFile.0/pax-0.1", '0').size(stored.length)).data(stored)
                .paxPairs("GNU.sparse.size", String.valueOf(realSize), "GNU.sparse.name", "pax-0.0",
                        "GNU.sparse.offset", "0", "GNU.sparse.numbytes", String.valueOf(head.length),
                        "GNU.sparse.offset", String.valueOf(middleAt), "GNU.sparse.numbytes",
                        String.valueOf(middle.length), "GNU.sparse.offset", String.valueOf(tailAt),
                        "GNU.sparse.numbytes", String.valueOf(tail.length))
                .header(RawTar.header("GNUSparseFile.0/pax-0.0", '0').size(stored.length)).data(stored)
                .build();

        ApplyStats stats = apply(tar);

        for (String name : List.of("gnu-sparse", "pax-1.0", "pax-0.1", "pax-0.0")) {
            Path file = target.resolve(name);
            assertEquals(realSize, Files.size(file), name);
            byte[] content = Files.readAllBytes(file);
            assertArrayEquals(head, java.util.Arrays.copyOfRange(content, 0, head.length), name);
            assertArrayEquals(middle, java.util.Arrays.copyOfRange(content, (int) middleAt,
                    (int) middleAt + middle.length), name);
            assertArrayEquals(tail, java.util.Arrays.copyOfRange(content, (int) tailAt, (int) realSize), name);
            assertEquals(0, content[(int) (middleAt - 1)], name);
            assertTrue(allocatedBytes(file) < realSize / 2, name + " has holes: " + allocatedBytes(file));
        }
        assertEquals('b', Files.readAllBytes(target.resolve("gnu-sparse"))[(int) (5L << 20 | 4096)]);
        assertEquals(4 * stored.length + 6, stats.bytes());
    }

    private static long allocatedBytes(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).start();
        String[] out = new String(p.getInputStream().readAllBytes()).trim().split(" ");
        p.waitFor();
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }

    private static byte[] concat(byte[]... parts) {
        var out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Test
    void globalPaxHeadersAreIgnoredAndTrailingBytesAfterTheEndAreLeft() throws IOException {
        byte[] tar = RawTar.tar()
                .extended('g', RawTar.paxData(Map.of("path", "hijacked".getBytes())))
                .file("kept-name", "k")
                .end()
                .raw("garbage after the end-of-archive marker".getBytes())
                .bytes();
        apply(tar);
        assertEquals("k", read(target.resolve("kept-name")));
        assertFalse(Files.exists(target.resolve("hijacked")));
    }

    // ---- whiteouts ----

    @Test
    void whiteoutsInTheOverlayConventionAsRoot() throws IOException {
        assumeTrue(ROOT, "needs root");
        ApplyStats stats = apply(tar()
                .file(".wh.removed", "")
                .dir("opaque", 0755)
                .file("opaque/.wh..wh..opq", "")
                .file("opaque/mine", "m")
                .file("implicit/.wh.gone", "")
                .file(".wh..wh.plnk", "")
                .build());

        assertTrue(isWhiteoutDevice(target.resolve("removed")));
        assertEquals(0, mode(target.resolve("removed")));
        assertArrayEquals("y".getBytes(), xattr(target.resolve("opaque"), "trusted.overlay.opaque"));
        assertEquals("m", read(target.resolve("opaque/mine")));
        assertTrue(isWhiteoutDevice(target.resolve("implicit/gone")));
        try (Stream<Path> all = Files.walk(target)) {
            assertEquals(List.of(), all.filter(p -> p.getFileName().toString().startsWith(".wh.")).toList(),
                    "no AUFS marker is left in the overlay convention");
        }
        assertEquals(Map.of(), stats.skipped(), "AUFS bookkeeping is ignored, not reported");
    }

    @Test
    void whiteoutsInTheAufsConventionAreKeptAsMarkerFiles() throws IOException {
        applyAufs(tar()
                .file(".wh.removed", "")
                .dir("opaque", 0755)
                .file("opaque/.wh..wh..opq", "")
                .build());

        assertTrue(Files.isRegularFile(target.resolve(".wh.removed"), NOFOLLOW));
        assertEquals(0, Files.size(target.resolve(".wh.removed")));
        assertFalse(Files.exists(target.resolve("removed"), NOFOLLOW));
        assertTrue(Files.isRegularFile(target.resolve("opaque/.wh..wh..opq"), NOFOLLOW));
        assertNull(xattr(target.resolve("opaque"), "trusted.overlay.opaque"));
    }

    /** Whiteouts act on the layers below only, whatever the order of the entries (OCI image spec). */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void whiteoutsNeverDeleteWhatTheSameLayerWrites(boolean overlay) throws IOException {
        assumeTrue(!overlay || ROOT, "the overlay convention needs root");
        byte[] tar = tar()
                .file("before", "written, then whited out")
                .file(".wh.before", "")
                .file(".wh.after", "")
                .file("after", "whited out, then written")
                .dir("dir", 0755)
                .file("dir/keep", "k")
                .file(".wh.dir", "")
                .file(".wh.redo", "")
                .dir("redo", 0700)
                .file("redo/new", "n")
                .file(".wh.again", "")
                .file("again/child", "c")
                .build();
        var applied = new TarApplier(overlay).apply(new ByteArrayInputStream(tar), target, LAYER);
        applied.finish(List.of());

        assertEquals("written, then whited out", read(target.resolve("before")));
        assertEquals("whited out, then written", read(target.resolve("after")));
        assertEquals("k", read(target.resolve("dir/keep")));
        assertEquals("n", read(target.resolve("redo/new")));
        assertEquals(0700, mode(target.resolve("redo")));
        assertEquals("c", read(target.resolve("again/child")));
        for (String dir : List.of("dir", "redo", "again")) { // lower content must not show through
            assertTrue(Whiteouts.isOpaque(target.resolve(dir)), dir + " is opaque");
        }
        assertFalse(Whiteouts.isOpaque(target), "the root is not opaque");
    }

    @Test
    void whiteoutsThatEscapeAreRejected() throws IOException {
        assertHostile(tar().file("../.wh.x", "").build(), "../.wh.x");
        assertHostile(tar().file("a/.wh..", "").build(), "a/.wh..");
        assertHostile(tar().file("a/.wh...", "").build(), "a/.wh...");
        assertHostile(tar().file(".wh.", "").build(), ".wh.");
        assertHostile(tar().dir(".wh.dir", 0755).build(), ".wh.dir/");
        assertHostile(tar().file(".wh.x/inside", "").build(), ".wh.x/inside");
    }

    // ---- later entries replace earlier ones ----

    @Test
    void laterEntriesReplaceEarlierOnes() throws IOException {
        apply(tar()
                .file("f", "old")
                .file("f", "new")
                .file("was-file", "x")
                .dir("was-file", 0700)
                .dir("was-dir", 0755)
                .file("was-dir/child", "gone")
                .file("was-dir", "now a file")
                .dir("merged", 0755)
                .file("merged/a", "a")
                .dir("merged", 0700)
                .file("merged/b", "b")
                .build());

        assertEquals("new", read(target.resolve("f")));
        assertTrue(Files.isDirectory(target.resolve("was-file"), NOFOLLOW));
        assertEquals(0700, mode(target.resolve("was-file")));
        assertEquals("now a file", read(target.resolve("was-dir")));
        assertEquals("a", read(target.resolve("merged/a")));
        assertEquals("b", read(target.resolve("merged/b")));
        assertEquals(0700, mode(target.resolve("merged")));
    }

    @Test
    void aFileReplacingASymlinkDoesNotWriteThroughIt() throws IOException {
        apply(tar().symlink("link", sentinel.resolve("secret").toString()).file("link", "mine").build());
        assertFalse(Files.isSymbolicLink(target.resolve("link")));
        assertEquals("mine", read(target.resolve("link")));
        assertSentinelUntouched();
    }

    // ---- the layers below ----

    @Test
    void aHardLinkToALowerLayersFileCopiesItUpAndLinksIt() throws IOException {
        Path lower = layer("lower", tar().owner(7, 8).dir("bin", 0711).file("bin/tool", "T".getBytes(), 04755)
                .build());
        var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar()
                .hardlink("usr/bin/tool", "bin/tool")
                .hardlink("usr/bin/tool2", "usr/bin/tool") // a link to a name that waits for the lower file
                .build()), target, LAYER);
        assertTrue(applied.needsLowerLayers());
        applied.finish(List.of(lower));

        Object key = fileKey(target.resolve("bin/tool"));
        assertEquals(key, fileKey(target.resolve("usr/bin/tool")));
        assertEquals(key, fileKey(target.resolve("usr/bin/tool2")));
        assertEquals("T", read(target.resolve("bin/tool")));
        assertEquals(04755, mode(target.resolve("bin/tool")));
        assertEquals(0711, mode(target.resolve("bin")), "the copied-up parent shows the lower directory");
        if (ROOT) {
            assertEquals(7, Files.getAttribute(target.resolve("bin/tool"), "unix:uid", NOFOLLOW));
            assertEquals(7, Files.getAttribute(target.resolve("bin"), "unix:uid", NOFOLLOW));
        }
        assertEquals("T", read(lower.resolve("bin/tool")), "the lower layer is untouched");
        assertEquals(1, (int) Files.getAttribute(lower.resolve("bin/tool"), "unix:nlink", NOFOLLOW));
    }

    @Test
    void aHardLinkToALowerFileThisLayerThenReplacesKeepsTheLowerContent() throws IOException {
        Path lower = layer("lower", tar().file("t", "lower").file("w", "lower w").build());
        var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar()
                .hardlink("link", "t")
                .file("t", "upper")
                .hardlink("link-w", "w")
                .file(".wh.w", "")
                .build()), target, LAYER);
        applied.finish(List.of(lower));

        assertEquals("lower", read(target.resolve("link")));
        assertEquals("upper", read(target.resolve("t")));
        assertEquals("lower w", read(target.resolve("link-w")));
        assertTrue(!fileKey(target.resolve("link")).equals(fileKey(target.resolve("t"))));
    }

    @Test
    void hardLinksToLowerFilesThatAreMissingOrDirectoriesOrUnderSymlinksAreRejected() throws IOException {
        Path lower = layer("lower", tar().dir("d", 0755).symlink("s", "/etc").file("f", "f").build());
        for (String[] c : List.of(new String[] {"l1", "nowhere"}, new String[] {"l2", "d"},
                new String[] {"l3", "s/passwd"}, new String[] {"l4", "f/under-a-file"})) {
            var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar().hardlink(c[0], c[1]).build()),
                    target, LAYER);
            var e = assertThrows(SinglepullException.class, () -> applied.finish(List.of(lower)));
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("'" + c[0] + "'") && e.getMessage().contains(LAYER), e.getMessage());
            FileTrees.deleteContents(target);
        }
        assertSentinelUntouched();
    }

    @Test
    void directoriesTheTarDoesNotListTakeTheLowerDirectorysMetadata() throws IOException {
        Instant lowerTime = Instant.parse("2019-02-03T04:05:06Z");
        Path bottom = layer("bottom", tar().owner(5, 6).mtime(lowerTime).dir("opt", 0700).dir("opt/app", 0750)
                .build());
        Path middle = layer("middle", tar().mtime(lowerTime).dir("srv", 0711).build(), bottom);
        var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar()
                .file("opt/app/added", "a")
                .file("srv/x", "x")
                .file("new/y", "y")
                .build()), target, LAYER);
        assertTrue(applied.needsLowerLayers());
        applied.finish(List.of(middle, bottom));

        assertEquals(0700, mode(target.resolve("opt")));
        assertEquals(0750, mode(target.resolve("opt/app")));
        assertEquals(0711, mode(target.resolve("srv")));
        assertEquals(0755, mode(target.resolve("new")));
        assertEquals(FileTime.from(lowerTime), Files.getLastModifiedTime(target.resolve("opt/app"), NOFOLLOW));
        if (ROOT) {
            assertEquals(5, Files.getAttribute(target.resolve("opt"), "unix:uid", NOFOLLOW));
            assertEquals(6, Files.getAttribute(target.resolve("opt/app"), "unix:gid", NOFOLLOW));
        }
    }

    @Test
    void aLayerThatListsItsDirectoriesNeedsNoLowerLayers() throws IOException {
        var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar()
                .dir("etc", 0755).file("etc/x", "x").file(".wh.gone", "").dir("o", 0755).file("o/.wh..wh..opq", "")
                .build()), target, LAYER);
        assertFalse(applied.needsLowerLayers());
        applied.finish(List.of());
    }

    @Test
    void writingUnderALowerLayersSymlinkIsRejected() throws IOException {
        Path lower = layer("lower", tar().symlink("lib", sentinel.toString()).file("file", "f")
                .symlink("rel", "../../sentinel").build());
        for (String name : List.of("lib/evil", "file/evil", "rel/evil")) {
            var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar().file(name, "evil").build()),
                    target, LAYER);
            var e = assertThrows(SinglepullException.class, () -> applied.finish(List.of(lower)));
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("'" + name + "'") && e.getMessage().contains("lower layer"),
                    e.getMessage());
            FileTrees.deleteContents(target);
        }
        assertSentinelUntouched();
        // a directory the tar lists replaces the lower symlink, as extracting the layers in order would
        var applied = LayerApplier.tar().apply(new ByteArrayInputStream(tar().dir("lib", 0755).file("lib/ok", "ok")
                .build()), target, LAYER);
        applied.finish(List.of(lower));
        assertEquals("ok", read(target.resolve("lib/ok")));
        assertSentinelUntouched();
    }

    // ---- hostile layers ----

    @Test
    void dotDotEscapeIsRejected() throws IOException {
        assertHostile(tar().file("../x", "evil").build(), "../x");
        assertHostile(tar().file("../sentinel/pwned", "evil").build(), "../sentinel/pwned");
        assertHostile(tar().file("a/../../x", "evil").build(), "a/../../x");
    }

    @Test
    void absoluteEscapeIsRejected() throws IOException {
        assertHostile(tar().file("/../../etc/x", "evil").build(), "/../../etc/x");
    }

    @Test
    void hardlinkEscapingTheLayerIsRejected() throws IOException {
        assertHostile(tar().hardlink("passwd", "../../etc/passwd").build(), "passwd");
        assertHostile(tar().hardlink("secret", "../sentinel/secret").build(), "secret");
        assertHostile(tar().hardlink("abs", "/../sentinel/secret").build(), "abs");
    }

    @Test
    void hardlinkToATargetMissingFromEveryLayerIsRejected() throws IOException {
        assertHostile(tar().hardlink("link", "not/extracted/yet").build(), "link");
    }

    @Test
    void writingThroughASymlinkedParentIsRejected() throws IOException {
        assertHostile(tar().symlink("a", sentinel.toString()).file("a/b", "evil").build(), "a/b");
        assertHostile(tar().symlink("a", "../sentinel").file("a/b", "evil").build(), "a/b");
        assertHostile(tar().symlink("a", sentinel.toString()).dir("a/sub", 0755).build(), "a/sub/");
        assertHostile(tar().symlink("a", sentinel.toString()).symlink("a/l", "/etc/passwd").build(), "a/l");
        assertHostile(tar().dir("d", 0755).symlink("d", sentinel.toString()).file("d/b", "evil").build(), "d/b");
        assertHostile(tar().symlink("a", sentinel.toString()).file("a/.wh.secret", "").build(), "a/.wh.secret");
        assertHostile(tar().symlink("a", sentinel.toString()).file("a/.wh..wh..opq", "").build(),
                "a/.wh..wh..opq");
        assertHostile(tar().symlink("a", sentinel.toString()).fifo("a/fifo").build(), "a/fifo");
    }

    @Test
    void hardlinkThroughASymlinkedParentIsRejected() throws IOException {
        assertHostile(tar().symlink("s", sentinel.toString()).hardlink("stolen", "s/secret").build(), "stolen");
    }

    @Test
    void namesTheFileSystemCannotHoldAreRejected() throws IOException {
        assertHostile(tar().file("x".repeat(256), "long").build(), "x".repeat(256));
        assertHostile(tar().file(("d".repeat(200) + "/").repeat(16) + "f", "deep").build(),
                ("d".repeat(200) + "/").repeat(16) + "f");
    }

    @Test
    void ownersOutOfRangeAndHugeSparseFilesAreRejected() throws IOException {
        assertHostile(RawTar.tar().paxText(Map.of("uid", "4294967296")).file("big-uid", "x").build(), "big-uid");
        assertHostile(RawTar.tar().paxText(Map.of("uid", "-1")).file("negative-uid", "x").build(), "negative-uid");
        RawTar.Header negativeGid = RawTar.header("negative-gid", '0').owner(0, -2);
        negativeGid.base256 = true;
        assertHostile(RawTar.tar().header(negativeGid).build(), "negative-gid");
        assertHostile(RawTar.tar()
                .paxText(Map.of("GNU.sparse.size", String.valueOf(1L << 40), "GNU.sparse.map", ((1L << 40) - 1) + ",1",
                        "GNU.sparse.name", "huge"))
                .header(RawTar.header("GNUSparseFile.0/huge", '0').size(1)).data("x".getBytes()).build(), "huge");
    }

    @Test
    void unsupportedEntryTypesAreRejected() throws IOException {
        assertHostile(RawTar.tar().header(RawTar.header("volume", 'V')).build(), "volume");
        assertHostile(RawTar.tar().header(RawTar.header("weird", 'Z')).build(), "weird");
    }

    @Test
    void oversizedExtendedHeadersAreRejectedWithoutReadingThemIntoMemory() throws IOException {
        RawTar.Header huge = RawTar.header("././@PaxHeader", 'x').size(1L << 40);
        huge.base256 = true;
        assertHostile(RawTar.tar().file("first", "f").header(huge).build(), null);
        RawTar.Header longName = RawTar.header("././@LongLink", 'L').size(64L << 20);
        assertHostile(RawTar.tar().header(longName).build(), null);
    }

    // ---- corrupt tars ----

    @Test
    void truncatedTarIsDataLoss() {
        byte[] whole = tar().file("big", new byte[100_000], 0644).build();
        assertCorrupt(TarFixtures.truncate(whole, 50_000));
        assertCorrupt(TarFixtures.truncate(whole, 300)); // inside the first header
    }

    @Test
    void aTarThatLiesAboutSizesIsDataLoss() {
        // the header promises more data than the stream has
        assertCorrupt(RawTar.tar().header(RawTar.header("f", '0').size(10_000)).data(new byte[100]).bytes());
        // a PAX size that makes the reader take the next header for data, and data for a header
        assertCorrupt(RawTar.tar().paxText(Map.of("size", "3")).file("f", "0123456789".repeat(100))
                .file("g", "g").build());
        RawTar.Header negative = RawTar.header("f", '0');
        negative.negativeSize = true;
        assertCorrupt(RawTar.tar().header(negative).build());
        // a sparse map that does not add up to the data stored
        RawTar.Header sparse = RawTar.header("s", 'S').format("gnu").size(10);
        sparse.realSize = 100;
        sparse.sparse = List.of(new long[] {0, 5}, new long[] {90, 20});
        assertCorrupt(RawTar.tar().header(sparse).data(new byte[10]).build());
    }

    @Test
    void aBadChecksumIsDataLoss() {
        RawTar.Header h = RawTar.header("f", '0').size(1);
        h.checksumError = 1;
        assertCorrupt(RawTar.tar().header(h).data("x".getBytes()).build());
        assertCorrupt("not a tar at all, just some text that goes on for a while".repeat(20).getBytes());
    }

    private void assertCorrupt(byte[] tar) {
        var e = assertThrows(SinglepullException.class, () -> apply(tar));
        assertEquals(ErrorKind.DATA_LOSS, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(LAYER), e.getMessage());
        try {
            FileTrees.deleteContents(target);
        } catch (IOException io) {
            throw new java.io.UncheckedIOException(io);
        }
    }

    private void assertHostile(byte[] tar, String entry) throws IOException {
        var e = assertThrows(SinglepullException.class, () -> apply(tar));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(LAYER), e.getMessage());
        if (entry != null) {
            assertTrue(e.getMessage().contains("entry '" + entry + "'"), e.getMessage());
        }
        assertSentinelUntouched();
        try (Stream<Path> children = Files.list(base)) {
            assertEquals(List.of(target, sentinel), children.filter(p -> !p.endsWith("layers")).sorted().toList());
        }
        // fresh target for the next case
        FileTrees.deleteContents(target);
    }

    private void assertSentinelUntouched() throws IOException {
        try (Stream<Path> children = Files.list(sentinel)) {
            assertEquals(List.of(sentinel.resolve("secret")), children.toList());
        }
        assertArrayEquals("keep".getBytes(), Files.readAllBytes(sentinel.resolve("secret")));
    }
}

package dev.singlepull.unpack.tar;

import static dev.singlepull.unpack.testing.TarFixtures.tar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.testing.FileTrees;
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
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarApplierTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final String LAYER = "sha256:layer-under-test";

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
        return LayerApplier.tar().apply(new ByteArrayInputStream(tar), target, LAYER);
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 07777;
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
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
        assertEquals(new ApplyStats(23, 6, 0), stats);
    }

    @Test
    void longNamesAndLongLinkTargets() throws IOException {
        String dir = "d".repeat(120) + "/" + "e".repeat(90);
        String file = dir + "/" + "f".repeat(200) + ".txt";
        String linkTarget = "/" + "t".repeat(150) + "/target";
        apply(tar()
                .file(file, "long")
                .symlink("short-link", linkTarget)
                .hardlink("g".repeat(180), file)
                .build());

        assertTrue(file.length() > 100);
        assertEquals("long", read(target.resolve(file)));
        assertEquals(Path.of(linkTarget), Files.readSymbolicLink(target.resolve("short-link")));
        assertEquals("long", read(target.resolve("g".repeat(180))));
    }

    @Test
    void modesIncludingSpecialBitsAndReadOnlyDirectories() throws IOException {
        apply(tar()
                .file("private", "p".getBytes(), 0600)
                .file("tool", "t".getBytes(), 0755)
                .file("suid", "s".getBytes(), 04755)
                .dir("shared", 02775)
                .dir("tmp", 01777)
                .dir("ro", 0555)
                .file("ro/inside", "written before the directory became read-only".getBytes(), 0444)
                .build());

        assertEquals(0600, mode(target.resolve("private")));
        assertEquals(0755, mode(target.resolve("tool")));
        assertEquals(0444, mode(target.resolve("ro/inside")));
        assertEquals(0555, mode(target.resolve("ro")));
        // setuid, setgid and sticky: through the JDK's unix:mode attribute (rwx-only where it is missing)
        assertEquals(04755, mode(target.resolve("suid")));
        assertEquals(02775, mode(target.resolve("shared")));
        assertEquals(01777, mode(target.resolve("tmp")));
    }

    @Test
    void mtimesOnFilesDirectoriesAndSymlinks() throws IOException {
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
    void ownersWhenRunningAsRoot() throws IOException {
        assumeTrue(Integer.valueOf(0).equals(Files.getAttribute(target, "unix:uid")), "needs root");
        apply(tar().owner(1234, 5678)
                .dir("d", 0755).file("d/f", "x").symlink("d/l", "/nonexistent")
                .build());

        for (String name : List.of("d", "d/f", "d/l")) {
            assertEquals(1234, Files.getAttribute(target.resolve(name), "unix:uid", NOFOLLOW), name);
            assertEquals(5678, Files.getAttribute(target.resolve(name), "unix:gid", NOFOLLOW), name);
        }
    }

    @Test
    void rootEntrySetsTheTargetDirectorysMode() throws IOException {
        apply(tar().dir("./", 0750).file("./a", "a").build());
        assertEquals(0750, mode(target));
        assertEquals("a", read(target.resolve("a")));
    }

    @Test
    void whiteoutsAreKeptAsEmptyFiles() throws IOException {
        ApplyStats stats = apply(tar()
                .file(".wh.removed", "")
                .dir("opaque", 0755)
                .file("opaque/.wh..wh..opq", "")
                .build());

        assertTrue(Files.isRegularFile(target.resolve(".wh.removed"), NOFOLLOW));
        assertEquals(0, Files.size(target.resolve(".wh.removed")));
        assertTrue(Files.isRegularFile(target.resolve("opaque/.wh..wh..opq"), NOFOLLOW));
        assertEquals(3, stats.files());
    }

    @Test
    void devicesAndFifosAreSkippedAndCounted() throws IOException {
        ApplyStats stats = apply(tar()
                .charDevice("dev/null", 1, 3)
                .blockDevice("dev/sda", 8, 0)
                .fifo("run/pipe")
                .file("kept", "k")
                .build());

        assertEquals(3, stats.skipped());
        assertEquals(1, stats.files());
        assertFalse(Files.exists(target.resolve("dev/null"), NOFOLLOW));
        assertFalse(Files.exists(target.resolve("run/pipe"), NOFOLLOW));
    }

    @Test
    void leadingSlashDotSlashAndInnerDotDotStayInside() throws IOException {
        apply(tar().file("/abs/file", "1").file("./rel", "2").file("a/../b", "3").build());
        assertEquals("1", read(target.resolve("abs/file")));
        assertEquals("2", read(target.resolve("rel")));
        assertEquals("3", read(target.resolve("b")));
        assertFalse(Files.exists(target.resolve("a")));
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
    }

    @Test
    void hardlinkToAMissingTargetIsRejected() throws IOException {
        assertHostile(tar().hardlink("link", "not/extracted/yet").build(), "link");
    }

    @Test
    void writingThroughASymlinkedParentIsRejected() throws IOException {
        assertHostile(tar().symlink("a", sentinel.toString()).file("a/b", "evil").build(), "a/b");
        assertHostile(tar().symlink("a", "../sentinel").file("a/b", "evil").build(), "a/b");
        assertHostile(tar().symlink("a", sentinel.toString()).dir("a/sub", 0755).build(), "a/sub/");
        assertHostile(tar().symlink("a", sentinel.toString()).symlink("a/l", "/etc/passwd").build(), "a/l");
        assertHostile(tar().dir("d", 0755).symlink("d", sentinel.toString()).file("d/b", "evil").build(), "d/b");
    }

    @Test
    void hardlinkThroughASymlinkedParentIsRejected() throws IOException {
        assertHostile(tar().symlink("s", sentinel.toString()).hardlink("stolen", "s/secret").build(), "stolen");
    }

    @Test
    void truncatedTarIsDataLoss() {
        byte[] whole = tar().file("big", new byte[100_000], 0644).build();
        var e = assertThrows(SinglepullException.class, () -> apply(TarFixtures.truncate(whole, 50_000)));
        assertEquals(ErrorKind.DATA_LOSS, e.kind());
        assertTrue(e.getMessage().contains(LAYER), e.getMessage());
    }

    private void assertHostile(byte[] tar, String entry) throws IOException {
        var e = assertThrows(SinglepullException.class, () -> apply(tar));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(LAYER), e.getMessage());
        assertTrue(e.getMessage().contains("'" + entry + "'"), e.getMessage());
        assertSentinelUntouched();
        try (Stream<Path> children = Files.list(base)) {
            assertEquals(List.of(target, sentinel), children.sorted().toList());
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

    private static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW).fileKey();
    }
}

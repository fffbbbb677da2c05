package dev.singlepull.unpack.tar;

import static dev.singlepull.unpack.testing.TarFixtures.tar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.unpack.testing.FileTrees;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FlattenerTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final boolean ROOT = PosixCalls.geteuid() == 0;
    private static final Instant T1 = Instant.parse("2021-03-04T05:06:07.1234567Z") /* what commons-compress writes */;

    @TempDir
    Path base;
    Path sentinel;

    @BeforeEach
    void setUp() throws IOException {
        sentinel = Files.createDirectory(base.resolve("sentinel"));
        Files.writeString(sentinel.resolve("secret"), "keep");
    }

    /** Applies the tars as a stack of layer directories, each finished over the ones below. */
    private List<Path> stack(boolean overlay, byte[]... tars) throws IOException {
        List<Path> layers = new ArrayList<>();
        for (int i = 0; i < tars.length; i++) {
            Path dir = Files.createDirectories(base.resolve((overlay ? "overlay" : "aufs") + "/layer" + i));
            AppliedLayer applied = new TarApplier(overlay).apply(new ByteArrayInputStream(tars[i]), dir, "l" + i);
            applied.finish(layers.reversed());
            layers.add(dir);
        }
        return layers;
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 07777;
    }

    private static Object inode(Path p) throws IOException {
        return Files.getAttribute(p, "unix:ino", NOFOLLOW);
    }

    private static byte[][] image() {
        byte[] bottom = tar()
                .dir("./", 0755)
                .mtime(T1).dir("etc", 0751)
                .file("etc/passwd", "root:x:0:0\n")
                .file("etc/motd", "hello\n")
                .dir("var", 0755).dir("var/cache", 0755).dir("var/cache/apt", 0700)
                .file("var/cache/apt/a", "a").file("var/cache/apt/b", "b")
                .dir("bin", 0755).file("bin/sh", "SH".getBytes(), 0755).hardlink("bin/ash", "bin/sh")
                .symlink("lib", "usr/lib")
                .dir("usr", 0755).dir("usr/lib", 0755).file("usr/lib/libc.so", "libc")
                .xattr("user.a", "1").dir("d", 0755)
                .file("d/old", "old")
                .file("replaced", "a file")
                .fifo("fifo")
                .build();
        byte[] middle = tar()
                .file("etc/.wh.motd", "")
                .dir("var/cache/apt", 0755).file("var/cache/apt/.wh..wh..opq", "").file("var/cache/apt/new", "n")
                .dir("lib", 0700).file("lib/own", "own") // a directory replaces the lower symlink
                .xattr("user.b", "2").dir("d", 0750)
                .file("d/new", "new")
                .symlink("replaced", "/etc/passwd")
                .hardlink("sh2", "bin/sh") // a hard link to the layer below: copied up
                .file("x/1", "x1").hardlink("x/2", "x/1")
                .build();
        byte[] top = tar()
                .file(".wh.var", "")
                .dir("var", 0710).file("var/fresh", "f")
                .file(".wh.fifo", "")
                .build();
        return new byte[][] {bottom, middle, top};
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aStackFlattensToWhatExtractingTheLayersInOrderGives(boolean overlay) throws IOException {
        assumeTrue(!overlay || ROOT, "the overlay convention needs root");
        Path out = base.resolve("out");
        Flattener.Result result = Flattener.flatten(stack(overlay, image()), out);

        assertEquals("root:x:0:0\n", Files.readString(out.resolve("etc/passwd")));
        assertFalse(Files.exists(out.resolve("etc/motd"), NOFOLLOW), "whited out");
        assertEquals(0751, mode(out.resolve("etc")));
        assertEquals(FileTime.from(T1), Files.getLastModifiedTime(out.resolve("etc"), NOFOLLOW),
                "the directory time survives files being added and removed in it");
        assertEquals(List.of("fresh"), list(out.resolve("var")), "var deleted and made again");
        assertEquals(0710, mode(out.resolve("var")));
        assertEquals(inode(out.resolve("bin/sh")), inode(out.resolve("bin/ash")));
        assertEquals(inode(out.resolve("bin/sh")), inode(out.resolve("sh2")), "hard link to a lower file");
        assertEquals(inode(out.resolve("x/1")), inode(out.resolve("x/2")));
        assertEquals("SH", Files.readString(out.resolve("sh2")));
        assertTrue(Files.isDirectory(out.resolve("lib"), NOFOLLOW));
        assertEquals(List.of("own"), list(out.resolve("lib")));
        assertEquals(0700, mode(out.resolve("lib")));
        assertEquals("libc", Files.readString(out.resolve("usr/lib/libc.so")));
        assertEquals(List.of("new", "old"), list(out.resolve("d")));
        assertEquals(0750, mode(out.resolve("d")));
        assertNull(PosixCalls.lgetxattr(out.resolve("d"), "user.a"), "a directory shows its topmost layer's xattrs");
        assertArrayEquals("2".getBytes(), PosixCalls.lgetxattr(out.resolve("d"), "user.b"));
        assertEquals(Path.of("/etc/passwd"), Files.readSymbolicLink(out.resolve("replaced")));
        assertFalse(Files.exists(out.resolve("fifo"), NOFOLLOW));
        try (var all = Files.walk(out)) {
            for (Path p : all.toList()) {
                assertFalse(p.getFileName().toString().startsWith(".wh."), "marker left: " + p);
                assertFalse(Whiteouts.isOverlayWhiteout(Nodes.lstat(p)), "whiteout left: " + p);
                assertNull(PosixCalls.lgetxattr(p, Whiteouts.OPAQUE_XATTR), "overlay xattr left: " + p);
            }
        }
        assertTrue(result.entries() > 20);
    }

    @Test
    void bothConventionsFlattenToTheSameTree() throws IOException {
        assumeTrue(ROOT, "the overlay convention needs root");
        Path overlay = base.resolve("from-overlay");
        Path aufs = base.resolve("from-aufs");
        Flattener.flatten(stack(true, image()), overlay);
        Flattener.flatten(stack(false, image()), aufs);
        Map<String, String> expected = new java.util.TreeMap<>(FileTrees.describe(overlay));
        Map<String, String> actual = new java.util.TreeMap<>(FileTrees.describe(aufs));
        for (String madeNow : List.of("", "x")) { // directories no tar lists: their times are when they were made
            expected.remove(madeNow);
            actual.remove(madeNow);
        }
        assertEquals(expected, actual);
    }

    @Test
    void devicesOwnersAndXattrsAreCopiedAsRoot() throws IOException {
        assumeTrue(ROOT, "needs root");
        Path out = base.resolve("out");
        Flattener.flatten(stack(true, tar().owner(33, 44).charDevice("dev/tty", 5, 0).xattr("trusted.t", "v")
                .xattr("security.s", "w").file("f", "f").build()), out);
        assertEquals(PosixCalls.makedev(5, 0), Files.getAttribute(out.resolve("dev/tty"), "unix:rdev", NOFOLLOW));
        assertEquals(33, Files.getAttribute(out.resolve("dev/tty"), "unix:uid", NOFOLLOW));
        assertEquals(44, Files.getAttribute(out.resolve("f"), "unix:gid", NOFOLLOW));
        assertArrayEquals("v".getBytes(), PosixCalls.lgetxattr(out.resolve("f"), "trusted.t"));
        assertArrayEquals("w".getBytes(), PosixCalls.lgetxattr(out.resolve("f"), "security.s"));
    }

    @Test
    void neverWritesThroughASymlinkOfTheTreeBeingBuilt() throws IOException {
        // layer directories made by hand, as a corrupted or hostile snapshot could look
        Path lower = Files.createDirectories(base.resolve("hand/lower"));
        Files.createSymbolicLink(lower.resolve("evil"), sentinel);
        Files.createSymbolicLink(lower.resolve("evil2"), sentinel);
        Path upper = Files.createDirectories(base.resolve("hand/upper/evil"));
        Files.writeString(upper.resolve("secret"), "overwritten?");
        Files.createDirectories(base.resolve("hand/upper/evil2"));
        Files.createFile(base.resolve("hand/upper/evil2/.wh.secret"));
        Path upperRoot = base.resolve("hand/upper");
        Path top = Files.createDirectories(base.resolve("hand/top"));
        Files.createFile(top.resolve(".wh..wh..opq")); // an opaque root: empties everything below

        Path out = base.resolve("out");
        Flattener.flatten(List.of(lower, upperRoot), out);
        assertTrue(Files.isDirectory(out.resolve("evil"), NOFOLLOW));
        assertEquals("overwritten?", Files.readString(out.resolve("evil/secret")));
        assertEquals("keep", Files.readString(sentinel.resolve("secret")));
        assertEquals(List.of("secret"), list(sentinel));

        Path out2 = base.resolve("out2");
        Flattener.flatten(List.of(lower, top), out2);
        assertEquals(List.of(), list(out2));
        assertEquals(List.of("secret"), list(sentinel));
    }

    @Test
    void theTargetMustBeEmpty() throws IOException {
        Path out = Files.createDirectories(base.resolve("out"));
        Files.writeString(out.resolve("there"), "x");
        Path layer = Files.createDirectories(base.resolve("l"));
        assertThrows(IOException.class, () -> Flattener.flatten(List.of(layer), out));
        assertThrows(IOException.class, () -> Flattener.flatten(List.of(base.resolve("missing")),
                base.resolve("out3")));
    }

    private static List<String> list(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}

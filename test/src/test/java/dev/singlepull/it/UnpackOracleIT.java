package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.cli.Main;
import dev.singlepull.it.fixture.BuiltImage;
import dev.singlepull.it.fixture.Compression;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.LayerTar;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.it.fixture.UmociOracle;
import dev.singlepull.it.fixture.UmociOracle.Layer;
import dev.singlepull.it.fixture.UmociOracle.Node;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unpack oracle: an image with every kind of layer entry is pushed to the real registry, pulled through
 * singlepull and written out with {@code singlepull export} (beside the running service); umoci unpacks the same image
 * from an OCI layout. The two root filesystems must agree in every path, type, mode, owner, link target, content,
 * extended attribute, device number, hard link and mtime.
 */
@Timeout(600)
class UnpackOracleIT {
    private static final Instant M1 = Instant.parse("2023-05-06T07:08:09Z");
    private static final Instant M2 = Instant.parse("2024-02-03T04:05:06Z");
    private static final Instant M4 = Instant.parse("2025-01-01T12:00:00Z");
    private static final byte[] CAPABILITY = {1, 0, 0, 2, (byte) 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    private static RegistryProcess registry;
    private static SinglepullServer server;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
        server = SinglepullServer.start();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    @Test
    void singlepullExportMatchesUmociUnpack(@TempDir Path tmp) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "umoci unpacks owners and devices as root only");
        List<Layer> layers = List.of(
                new Layer(base(), Compression.GZIP),
                new Layer(changes(), Compression.ZSTD),
                new Layer(sparse(tmp, "1.0"), Compression.NONE),
                new Layer(LayerTar.pax().append(sparse(tmp, "0.1")).append(top()).build(), Compression.GZIP));
        Pulled pulled = pullExportAndCompareWithUmoci(tmp, "it/oracle", layers);
        PushedImage pushed = pulled.pushed();
        Path exported = pulled.exported();
        Map<String, Node> actual = pulled.actual();

        // the cases are really there (an oracle that agrees on an empty tree proves nothing)
        assertEquals("char", actual.get("dev/null").type());
        assertEquals("1:3", actual.get("dev/null").rdev());
        assertEquals("8:0", actual.get("dev/sda").rdev());
        assertEquals("fifo", actual.get("dev/initctl").type());
        assertTrue(!actual.containsKey("dev/tty") && !actual.containsKey("etc/motd") && !actual.containsKey("srv"));
        assertEquals(Set.of("var/cache/apt/fresh"), Set.copyOf(actual.keySet().stream()
                .filter(p -> p.startsWith("var/cache/apt/")).toList()));
        assertNotEquals(actual.get("bin/busybox").ino(), actual.get("bin/sh").ino(), "layer 4 replaced busybox");
        assertEquals(actual.get("usr/lib/libz.so.1").ino(), actual.get("usr/lib/libz.so.1.2.13").ino());
        assertNotEquals(actual.get("etc/passwd").ino(), actual.get("etc/passwd-link").ino());
        assertEquals(hex(CAPABILITY), actual.get("usr/bin/ping").xattrs().get("security.capability"));
        assertEquals(hex("t".getBytes()), actual.get("usr/bin/trusted").xattrs().get("trusted.oracle"));
        assertEquals(hex("kept".getBytes()), actual.get("var/log").xattrs().get("user.logdir"));
        assertEquals(Map.of(), actual.get("etc").xattrs(), "layer 4 lists etc without xattrs: they are gone");
        assertEquals(0700, actual.get("opt").mode(), "the directory layer 2 did not list keeps layer 1's mode");
        assertEquals(04755, actual.get("usr/bin/passwd").mode());
        assertEquals("1600000000123456789", actual.get("usr/bin/precise").mtimeNs());
        assertEquals(4000000, actual.get("var/lib/big-ids").uid());
        assertTrue(actual.get("sparse-1.0.img").blocks() * 512 < 4 << 20, "holes kept: "
                + actual.get("sparse-1.0.img").blocks());
        assertEquals(Set.of("new"), Set.copyOf(actual.keySet().stream().filter(p -> p.startsWith("usr/share/doc/"))
                .map(p -> p.substring("usr/share/doc/".length())).toList()));

        // by image id too; an unknown image and a target that is not empty are refused
        Path byId = tmp.resolve("export-by-id");
        assertEquals(0, Main.run("export", "--root", server.root().toString(), pushed.configDigest(),
                byId.toString()));
        assertEquals(List.of(), UmociOracle.compare(actual, UmociOracle.describe(byId), Set.of(".")));
        assertEquals(1, Main.run("export", "--root", server.root().toString(), "it/never-pulled:v1",
                tmp.resolve("nothing").toString()));
        assertEquals(1, Main.run("export", "--root", server.root().toString(), pushed.reference(),
                exported.toString()), "the target must be new or empty");
    }

    /**
     * Times before 1970 (a GNU tar's negative base-256 mtime, as in the field report, and a PAX mtime with a fraction)
     * and far ahead: pulled, unpacked and exported as umoci unpacks them, to the nanosecond.
     */
    @Test
    void timesBefore1970AndFarAheadMatchUmoci(@TempDir Path tmp) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "umoci unpacks as root only");
        Instant dayBefore1970 = Instant.parse("1969-12-31T00:00:00Z");
        byte[] gnu = LayerTar.gnu().mtime(dayBefore1970)
                .dir("epoch", 0755)
                .file("epoch/day-before", "a day before 1970\n", 0644)
                .symlink("epoch/link", "day-before")
                .mtime(Instant.parse("1920-06-01T12:00:00Z")).file("epoch/1920", "older\n", 0644)
                .mtime(Instant.parse("2250-01-01T00:00:00Z")).file("epoch/2250", "past the octal field\n", 0644)
                .build();
        byte[] pax = LayerTar.pax().mtime(Instant.ofEpochSecond(-2, 500_000_000))
                .dir("epoch", 0755)
                .file("epoch/fraction-before", "a second and a half before 1970\n", 0644)
                .mtime(Instant.parse("2200-02-03T04:05:06.789Z")).file("epoch/2200", "far ahead\n", 0644)
                .mtime(dayBefore1970).dir("epoch", 0755) // listed again last: the directory's time is this
                .build();
        List<Layer> layers = List.of(new Layer(gnu, Compression.GZIP), new Layer(pax, Compression.GZIP));
        Pulled pulled = pullExportAndCompareWithUmoci(tmp, "it/old-times", layers);
        Map<String, Node> actual = pulled.actual();

        Path dayBefore = pulled.exported().resolve("epoch/day-before");
        assertEquals(FileTime.from(dayBefore1970), Files.getLastModifiedTime(dayBefore, LinkOption.NOFOLLOW_LINKS),
                "1969-12-31 on disk");
        assertEquals(String.valueOf(-86_400L * 1_000_000_000L), actual.get("epoch/day-before").mtimeNs());
        assertEquals(String.valueOf(-86_400L * 1_000_000_000L), actual.get("epoch").mtimeNs());
        assertEquals(String.valueOf(-86_400L * 1_000_000_000L), actual.get("epoch/link").mtimeNs());
        assertEquals("-1500000000", actual.get("epoch/fraction-before").mtimeNs());
        assertEquals(Instant.parse("1920-06-01T12:00:00Z").getEpochSecond() + "000000000",
                actual.get("epoch/1920").mtimeNs());
        assertEquals(Instant.parse("2250-01-01T00:00:00Z").getEpochSecond() + "000000000",
                actual.get("epoch/2250").mtimeNs());
        assertEquals(Instant.parse("2200-02-03T04:05:06Z").getEpochSecond() + "789000000",
                actual.get("epoch/2200").mtimeNs());
    }

    /** An image pulled through the service and exported, and what the export holds. */
    private record Pulled(PushedImage pushed, Path exported, Map<String, Node> actual) { }

    /**
     * Pushes an image of {@code layers} to the registry, pulls it through the service, exports it beside the running
     * service (which holds the root's lock), unpacks it with umoci, and asserts the two trees agree.
     */
    private static Pulled pullExportAndCompareWithUmoci(Path tmp, String repository, List<Layer> layers)
            throws Exception {
        BuiltImage image = UmociOracle.build(repository, "v1", layers);
        PushedImage pushed = TestImages.push(registry.baseUri(), null, image, repository, "v1");
        try (CriClient cri = server.client()) {
            assertEquals(pushed.configDigest(), cri.images().pullImage(Cri.pull(pushed.reference())).getImageRef());
        }
        Path exported = tmp.resolve("export");
        assertEquals(0, Main.run("export", "--root", server.root().toString(), pushed.reference(),
                exported.toString()));

        UmociOracle.writeLayout(image, layers, tmp.resolve("layout"), "v1");
        Path rootfs = UmociOracle.unpack(tmp.resolve("layout"), "v1", tmp.resolve("bundle"));
        Map<String, Node> expected = UmociOracle.describe(rootfs);
        Map<String, Node> actual = UmociOracle.describe(exported);
        // the root's mtime: umoci leaves it at the time it added the last entry
        List<String> diffs = UmociOracle.compare(expected, actual, Set.of("."));
        assertTrue(diffs.isEmpty(), "singlepull export differs from umoci unpack in " + diffs.size()
                + " ways:\n  " + String.join("\n  ", diffs));
        return new Pulled(pushed, exported, actual);
    }

    private static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    /** Layer 1: a base system with every kind of entry. */
    private static byte[] base() {
        byte[] busybox = new byte[20_000];
        new SplittableRandom(1).nextBytes(busybox);
        String longDir = "long/" + "d".repeat(120);
        return LayerTar.pax().mtime(M1)
                .dir("./", 0755)
                .xattr("user.dirnote", "etc dir").dir("etc", 0755)
                .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644)
                .owner(0, 42).file("etc/shadow", "root:*:1::::::\n", 0640).owner(0, 0)
                .file("etc/motd", "welcome\n", 0644)
                .file("etc/hostname", "oracle\n", 0644)
                .dir("bin", 0755)
                .file("bin/busybox", busybox, 0755)
                .hardlink("bin/sh", "bin/busybox")
                .symlink("bin/ls", "busybox")
                .dir("usr", 0755).dir("usr/bin", 0755).dir("usr/lib", 0755).dir("usr/local", 0755)
                .dir("usr/share", 0755).dir("usr/share/doc", 0755)
                .file("usr/share/doc/a", "a", 0644).file("usr/share/doc/b", "b", 0644)
                .symlink("usr/bin/env", "../../bin/busybox")
                .symlink("lib", "usr/lib")
                .file("usr/lib/libc.so.6", "libc", 0755)
                .file("usr/lib/libz.so.1.2.13", "libz", 0644)
                .symlink("usr/local/a", "b").symlink("usr/local/b", "c").symlink("usr/local/c", "/usr/lib/libc.so.6")
                .symlink("usr/local/dangling", "/nonexistent/target")
                .file("usr/bin/passwd", "passwd", 04755)
                .owner(0, 5).file("usr/bin/wall", "wall", 02755).owner(0, 0)
                .xattr("security.capability", CAPABILITY).xattr("user.comment", "ping")
                .file("usr/bin/ping", "ping", 0755)
                .xattr("trusted.oracle", "t").file("usr/bin/trusted", "t", 0644)
                .mtime(Instant.ofEpochSecond(1600000000L, 123456789)).file("usr/bin/precise", "p", 0644).mtime(M1)
                .dir("tmp", 01777)
                .dir("var", 0755).dir("var/lib", 0755).dir("var/cache", 0755).dir("var/cache/apt", 0700)
                .file("var/cache/apt/pkgcache.bin", "cache", 0644).file("var/cache/apt/srcpkgcache.bin", "src", 0644)
                .xattr("user.logdir", "kept").dir("var/log", 0755).file("var/log/dpkg.log", "log", 0644)
                .owner(1000, 1000).dir("opt", 0700).dir("opt/app", 0750).file("opt/app/run.sh", "run", 0755)
                .owner(0, 0).dir("home", 0755)
                .owner(1000, 1000).dir("home/user", 0750).file("home/user/.profile", "export PS1", 0600)
                .owner(65534, 65534).file("var/lib/nobody-owned", "n", 0644)
                .owner(4000000, 4000001).file("var/lib/big-ids", "b", 0644)
                .owner(0, 0).dir("dev", 0755).charDevice("dev/null", 0666, 1, 3).charDevice("dev/tty", 0666, 5, 0)
                .owner(0, 6).blockDevice("dev/sda", 0660, 8, 0).owner(0, 0)
                .fifo("dev/initctl", 0600)
                .dir("srv", 0755).dir("srv/data", 0755).file("srv/data/x", "x", 0644).file("srv/data/y", "y", 0644)
                .dir("srv/data/sub", 0755).file("srv/data/sub/z", "z", 0644)
                .file("file-becomes-dir", "f", 0644)
                .dir("dir-becomes-file", 0755).file("dir-becomes-file/inner", "i", 0644)
                .file("file-becomes-symlink", "f", 0644)
                .dir("long", 0755).dir(longDir, 0755).file(longDir + "/" + "f".repeat(150), "long name", 0644)
                .symlink("long/link", "/" + "t".repeat(130))
                .build();
    }

    /** Layer 2 (GNU long names): deletions, an opaque directory, replacements, hard links to layer 1. */
    private static byte[] changes() {
        String gnuFile = "gnu-long/" + "g".repeat(140);
        return LayerTar.gnu().mtime(M2)
                .xattr("user.dirnote", "etc dir v2").dir("etc", 0755)
                .whiteout("etc/motd")
                .hardlink("etc/passwd-link", "etc/passwd") // a link to layer 1's file ...
                .file("etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0644) // ... which this layer then replaces
                .whiteout("srv")
                .dir("var", 0755).dir("var/cache", 0755).dir("var/cache/apt", 0755)
                .opaque("var/cache/apt").file("var/cache/apt/fresh", "fresh", 0644)
                .dir("usr", 0755).dir("usr/lib", 0755)
                .hardlink("usr/lib/libz.so.1", "usr/lib/libz.so.1.2.13")
                .file("opt/added", "added", 0644) // opt is not listed: it stays layer 1's
                .dir("file-becomes-dir", 0750).file("file-becomes-dir/child", "c", 0644)
                .file("dir-becomes-file", "now a file", 0644)
                .symlink("file-becomes-symlink", "etc/hostname")
                .whiteout("home").dir("home", 0711).dir("home/newuser", 0700)
                .dir("gnu-long", 0755).file(gnuFile, "gnu long name", 0644)
                .symlink("gnu-long/l", "/" + "k".repeat(120))
                .hardlink("gnu-long/" + "h".repeat(110), gnuFile)
                .mtime(M1).dir("dev", 0755).mtime(M2).whiteout("dev/tty")
                .dir("usr/local", 0755).whiteout("usr/local/dangling")
                .build();
    }

    /** Layer 4's own entries: an opaque marker after its sibling, a file re-added with a new mode, a hard link broken. */
    private static byte[] top() {
        return LayerTar.pax().mtime(M4)
                .dir("usr", 0755).dir("usr/share", 0755).dir("usr/share/doc", 0755)
                .file("usr/share/doc/new", "new", 0644)
                .opaque("usr/share/doc") // after a sibling: hides the lower a and b, not this layer's new
                .dir("etc", 0755).file("etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0600)
                .dir("bin", 0755).file("bin/busybox", "a new busybox", 0755) // bin/sh keeps the old one
                .build();
    }

    /** A tar of one sparse file, written by GNU tar in PAX sparse format {@code version}. */
    private static byte[] sparse(Path tmp, String version) throws IOException, InterruptedException {
        Path dir = Files.createDirectories(tmp.resolve("sparse-" + version));
        String name = "sparse-" + version + ".img";
        try (var file = new RandomAccessFile(dir.resolve(name).toFile(), "rw")) {
            file.setLength(8 << 20);
            file.write("head".getBytes(StandardCharsets.US_ASCII));
            file.seek(4 << 20);
            file.write(new byte[] {1, 2, 3, 4, 5});
            file.seek((8 << 20) - 3);
            file.write("end".getBytes(StandardCharsets.US_ASCII));
        }
        Process tar = new ProcessBuilder("tar", "--sparse", "--format=pax", "--sparse-version=" + version,
                "--numeric-owner", "--owner=0", "--group=0", "--mtime=@1700000000", "-C", dir.toString(), "-cf", "-",
                name).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] out = tar.getInputStream().readAllBytes();
        assertTrue(tar.waitFor(60, TimeUnit.SECONDS) && tar.exitValue() == 0, "GNU tar failed");
        return out;
    }
}

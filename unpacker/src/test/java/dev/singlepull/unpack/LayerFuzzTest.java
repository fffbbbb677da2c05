package dev.singlepull.unpack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.singlepull.content.Digest;
import dev.singlepull.dedup.SingleFlight;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.tar.Flattener;
import dev.singlepull.unpack.testing.FileTrees;
import dev.singlepull.unpack.testing.InMemorySnapshotStore;
import dev.singlepull.unpack.testing.MapContentProvider;
import dev.singlepull.unpack.testing.RawTar;
import dev.singlepull.unpack.testing.TarFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Feeds random and mutated layer stacks through the unpacker (and committed stacks through the flattener) for a
 * fixed time, each case from its own seed. Asserts: only a {@link SinglepullException} of an expected kind escapes,
 * nothing is written outside the root, a failed layer leaves no snapshot and no staging directory, and nothing hangs.
 *
 * <p>{@code -Dfuzz.seconds=N} (default 30) sets the time; a failure prints the case's seed, and
 * {@code -Dfuzz.seed=S -Dfuzz.cases=1} replays exactly that case.
 */
@Timeout(600)
class LayerFuzzTest {
    private static final Set<ErrorKind> EXPECTED = EnumSet.of(ErrorKind.INVALID_ARGUMENT, ErrorKind.DATA_LOSS,
            ErrorKind.RESOURCE_EXHAUSTED);
    private static final Duration HANG = Duration.ofSeconds(30);
    private static final String[] NAMES = {"a", "b", "c", "d", "e", "lib", "usr", ".", "..", "", "é", "x y",
        ".wh.a", ".wh.d", ".wh..wh..opq", ".wh..", ".wh...", ".wh..wh.plnk", "GNUSparseFile.0"};

    @TempDir
    Path base;

    @Test
    void randomLayersNeverEscapeHangOrFailUnexpectedly() throws Exception {
        long seconds = Long.getLong("fuzz.seconds", 30);
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        long cases = Long.getLong("fuzz.cases", Long.MAX_VALUE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Map<String, Integer> outcomes = new java.util.TreeMap<>();
        long n = 0;
        for (; n < cases && (n == 0 || System.nanoTime() < deadline); n++) {
            long caseSeed = seed + n;
            try {
                runCase(caseSeed, outcomes);
            } catch (Throwable t) {
                throw new AssertionError("fuzz case failed; replay it with -Dfuzz.seed=" + caseSeed
                        + " -Dfuzz.cases=1: " + t, t);
            }
        }
        System.out.println("LayerFuzzTest: " + n + " cases from seed " + seed + " in " + seconds + " s: " + outcomes);
    }

    private void runCase(long seed, Map<String, Integer> outcomes) throws Exception {
        var random = new SplittableRandom(seed);
        Path sandbox = Files.createDirectory(base.resolve("case-" + seed));
        Path root = Files.createDirectory(sandbox.resolve("root"));
        Path sentinel = Files.createDirectory(sandbox.resolve("sentinel"));
        Files.writeString(sentinel.resolve("secret"), "keep");
        var store = new InMemorySnapshotStore();
        var content = new MapContentProvider();
        var snapshotter = new DirectorySnapshotter(root, store);
        var unpacker = new Unpacker(content, snapshotter, SingleFlight.<ChainId, SnapshotInfo>builder("chain").build(),
                new UnpackLimits(1).withExpansionLimit(50, 1 << 20).withLowerLayerWait(HANG));

        int layers = 1 + random.nextInt(3);
        ChainId parent = null;
        List<Path> committed = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            byte[] tar = mutate(randomTar(random, sentinel), random);
            String mediaType = switch (random.nextInt(3)) {
                case 0 -> TarFixtures.OCI_TAR;
                case 1 -> TarFixtures.OCI_GZIP;
                default -> TarFixtures.OCI_ZSTD;
            };
            byte[] blob = switch (mediaType) {
                case TarFixtures.OCI_GZIP -> TarFixtures.gzip(tar);
                case TarFixtures.OCI_ZSTD -> TarFixtures.zstd(tar);
                default -> tar;
            };
            if (random.nextInt(10) == 0) {
                blob = mutate(blob, random);
            }
            var layer = new LayerRef(content.put(blob), mediaType, blob.length, Digest.sha256(tar));
            ChainId chain = parent == null ? new ChainId(layer.diffId()) : parent.child(layer.diffId());
            ChainId below = parent;
            var outcome = new CompletableFuture<SnapshotInfo>();
            Thread.ofVirtual().start(() -> {
                try {
                    outcome.complete(unpacker.unpack(layer, chain, below));
                } catch (Throwable t) {
                    outcome.completeExceptionally(t);
                }
            });
            SnapshotInfo info;
            try {
                info = outcome.get(HANG.toSeconds(), TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                fail("unpacking layer " + i + " hangs");
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (!(cause instanceof SinglepullException se) || !EXPECTED.contains(se.kind())) {
                    throw new AssertionError("unexpected failure of layer " + i + ": " + cause, cause);
                }
                outcomes.merge(se.kind().name(), 1, Integer::sum);
                assertEquals(committed.size(), store.list().size(), "a failed layer commits nothing");
                assertClean(sandbox, root, sentinel, committed.size());
                break;
            }
            outcomes.merge("OK", 1, Integer::sum);
            committed.add(info.directory());
            parent = chain;
            assertClean(sandbox, root, sentinel, committed.size());
        }
        if (!committed.isEmpty()) {
            Flattener.flatten(committed, sandbox.resolve("export"));
            assertClean(sandbox, root, sentinel, committed.size());
        }
        FileTrees.deleteContents(sandbox);
        Files.delete(sandbox);
    }

    /** Only the root, the sentinel (untouched) and an export exist; the root holds only committed snapshots. */
    private static void assertClean(Path sandbox, Path root, Path sentinel, int snapshots) throws IOException {
        try (Stream<Path> children = Files.list(sandbox)) {
            for (Path child : children.toList()) {
                String name = child.getFileName().toString();
                if (!name.equals("root") && !name.equals("sentinel") && !name.equals("export")) {
                    fail("written outside the root: " + child);
                }
            }
        }
        try (Stream<Path> children = Files.list(sentinel)) {
            assertEquals(List.of(sentinel.resolve("secret")), children.toList());
        }
        assertEquals("keep", Files.readString(sentinel.resolve("secret")));
        try (Stream<Path> children = Files.list(root)) {
            assertEquals(List.of(root.resolve("snapshots")), children.toList(), "only snapshots/ in the root");
        }
        try (Stream<Path> children = Files.list(root.resolve("snapshots"))) {
            List<String> names = children.map(p -> p.getFileName().toString()).toList();
            assertEquals(snapshots, names.size(), "committed snapshots only, no staging left: " + names);
        }
    }

    // ---------------------------------------------------------------- generation

    private static byte[] randomTar(SplittableRandom r, Path sentinel) {
        RawTar tar = RawTar.tar();
        int entries = r.nextInt(12);
        for (int i = 0; i < entries; i++) {
            if (r.nextInt(6) == 0) {
                tar.pax(randomPax(r, sentinel));
            }
            if (r.nextInt(15) == 0) {
                tar.longName(randomName(r));
            }
            if (r.nextInt(20) == 0) {
                tar.longLink(randomLink(r, sentinel));
            }
            char type = pick(r, new char[] {'0', '0', '0', '5', '5', '2', '1', '3', '4', '6', '7', 'S', 'g', 'V',
                (char) r.nextInt(256)});
            RawTar.Header h = RawTar.header(randomName(r), type);
            h.mode = r.nextInt(8) == 0 ? r.nextInt(07777 + 1) : (type == '5' ? 0755 : 0644);
            h.uid = r.nextInt(4) == 0 ? r.nextInt(70000) : 0;
            h.gid = r.nextInt(4) == 0 ? r.nextInt(70000) : 0;
            h.mtime = r.nextLong(0, 1L << 32);
            h.linkName = type == '1' || type == '2' ? randomLink(r, sentinel) : "";
            h.devMajor = r.nextInt(3);
            h.devMinor = r.nextInt(3);
            h.format = pick(r, new String[] {"ustar", "ustar", "gnu", "v7"});
            if (r.nextInt(20) == 0) {
                h.prefix = randomName(r);
            }
            byte[] data = new byte[0];
            if (type == '0' || type == '7' || r.nextInt(10) == 0) {
                data = new byte[r.nextInt(4) == 0 ? r.nextInt(5000) : r.nextInt(64)];
                r.nextBytes(data);
            }
            if (type == 'S') {
                h.format = "gnu";
                h.realSize = r.nextInt(100_000);
                int segments = r.nextInt(6);
                long at = 0;
                long stored = 0;
                for (int s = 0; s < segments; s++) {
                    long length = r.nextInt(2000);
                    at += r.nextInt(3000);
                    h.sparse.add(new long[] {at, length});
                    at += length;
                    stored += length;
                }
                data = new byte[(int) stored];
            }
            h.size = r.nextInt(12) == 0 ? r.nextInt(20_000) : data.length; // sometimes a lie
            if (r.nextInt(40) == 0) {
                h.checksumError = 1 + r.nextInt(5);
            }
            if (r.nextInt(30) == 0) {
                h.base256 = true;
            }
            tar.header(h).data(data);
        }
        if (r.nextInt(30) == 0) { // a small bomb: lots of zeros compress well
            tar.header(RawTar.header("zeros", '0').size(2 << 20)).data(new byte[2 << 20]);
        }
        return r.nextInt(10) == 0 ? tar.bytes() : tar.build();
    }

    private static Map<String, byte[]> randomPax(SplittableRandom r, Path sentinel) {
        Map<String, byte[]> records = new LinkedHashMap<>();
        int count = 1 + r.nextInt(4);
        for (int i = 0; i < count; i++) {
            String key = pick(r, new String[] {"path", "linkpath", "size", "mtime", "uid", "gid",
                "SCHILY.xattr.user.x", "SCHILY.xattr.trusted.t", "SCHILY.xattr.security.s",
                "SCHILY.xattr.trusted.overlay.opaque", "SCHILY.xattr.", "GNU.sparse.major", "GNU.sparse.map",
                "GNU.sparse.realsize", "GNU.sparse.name", "GNU.sparse.offset", "hdrcharset"});
            byte[] value = switch (key) {
                case "path", "GNU.sparse.name" -> randomName(r).getBytes(StandardCharsets.UTF_8);
                case "linkpath" -> randomLink(r, sentinel).getBytes(StandardCharsets.UTF_8);
                case "size", "uid", "gid", "GNU.sparse.realsize", "GNU.sparse.offset" ->
                        pick(r, new String[] {"0", "7", "100", "-1", "99999999999999999999", "x", "1e3"})
                                .getBytes(StandardCharsets.US_ASCII);
                case "mtime" -> pick(r, new String[] {"1.5", "-3.25", "abc", "1e400", "12345678901234567890.1"})
                        .getBytes(StandardCharsets.US_ASCII);
                case "GNU.sparse.major" -> pick(r, new String[] {"0", "1", "2"}).getBytes(StandardCharsets.US_ASCII);
                case "GNU.sparse.map" -> pick(r, new String[] {"0,1", "0,1,5", "10,5,0,5", "", "a,b"})
                        .getBytes(StandardCharsets.US_ASCII);
                default -> {
                    byte[] b = new byte[r.nextInt(40)];
                    r.nextBytes(b);
                    yield b;
                }
            };
            records.put(key, value);
        }
        return records;
    }

    private static String randomName(SplittableRandom r) {
        if (r.nextInt(40) == 0) {
            return "n".repeat(200 + r.nextInt(200));
        }
        int parts = 1 + r.nextInt(3);
        var b = new StringBuilder(r.nextInt(8) == 0 ? "/" : r.nextInt(4) == 0 ? "./" : "");
        for (int i = 0; i < parts; i++) {
            if (i > 0) {
                b.append('/');
            }
            b.append(pick(r, NAMES));
        }
        if (r.nextInt(6) == 0) {
            b.append('/');
        }
        return b.toString();
    }

    private static String randomLink(SplittableRandom r, Path sentinel) {
        return switch (r.nextInt(6)) {
            case 0 -> sentinel.toString();
            case 1 -> sentinel.resolve("secret").toString();
            case 2 -> "../../../sentinel/secret";
            default -> randomName(r);
        };
    }

    private static byte[] mutate(byte[] data, SplittableRandom r) {
        if (data.length == 0 || r.nextInt(3) != 0) {
            return data;
        }
        byte[] out = data.clone();
        switch (r.nextInt(4)) {
            case 0 -> {
                for (int i = 0; i < 1 + r.nextInt(8); i++) {
                    out[r.nextInt(out.length)] = (byte) r.nextInt(256);
                }
            }
            case 1 -> out = java.util.Arrays.copyOf(out, r.nextInt(out.length));
            case 2 -> {
                int at = r.nextInt(out.length);
                byte[] block = new byte[512];
                r.nextBytes(block);
                var b = new java.io.ByteArrayOutputStream();
                b.write(out, 0, at);
                b.writeBytes(block);
                b.write(out, at, out.length - at);
                out = b.toByteArray();
            }
            default -> {
                int at = r.nextInt(out.length);
                out[at] ^= (byte) (1 << r.nextInt(8));
            }
        }
        return out;
    }

    private static <T> T pick(SplittableRandom r, T[] values) {
        return values[r.nextInt(values.length)];
    }

    private static char pick(SplittableRandom r, char[] values) {
        return values[r.nextInt(values.length)];
    }
}

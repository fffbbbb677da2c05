package dev.singlepull.load;

import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.snapshot.SnapshotSync;
import dev.singlepull.unpack.snapshot.Staging;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Not a test: what making a snapshot durable costs with each {@code snapshot_sync} mode, on a realistic layer
 * (thousands of small files in a few hundred directories, plus some big files), on the filesystem of
 * {@code -Dbench.dir} (default: the temp directory). Each round writes the layer into a fresh staging directory
 * (timed as "write"), then commits it (timed as "commit": measure + sync + record + rename); the modes take turns,
 * and the whole filesystem is synced before every round, so no round pays for another's dirty pages. A second
 * scenario leaves {@code -Dbench.otherDirtyMb} of unrelated unsynced data on the filesystem before each commit, as
 * other programs on a node do: {@code syncfs} flushes it too, per-file {@code fsync} does not.
 *
 * <p>Run: {@code scripts/bench.sh -Dtest=SnapshotSyncBench} (sizes: {@code -Dbench.smallFiles=5000},
 * {@code -Dbench.bigFiles=4}, {@code -Dbench.bigFileMb=16}, {@code -Dbench.rounds=5}).
 */
class SnapshotSyncBench {
    private static final List<SnapshotSync> MODES = List.of(SnapshotSync.SYNCFS, SnapshotSync.FSYNC, SnapshotSync.NONE);

    @Test
    void syncfsAgainstPerFileFsync() throws Exception {
        int smallFiles = Integer.getInteger("bench.smallFiles", 5000);
        int bigFiles = Integer.getInteger("bench.bigFiles", 4);
        int bigFileMb = Integer.getInteger("bench.bigFileMb", 16);
        int rounds = Integer.getInteger("bench.rounds", 5);
        int otherDirtyMb = Integer.getInteger("bench.otherDirtyMb", 256);
        Path base = Files.createTempDirectory(Path.of(System.getProperty("bench.dir",
                System.getProperty("java.io.tmpdir"))), "sp-sync-bench-");
        try (MetadataDb db = MetadataDb.open(base.resolve("meta.db"))) {
            Layer layer = new Layer(smallFiles, bigFiles, bigFileMb);
            System.out.printf("snapshot-sync layer: %d small files (0.5-16 KiB) in %d directories + %d x %d MiB = "
                    + "%.1f MB, %d rounds per mode, on %s%n", smallFiles, layer.directories(), bigFiles, bigFileMb,
                    layer.bytes() / 1e6, rounds, Files.getFileStore(base));
            for (boolean otherDirty : List.of(false, true)) {
                Map<SnapshotSync, List<long[]>> times = new EnumMap<>(SnapshotSync.class);
                for (int round = 0; round < rounds; round++) {
                    for (SnapshotSync mode : MODES) {
                        BenchProcesses.sync();
                        Path root = base.resolve(mode.configName() + "-" + otherDirty + "-" + round);
                        var snapshotter = new DirectorySnapshotter(root, db.snapshots(), java.time.Clock.systemUTC(),
                                mode);
                        Staging staging = snapshotter.prepare();
                        long t0 = System.nanoTime();
                        layer.writeInto(staging.fs());
                        long t1 = System.nanoTime();
                        if (otherDirty) {
                            writeOtherDirtyData(root.resolve("other.bin"), otherDirtyMb);
                        }
                        long t2 = System.nanoTime();
                        ChainId chain = new ChainId(Digest.sha256((mode + "/" + otherDirty + "/" + round).getBytes()));
                        SnapshotInfo info = snapshotter.commit(staging, chain, null);
                        long t3 = System.nanoTime();
                        times.computeIfAbsent(mode, m -> new ArrayList<>()).add(new long[] {t1 - t0, t3 - t2});
                        System.out.printf("snapshot-sync round %d %-6s other_dirty=%s write=%.0f ms commit=%.0f ms "
                                        + "(%d inodes)%n", round + 1, mode.configName(), otherDirty ? otherDirtyMb + "MB" : "0",
                                (t1 - t0) / 1e6, (t3 - t2) / 1e6, info.inodes());
                        snapshotter.remove(chain);
                        Files.deleteIfExists(root.resolve("other.bin"));
                    }
                }
                for (SnapshotSync mode : MODES) {
                    List<long[]> t = times.get(mode);
                    System.out.printf("snapshot-sync summary %-6s other_dirty=%s median write=%.0f ms, "
                                    + "median commit=%.0f ms (min %.0f, max %.0f)%n", mode.configName(),
                            otherDirty ? otherDirtyMb + "MB" : "0", median(t, 0) / 1e6, median(t, 1) / 1e6,
                            t.stream().mapToLong(x -> x[1]).min().orElse(0) / 1e6,
                            t.stream().mapToLong(x -> x[1]).max().orElse(0) / 1e6);
                }
            }
        } finally {
            deleteTree(base);
        }
    }

    /** A deterministic layer: small files spread over directories, and a few big incompressible ones. */
    private record Layer(int smallFiles, int bigFiles, int bigFileMb) {
        int directories() {
            return Math.max(1, smallFiles / 20);
        }

        long bytes() {
            long sum = (long) bigFiles * bigFileMb << 20;
            Random sizes = new Random(1);
            for (int i = 0; i < smallFiles; i++) {
                sum += 512 + sizes.nextInt(16 * 1024 - 512);
            }
            return sum;
        }

        void writeInto(Path fs) throws IOException {
            Random sizes = new Random(1);
            Random data = new Random(2);
            byte[] buffer = new byte[16 * 1024];
            for (int d = 0; d < directories(); d++) {
                Files.createDirectories(fs.resolve("usr/share/d" + d));
            }
            for (int i = 0; i < smallFiles; i++) {
                int size = 512 + sizes.nextInt(16 * 1024 - 512);
                data.nextBytes(buffer);
                Files.write(fs.resolve("usr/share/d" + (i % directories()) + "/f" + i), java.util.Arrays.copyOf(buffer, size));
            }
            Files.createDirectories(fs.resolve("opt/big"));
            byte[] chunk = new byte[1 << 20];
            for (int b = 0; b < bigFiles; b++) {
                try (OutputStream out = Files.newOutputStream(fs.resolve("opt/big/blob" + b))) {
                    for (int mb = 0; mb < bigFileMb; mb++) {
                        data.nextBytes(chunk);
                        out.write(chunk);
                    }
                }
            }
        }
    }

    private static void writeOtherDirtyData(Path file, int mb) throws IOException {
        byte[] chunk = new byte[1 << 20];
        new Random(3).nextBytes(chunk);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < mb; i++) {
                out.write(chunk);
            }
        }
    }

    private static double median(List<long[]> times, int index) {
        long[] sorted = times.stream().mapToLong(t -> t[index]).sorted().toArray();
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2.0;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.cri.v1.FilesystemUsage;
import dev.singlepull.api.cri.v1.ImageFsInfoRequest;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.server.Daemon;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.InProcessCli;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.unpack.SnapshotInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection and consistency checks over the real socket and on a root with no service: removing images
 * gives the disk back (measured by ImageFsInfo and on disk) while shared layers stay as long as an image uses them;
 * {@code singlepull gc} and {@code singlepull fsck} work through the service and without one; fsck finds damage and
 * {@code --repair} leaves a store that the next pull completes.
 */
@Timeout(180)
class MaintenanceIT {
    @TempDir
    Path dir;

    @Test
    void removingOneOfTwoImagesKeepsTheSharedLayersAndRemovingBothReturnsTheDisk() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start(); SinglepullServer server = SinglepullServer.start();
             CriClient cri = server.client()) {
            PushedImage a = TestImages.push(registry, TestImages.sampleImage("it/gc-a", "v1", 700_000, 81));
            PushedImage b = TestImages.push(registry, TestImages.sampleImage("it/gc-b", "v1", 900_000, 82));
            String base = a.layerDigests().getFirst();
            assertEquals(base, b.layerDigests().getFirst(), "sample images share their base layer");
            FilesystemUsage empty = fsInfo(cri);

            cri.images().pullImage(Cri.pull(a.reference()));
            cri.images().pullImage(Cri.pull(b.reference()));
            FilesystemUsage both = fsInfo(cri);
            long diskBoth = diskBytes(server.root());
            assertTrue(both.getUsedBytes().getValue() >= empty.getUsedBytes().getValue() + a.totalSize()
                    + b.totalSize() - a.compressedSizes().getFirst(), both.toString());
            assertEquals(5, server.daemon().node().snapshots().list().size(), "3 + 3 layers, the base shared");

            cri.images().removeImage(Cri.remove(a.reference()));
            FilesystemUsage onlyB = fsInfo(cri);
            long diskOnlyB = diskBytes(server.root());
            assertTrue(onlyB.getUsedBytes().getValue() < both.getUsedBytes().getValue(), onlyB + " vs " + both);
            assertTrue(onlyB.getInodesUsed().getValue() < both.getInodesUsed().getValue());
            assertTrue(diskOnlyB < diskBoth, diskOnlyB + " vs " + diskBoth);
            assertTrue(Files.exists(blobFile(server.root(), base)), "b still uses the shared base layer");
            for (String layer : a.layerDigests().subList(1, 3)) {
                assertFalse(Files.exists(blobFile(server.root(), layer)), layer + " was a's alone");
            }
            assertEquals(3, server.daemon().node().snapshots().list().size(), "b's three snapshots stay");
            assertTrue(cri.images().imageStatus(Cri.status(b.reference(), false)).hasImage());
            var fsck = InProcessCli.run("fsck", "--root", server.root().toString(), "--socket",
                    server.socket().toString());
            assertEquals(0, fsck.exit(), fsck.all());

            cri.images().removeImage(Cri.remove(b.reference()));
            FilesystemUsage none = fsInfo(cri);
            assertEquals(empty.getUsedBytes(), none.getUsedBytes(), "every byte returned");
            assertEquals(empty.getInodesUsed(), none.getInodesUsed());
            assertEquals(0, diskBytes(server.root()), "no blob or snapshot file left on disk");
            System.out.printf("image filesystem: %d bytes empty, %d with both images (%d on disk), %d with one "
                            + "(%d on disk), %d after removing both (0 on disk)%n", empty.getUsedBytes().getValue(),
                    both.getUsedBytes().getValue(), diskBoth, onlyB.getUsedBytes().getValue(), diskOnlyB,
                    none.getUsedBytes().getValue());

            var gc = InProcessCli.run("gc", "--root", server.root().toString(), "--socket", server.socket().toString());
            assertEquals(0, gc.exit(), gc.all());
            assertTrue(gc.out().contains("by the running service") && gc.out().contains("freed 0B"), gc.all());
        }
    }

    @Test
    void gcOnTheRootFreesWhatNoImageReferencesWhenNoServiceRuns() throws Exception {
        ShimConfig config = config();
        try (RegistryProcess registry = RegistryProcess.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/gc-offline", "v1", 500_000, 83));
            try (Daemon daemon = Daemon.start(config, "test"); CriClient cri = new CriClient(config.socket().toString())) {
                cri.images().pullImage(Cri.pull(image.reference()));
            }
            try (MetadataDb db = MetadataDb.open(config.root().resolve("meta.db"))) {
                List<String> names = db.images().list().stream().map(r -> r.name()).toList();
                assertEquals(2, db.images().delete(names), "tag and digest names"); // as a RemoveImage whose GC crashed
            }

            var gc = InProcessCli.run("gc", "--root", config.root().toString(), "--socket", config.socket().toString());
            assertEquals(0, gc.exit(), gc.all());
            assertTrue(gc.out().contains("on the root (no service running)"), gc.out());
            assertTrue(gc.out().contains("blobs          5 freed"), gc.out()); // manifest, config, 3 layers
            assertTrue(gc.out().contains("snapshots      3 freed"), gc.out());
            assertEquals(0, diskBytes(config.root()));

            var fsck = InProcessCli.run("fsck", "--root", config.root().toString(), "--socket",
                    config.socket().toString());
            assertEquals(0, fsck.exit(), fsck.all());
            assertTrue(fsck.out().contains("checked 0 blobs, 0 snapshots, 0 images"), fsck.out());
        }
    }

    @Test
    void fsckFindsDamageAndRepairLeavesAStoreThatTheNextPullCompletes() throws Exception {
        ShimConfig config = config();
        String root = config.root().toString();
        String socket = config.socket().toString();
        try (RegistryProcess registry = RegistryProcess.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/fsck", "v1", 500_000, 84));
            SnapshotInfo top;
            try (Daemon daemon = Daemon.start(config, "test"); CriClient cri = new CriClient(socket)) {
                cri.images().pullImage(Cri.pull(image.reference()));
                top = daemon.node().snapshots().list().stream().max(Comparator.comparingLong(SnapshotInfo::size))
                        .orElseThrow();
            }
            String middle = image.layerDigests().get(1);
            Path middleBlob = blobFile(config.root(), middle);
            Files.setPosixFilePermissions(middleBlob, PosixFilePermissions.fromString("rw-r--r--"));
            byte[] bytes = Files.readAllBytes(middleBlob);
            bytes[bytes.length / 2] ^= 0x40;
            Files.write(middleBlob, bytes);
            deleteTree(top.directory());
            Files.createDirectories(config.root().resolve("snapshots/9999/fs"));
            Files.createDirectories(config.root().resolve("snapshots/staging-crashed/fs"));

            var found = InProcessCli.run("fsck", "--root", root, "--socket", socket);
            assertEquals(1, found.exit(), found.all());
            assertTrue(found.out().contains("PROBLEM  blob " + middle + ": content does not match its name"),
                    found.out());
            assertTrue(found.out().contains("PROBLEM  snapshot " + top.chainId() + ": its directory"), found.out());
            assertTrue(found.out().contains("PROBLEM  directory snapshots/9999: a snapshot directory without a record"),
                    found.out());
            assertTrue(found.out().contains("PROBLEM  image " + image.hostPort() + "/it/fsck:v1: references what the "
                    + "store lacks"), found.out());
            assertTrue(found.out().contains("leftover directory snapshots/staging-crashed"), found.out());
            assertTrue(Files.exists(middleBlob), "fsck without --repair changes nothing");

            var repaired = InProcessCli.run("fsck", "--repair", "--root", root, "--socket", socket);
            assertEquals(1, repaired.exit(), repaired.all());
            assertFalse(repaired.out().contains("PROBLEM "), "every problem repaired: " + repaired.out());
            var clean = InProcessCli.run("fsck", "--root", root, "--socket", socket);
            assertEquals(0, clean.exit(), clean.all());

            try (Daemon daemon = Daemon.start(config, "test"); CriClient cri = new CriClient(socket)) {
                assertFalse(Files.exists(config.root().resolve("snapshots/staging-crashed")), "cleaned at start");
                assertEquals(image.configDigest(), cri.images().pullImage(Cri.pull(image.reference())).getImageRef());
                assertTrue(Files.exists(middleBlob), "the corrupt blob was fetched again");
                var throughService = InProcessCli.run("fsck", "--root", root, "--socket", socket);
                assertEquals(0, throughService.exit(), throughService.all());
                assertTrue(throughService.out().contains("checked 5 blobs, 3 snapshots, 2 images (by the running "
                        + "service)"), throughService.out());
            }
        }
    }

    private ShimConfig config() {
        return ShimConfig.defaults().toBuilder().root(dir.resolve("root")).socket(dir.resolve("cri.sock"))
                .metricsAddress("").build();
    }

    private static FilesystemUsage fsInfo(CriClient cri) {
        FilesystemUsage usage = cri.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance())
                .getImageFilesystems(0);
        Instant stamp = Instant.ofEpochSecond(0, usage.getTimestamp());
        assertTrue(Duration.between(stamp, Instant.now()).abs().compareTo(Duration.ofSeconds(10)) < 0,
                "fresh timestamp: " + stamp);
        return usage;
    }

    private static Path blobFile(Path root, String digest) {
        return root.resolve("content/blobs/sha256/" + digest.substring("sha256:".length()));
    }

    /** Bytes of every regular file under content/ and snapshots/: what the images take on disk. */
    private static long diskBytes(Path root) throws IOException {
        long sum = 0;
        for (String part : List.of("content", "snapshots")) {
            try (Stream<Path> files = Files.walk(root.resolve(part))) {
                for (Path file : files.filter(Files::isRegularFile).toList()) {
                    sum += Files.size(file);
                }
            }
        }
        return sum;
    }

    private static void deleteTree(Path path) throws IOException {
        try (Stream<Path> all = Files.walk(path)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

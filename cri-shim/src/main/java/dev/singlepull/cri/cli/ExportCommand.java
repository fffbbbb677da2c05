package dev.singlepull.cri.cli;

import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.cri.image.ImageNames;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import dev.singlepull.unpack.tar.Flattener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Writes an image's root filesystem into a directory, flattening its committed layer snapshots. Reads the root
 * directly, beside a running service or without one: the metadata database is opened read-only (no lock on the
 * root is taken) and committed snapshots are immutable.
 */
@Command(name = "export", description = {
    "Write an image's root filesystem into DIR (which must be new or empty).",
    "Reads the root directly: no service is needed, and a running one is not disturbed."})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE",
            description = "TOML config whose root to read (default: /etc/singlepull/config.toml if it exists)")
    Path config;

    @Option(names = "--root", paramLabel = "DIR", description = "state directory (default: as `serve`)")
    Path root;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "image id, tag or digest reference")
    String image;

    @Parameters(index = "1", paramLabel = "DIR", description = "where to write the root filesystem")
    Path dir;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            boolean empty = Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (empty) {
                try (var children = Files.list(dir)) {
                    empty = children.findAny().isEmpty();
                }
            }
            if (!empty) {
                throw SinglepullException.invalidArgument(dir + " exists and is not an empty directory");
            }
        }
        Path stateRoot = root != null ? root : configured().root();
        Path meta = stateRoot.resolve("meta.db");
        if (!Files.isRegularFile(meta)) {
            throw SinglepullException.notFound("no singlepull root at " + stateRoot + " (no meta.db); use --root");
        }
        List<SnapshotInfo> chain;
        try (MetadataDb db = MetadataDb.openReadOnly(meta)) {
            Digest id = ImageNames.idOf(db.images(), image).orElseThrow(() -> SinglepullException.notFound(
                    "no image \"" + image + "\" in " + stateRoot));
            String top = ImageNames.topChainId(db, id).orElseThrow(() -> SinglepullException.failedPrecondition(
                    "image " + id + " has no recorded snapshot chain; pull it again"));
            chain = DirectorySnapshotter.committedChain(stateRoot, db.snapshots(), ChainId.parse(top));
        }
        Flattener.Result result;
        try {
            result = Flattener.flatten(chain.stream().map(SnapshotInfo::directory).toList(), dir);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new SinglepullException(ErrorKind.NOT_FOUND, "exporting " + image + " to " + dir + " failed: "
                    + e.getMessage() + " is gone (was the image removed meanwhile?)", e);
        } catch (IOException e) {
            throw new SinglepullException(ErrorKind.INTERNAL, "exporting " + image + " to " + dir + " failed: " + e,
                    e);
        }
        System.out.println("exported " + image + " (" + chain.size() + " layer" + (chain.size() == 1 ? "" : "s")
                + ") to " + dir.toAbsolutePath() + ": " + result.entries() + " entries, "
                + Sizes.human(result.bytes()));
        if (!result.skipped().isEmpty()) {
            System.err.println("singlepull: not exported: " + result.skipped());
        }
        return 0;
    }

    private ShimConfig configured() {
        if (config != null) {
            return ShimConfig.load(config);
        }
        return Files.exists(ShimConfig.SYSTEM_CONFIG) ? ShimConfig.load(ShimConfig.SYSTEM_CONFIG)
                : ShimConfig.defaults();
    }
}

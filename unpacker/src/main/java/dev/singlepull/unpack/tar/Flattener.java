package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Flattens a stack of layer directories (each one layer's diff, as the unpacker commits them) into one plain root
 * filesystem: what an overlay mount of the stack shows, written out as ordinary files.
 *
 * <p>Layers are applied bottom-up. For each layer, its deletions come first, in either whiteout convention (see
 * {@link Whiteouts}): a whiteout removes the path from the tree built so far, an opaque directory empties it. Then
 * its entries are copied, parents before children: a directory merges with a directory already there and replaces
 * anything else (a lower symlink included: it is removed, never followed); any other node replaces what is there.
 * Owners (when running as root), modes with setuid/setgid/sticky, mtimes, extended attributes (not
 * {@code trusted.overlay.*}; only {@code user.*} when not root), device nodes (when root) and fifos are copied; a
 * directory shows the metadata of the topmost layer that has it, as in overlayfs; hard links within a layer stay
 * hard links. Directory modes and times are set last, deepest first.
 *
 * <p>Safety: nothing in the tree being built is ever followed: every parent of a path written is a directory this
 * run created or checked with {@code lstat}, and nodes are created exclusively. Stateless; not thread-safe per target.
 */
public final class Flattener {

    /**
     * What a flatten wrote.
     *
     * @param entries nodes created (directories included)
     * @param bytes   content bytes of regular files copied
     * @param skipped what was not copied, by reason (device nodes when not running as root, ...)
     */
    public record Result(long entries, long bytes, Map<String, Long> skipped) {
        public Result {
            skipped = Map.copyOf(skipped);
        }
    }

    private Flattener() {
    }

    /**
     * Writes the flattened tree of {@code layersBottomUp} into {@code target}, which must not exist or be an empty
     * directory. Errors: an {@link IOException} (a missing layer directory, a full disk, a target that is not
     * empty).
     */
    public static Result flatten(List<Path> layersBottomUp, Path target) throws IOException {
        Path root = target.toAbsolutePath().normalize();
        Nodes.Attrs existing = Nodes.lstat(root);
        if (existing == null) {
            Files.createDirectories(root);
        } else if (!existing.isDirectory()) {
            throw new IOException(root + " exists and is not a directory");
        } else {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(root)) {
                if (children.iterator().hasNext()) {
                    throw new IOException(root + " is not empty");
                }
            }
        }
        var run = new Run(root);
        for (Path layer : layersBottomUp) {
            Path dir = layer.toAbsolutePath().normalize();
            Nodes.Attrs attrs = Nodes.lstat(dir);
            if (attrs == null || !attrs.isDirectory()) {
                throw new IOException("layer directory " + dir + " is missing");
            }
            run.deletions(dir, "");
            run.additions(dir, "");
        }
        run.applyDirectoryMetadata();
        return new Result(run.entries, run.bytes, run.skips.counts());
    }

    private static final class Run {
        private final Path root;
        private final boolean asRoot;
        private final Skips skips = new Skips();
        /** Directories of the tree verified to be real directories ("" is the root). */
        private final Set<String> knownDirs = new HashSet<>();
        /** Mode and mtime to give each directory at the end. */
        private final Map<String, DirMeta> dirMeta = new HashMap<>();
        /** This layer's inodes already copied: their first path in the tree. */
        private final Map<Object, String> copied = new HashMap<>();
        private long entries;
        private long bytes;

        Run(Path root) {
            this.root = root;
            this.asRoot = FileMeta.runningAsRoot(root);
            knownDirs.add("");
        }

        /** Pass 1 of a layer: its whiteouts and opaque directories act on the tree built so far. */
        void deletions(Path layer, String rel) throws IOException {
            Path dir = resolve(layer, rel);
            Nodes.readable(dir, Nodes.lstat(dir), asRoot, () -> {
                deletionsIn(layer, rel, dir);
                return null;
            });
        }

        private void deletionsIn(Path layer, String rel, Path dir) throws IOException {
            if (Whiteouts.isOpaque(dir)) {
                clear(rel);
            }
            for (Path child : children(dir)) {
                String name = child.getFileName().toString();
                String childRel = EntryPath.child(rel, name);
                Nodes.Attrs attrs = Nodes.lstat(child);
                if (attrs == null) {
                    continue;
                }
                if (Whiteouts.isOverlayWhiteout(attrs)) {
                    delete(childRel);
                } else if (Whiteouts.isMarkerName(name) && !attrs.isDirectory()) {
                    if (!name.startsWith(Whiteouts.META_PREFIX)) {
                        delete(EntryPath.child(rel, name.substring(Whiteouts.PREFIX.length())));
                    }
                } else if (attrs.isDirectory()) {
                    deletions(layer, childRel);
                }
            }
        }

        /** Pass 2 of a layer: its nodes, parents first. */
        void additions(Path layer, String rel) throws IOException {
            copied.clear();
            addDirectory(layer, rel);
        }

        private void addDirectory(Path layer, String rel) throws IOException {
            Path source = resolve(layer, rel);
            Nodes.Attrs attrs = Nodes.lstat(source);
            Path dir = resolve(root, rel);
            if (!rel.isEmpty()) {
                requireKnownParent(rel);
                Nodes.Attrs there = Nodes.lstat(dir);
                if (there == null || !there.isDirectory()) {
                    if (there != null) {
                        remove(rel);
                    }
                    Files.createDirectory(dir);
                    FileMeta.chmod(dir, 0700);
                    entries++;
                }
                knownDirs.add(rel);
            }
            if (asRoot) {
                FileMeta.chown(dir, Integer.toUnsignedLong(attrs.uid()), Integer.toUnsignedLong(attrs.gid()));
            }
            Nodes.copyXattrs(source, dir, asRoot, true, skips);
            dirMeta.put(rel, new DirMeta(attrs.permissions(), attrs.mtime()));
            Nodes.readable(source, attrs, asRoot, () -> {
                addChildren(layer, rel, source);
                return null;
            });
        }

        /** The nodes in a layer's directory (which this run may have opened up for an ordinary user). */
        private void addChildren(Path layer, String rel, Path source) throws IOException {
            for (Path child : children(source)) {
                String name = child.getFileName().toString();
                String childRel = EntryPath.child(rel, name);
                Nodes.Attrs childAttrs = Nodes.lstat(child);
                if (childAttrs == null || Whiteouts.isOverlayWhiteout(childAttrs)) {
                    continue;
                }
                if (childAttrs.isDirectory()) {
                    addDirectory(layer, childRel);
                } else if (!Whiteouts.isMarkerName(name)) {
                    addNode(child, childAttrs, childRel);
                }
            }
        }

        private void addNode(Path source, Nodes.Attrs attrs, String rel) throws IOException {
            requireKnownParent(rel);
            Path path = resolve(root, rel);
            if (Nodes.lstat(path) != null) {
                remove(rel);
            }
            String first = attrs.nlink() > 1 && attrs.fileKey() != null ? copied.get(attrs.fileKey()) : null;
            if (first != null && Nodes.lstat(resolve(root, first)) != null) {
                Files.createLink(path, resolve(root, first));
                entries++;
                return;
            }
            if (Nodes.copy(source, attrs, path, asRoot, skips)) {
                entries++;
                if (attrs.isRegular()) {
                    bytes += attrs.size();
                }
                if (attrs.nlink() > 1 && attrs.fileKey() != null) {
                    copied.put(attrs.fileKey(), rel);
                }
            }
        }

        /** Deletes {@code rel} from the tree, if it is there under real directories. */
        private void delete(String rel) throws IOException {
            if (reachable(EntryPath.parent(rel)) && Nodes.lstat(resolve(root, rel)) != null) {
                remove(rel);
            }
        }

        /** Empties the directory {@code rel} of the tree, if it is one. */
        private void clear(String rel) throws IOException {
            if (!reachable(rel)) {
                return;
            }
            for (Path child : children(resolve(root, rel))) {
                remove(EntryPath.child(rel, child.getFileName().toString()));
            }
        }

        private void remove(String rel) throws IOException {
            Nodes.delete(resolve(root, rel));
            knownDirs.removeIf(dir -> EntryPath.isWithin(dir, rel));
            dirMeta.keySet().removeIf(dir -> EntryPath.isWithin(dir, rel));
        }

        /** True if {@code rel} and each of its parents is a real directory of the tree (never a symlink). */
        private boolean reachable(String rel) throws IOException {
            if (knownDirs.contains(rel)) {
                return true;
            }
            String prefix = "";
            for (String part : rel.split("/")) {
                prefix = EntryPath.child(prefix, part);
                if (!knownDirs.contains(prefix)) {
                    Nodes.Attrs attrs = Nodes.lstat(resolve(root, prefix));
                    if (attrs == null || !attrs.isDirectory()) {
                        return false;
                    }
                    knownDirs.add(prefix);
                }
            }
            return true;
        }

        private void requireKnownParent(String rel) throws IOException {
            if (!reachable(EntryPath.parent(rel))) {
                throw new IOException("internal error: parent of '" + rel + "' is not a directory of the tree");
            }
        }

        void applyDirectoryMetadata() throws IOException {
            List<Map.Entry<String, DirMeta>> all = new ArrayList<>(dirMeta.entrySet());
            all.sort(Comparator.comparingInt((Map.Entry<String, DirMeta> e) -> EntryPath.depth(e.getKey()))
                    .reversed());
            for (var dir : all) {
                Path path = resolve(root, dir.getKey());
                FileMeta.chmod(path, dir.getValue().mode());
                FileMeta.mtime(path, dir.getValue().mtime());
            }
        }

        private static Path resolve(Path base, String rel) {
            return rel.isEmpty() ? base : base.resolve(rel);
        }

        private static List<Path> children(Path dir) throws IOException {
            List<Path> out = new ArrayList<>();
            try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
                stream.forEach(out::add);
            }
            out.sort(Comparator.comparing(p -> p.getFileName().toString()));
            return out;
        }

        private record DirMeta(int mode, FileTime mtime) { }
    }
}

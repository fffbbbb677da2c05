package dev.singlepull.unpack.tar;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Applies a layer tar into a directory holding this layer's diff only (overlay convention: one independent directory
 * per layer). Whiteout files ({@code .wh.NAME}) and opaque markers ({@code .wh..wh..opq}) are written as the empty
 * regular files the tar carries; converting them is the job of whoever stacks the layers.
 *
 * <p>Entries: regular files (content, mode, owner when running as root, mtime), directories (created as needed,
 * parents included; mode and mtime applied after the last entry, deepest first, since a directory may be read-only),
 * symlinks (any target, never followed), hard links (to an entry already extracted in this layer), device nodes and
 * fifos (skipped and counted). A later entry replaces an earlier one at the same path; a directory over a directory
 * merges.
 *
 * <p>Safety: every entry's path is resolved lexically inside the target; every existing parent component is checked
 * not to be a symlink before anything is created under it; files are created with {@code O_EXCL}, so a symlink is
 * never written through. Stateless; each {@link #apply} call has its own state.
 */
final class TarApplier implements LayerApplier {
    static final int COPY_BUFFER = 256 * 1024;

    @Override
    public ApplyStats apply(InputStream uncompressedTar, Path targetDir, String layerName) throws IOException {
        return new Run(targetDir.toAbsolutePath().normalize(), layerName).apply(uncompressedTar);
    }

    /** The state of one apply. */
    private static final class Run {
        private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
        private static final int IMPLICIT_DIR_MODE = 0755;

        private final Path root;
        private final String layer;
        private final boolean chown;
        private final byte[] buffer = new byte[COPY_BUFFER];
        /** Paths (relative) verified to be real directories, not symlinks; cleared below any path we remove. */
        private final Set<String> knownDirs = new HashSet<>();
        /** Directory metadata applied after the last entry, keyed by relative path ("" is the root). */
        private final Map<String, DirMeta> deferred = new HashMap<>();
        private String entryName = "";
        private long bytes;
        private long files;
        private long skipped;

        Run(Path root, String layer) {
            this.root = root;
            this.layer = layer;
            this.chown = FileMeta.runningAsRoot(root);
        }

        ApplyStats apply(InputStream in) throws IOException {
            var tar = new TarArchiveInputStream(in, StandardCharsets.UTF_8.name());
            TarArchiveEntry entry;
            while ((entry = next(tar)) != null) {
                entryName = entry.getName();
                String rel = EntryPath.normalize(entryName);
                if (rel == null) {
                    throw hostile("path escapes the layer root");
                }
                if (entry.isDirectory()) {
                    directory(entry, rel);
                } else if (rel.isEmpty()) {
                    throw hostile("a non-directory entry names the layer root");
                } else if (entry.isSymbolicLink()) {
                    symlink(entry, rel);
                } else if (entry.isLink()) {
                    hardlink(entry, rel);
                } else if (isRegular(entry)) {
                    regular(tar, entry, rel);
                } else {
                    skipped++; // device node, fifo, or a type not created yet
                }
            }
            applyDeferred();
            return new ApplyStats(bytes, files, skipped);
        }

        private static boolean isRegular(TarArchiveEntry entry) {
            byte flag = entry.getLinkFlag();
            return flag == '0' || flag == 0 || flag == '7' || entry.isSparse();
        }

        private void regular(TarArchiveInputStream tar, TarArchiveEntry entry, String rel) throws IOException {
            Path target = createParents(rel);
            removeExisting(rel, false);
            try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                int n;
                while ((n = read(tar)) != -1) {
                    out.write(buffer, 0, n);
                    bytes += n;
                }
            }
            if (chown) {
                FileMeta.chown(target, entry.getLongUserId(), entry.getLongGroupId());
            }
            FileMeta.chmod(target, entry.getMode());
            FileMeta.mtime(target, entry.getLastModifiedTime());
            files++;
        }

        private void directory(TarArchiveEntry entry, String rel) throws IOException {
            Path target = rel.isEmpty() ? root : createParents(rel);
            if (!rel.isEmpty() && !removeExisting(rel, true)) {
                Files.createDirectory(target);
            }
            knownDirs.add(rel);
            if (chown) {
                FileMeta.chown(target, entry.getLongUserId(), entry.getLongGroupId());
            }
            deferred.put(rel, new DirMeta(entry.getMode(), entry.getLastModifiedTime()));
            files++;
        }

        private void symlink(TarArchiveEntry entry, String rel) throws IOException {
            String linkName = entry.getLinkName();
            if (linkName == null || linkName.isEmpty() || linkName.indexOf('\0') >= 0) {
                throw hostile("symlink has an empty or invalid target");
            }
            Path target = createParents(rel);
            removeExisting(rel, false);
            Files.createSymbolicLink(target, Path.of(linkName));
            if (chown) {
                FileMeta.chown(target, entry.getLongUserId(), entry.getLongGroupId());
            }
            FileMeta.mtime(target, entry.getLastModifiedTime());
            files++;
        }

        private void hardlink(TarArchiveEntry entry, String rel) throws IOException {
            String targetRel = EntryPath.normalize(entry.getLinkName());
            if (targetRel == null || targetRel.isEmpty()) {
                throw hostile("hard link target '" + entry.getLinkName() + "' escapes the layer root");
            }
            Path link = createParents(rel);
            if (targetRel.equals(rel) && existingNonDirectory(targetRel) != null) {
                files++; // a link to itself: already there
                return;
            }
            removeExisting(rel, false);
            Path existing = existingNonDirectory(targetRel);
            if (existing == null) {
                throw hostile("hard link target '" + entry.getLinkName()
                        + "' is missing from this layer or is a directory");
            }
            Files.createLink(link, existing);
            files++;
        }

        /**
         * Creates the missing parents of {@code rel}, checking that each existing one is a real directory. Returns
         * the absolute path of {@code rel}.
         */
        private Path createParents(String rel) throws IOException {
            String parent = EntryPath.parent(rel);
            if (!parent.isEmpty() && !knownDirs.contains(parent)) {
                int from = 0;
                while (from <= parent.length()) {
                    int slash = parent.indexOf('/', from);
                    String prefix = slash < 0 ? parent : parent.substring(0, slash);
                    if (!knownDirs.contains(prefix)) {
                        Path dir = root.resolve(prefix);
                        BasicFileAttributes attrs = lstat(dir);
                        if (attrs == null) {
                            Files.createDirectory(dir);
                            FileMeta.chmod(dir, IMPLICIT_DIR_MODE);
                        } else if (attrs.isSymbolicLink()) {
                            throw hostile("parent '" + prefix + "' is a symlink");
                        } else if (!attrs.isDirectory()) {
                            throw hostile("parent '" + prefix + "' is not a directory");
                        }
                        knownDirs.add(prefix);
                    }
                    from = slash < 0 ? parent.length() + 1 : slash + 1;
                }
            }
            return root.resolve(rel);
        }

        /**
         * The absolute path of {@code rel} if it exists in the layer as a non-directory reached through real
         * directories only; null otherwise.
         */
        private Path existingNonDirectory(String rel) throws IOException {
            String parent = EntryPath.parent(rel);
            int from = 0;
            while (!parent.isEmpty() && from <= parent.length()) {
                int slash = parent.indexOf('/', from);
                String prefix = slash < 0 ? parent : parent.substring(0, slash);
                if (!knownDirs.contains(prefix)) {
                    BasicFileAttributes attrs = lstat(root.resolve(prefix));
                    if (attrs == null || !attrs.isDirectory()) {
                        return null; // lstat: a symlinked parent is not a directory
                    }
                }
                from = slash < 0 ? parent.length() + 1 : slash + 1;
            }
            Path path = root.resolve(rel);
            BasicFileAttributes attrs = lstat(path);
            return attrs == null || attrs.isDirectory() ? null : path;
        }

        /**
         * Makes room at {@code rel} for a new entry: removes what is there, except a directory when a directory
         * comes (merge). Returns true if a directory was kept.
         */
        private boolean removeExisting(String rel, boolean directoryComing) throws IOException {
            Path path = root.resolve(rel);
            BasicFileAttributes attrs = lstat(path);
            if (attrs == null) {
                return false;
            }
            if (directoryComing && attrs.isDirectory()) {
                return true;
            }
            if (attrs.isDirectory()) {
                deleteTree(path);
            } else {
                Files.delete(path);
            }
            knownDirs.removeIf(dir -> EntryPath.isWithin(dir, rel));
            deferred.keySet().removeIf(dir -> EntryPath.isWithin(dir, rel));
            return false;
        }

        private void applyDeferred() throws IOException {
            List<Map.Entry<String, DirMeta>> dirs = new ArrayList<>(deferred.entrySet());
            dirs.sort(Comparator.comparingInt((Map.Entry<String, DirMeta> e) -> EntryPath.depth(e.getKey()))
                    .reversed());
            for (var dir : dirs) {
                Path path = dir.getKey().isEmpty() ? root : root.resolve(dir.getKey());
                BasicFileAttributes attrs = lstat(path);
                if (attrs == null || !attrs.isDirectory()) {
                    throw SinglepullException.internal("layer " + layer + ": directory '" + dir.getKey()
                            + "' vanished while its metadata was pending", null);
                }
                FileMeta.chmod(path, dir.getValue().mode());
                FileMeta.mtime(path, dir.getValue().mtime());
            }
        }

        private TarArchiveEntry next(TarArchiveInputStream tar) {
            try {
                return tar.getNextEntry();
            } catch (IOException | IllegalArgumentException | IllegalStateException e) {
                throw corrupt(e);
            }
        }

        private int read(TarArchiveInputStream tar) {
            try {
                return tar.read(buffer, 0, buffer.length);
            } catch (IOException e) {
                throw corrupt(e);
            }
        }

        private static BasicFileAttributes lstat(Path path) throws IOException {
            try {
                return Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW);
            } catch (NoSuchFileException e) {
                return null;
            }
        }

        private static void deleteTree(Path dir) throws IOException {
            try (var children = Files.newDirectoryStream(dir)) {
                for (Path child : children) {
                    if (Files.isDirectory(child, NOFOLLOW)) {
                        deleteTree(child);
                    } else {
                        Files.delete(child);
                    }
                }
            }
            Files.delete(dir);
        }

        private SinglepullException hostile(String why) {
            return new SinglepullException(ErrorKind.INVALID_ARGUMENT,
                    "layer " + layer + ": entry '" + entryName + "': " + why);
        }

        private SinglepullException corrupt(Exception e) {
            String where = entryName.isEmpty() ? "at its start" : "after entry '" + entryName + "'";
            return new SinglepullException(ErrorKind.DATA_LOSS,
                    "layer " + layer + ": malformed tar " + where + ": " + e.getMessage(), e);
        }

        private record DirMeta(int mode, FileTime mtime) { }
    }
}

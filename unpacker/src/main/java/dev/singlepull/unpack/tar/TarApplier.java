package dev.singlepull.unpack.tar;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Applies a layer tar into a directory holding this layer's diff only: one independent directory per layer, in the
 * overlay convention (see {@link Whiteouts}), so that layers unpack in parallel and a stack of them reads as the
 * image's root filesystem.
 *
 * <p>Entries: regular files (content, sparse files with their holes, owner when running as root, extended
 * attributes, mode with setuid/setgid/sticky, mtime), directories (created as needed; a parent the tar does not list
 * takes the lower layer's directory's metadata when {@linkplain AppliedLayer#finish finished}; modes and mtimes are
 * applied last, deepest first, since a directory may be read-only), symlinks (any target, stored as they are and
 * never followed), hard links (to an entry of this layer, or to a lower layer's file, copied up on finish), device
 * nodes (when running as root; counted and skipped otherwise) and fifos. A later entry replaces an earlier one at the
 * same path; a directory over a directory merges.
 *
 * <p>Whiteouts follow the OCI image spec: {@code .wh.NAME} deletes {@code NAME} from the layers below and
 * {@code .wh..wh..opq} hides everything the layers below have in its directory; neither touches what this layer
 * itself writes, in whatever order the entries come. Hence a whiteout of a path this layer has is a no-op (of a
 * directory: the directory becomes opaque), and a directory this layer writes where it deleted one becomes opaque.
 *
 * <p>Safety: every entry's path is resolved lexically inside the target; every existing parent component is checked
 * not to be a symlink before anything is created under it; nodes are created exclusively, so a symlink is never
 * written through. Each {@link #apply} call has its own state.
 */
final class TarApplier implements LayerApplier {
    static final int COPY_BUFFER = 256 * 1024;
    /** Largest size a sparse file may claim: holes cost no disk here, but every reader of the file pays for them. */
    static final long MAX_SPARSE_SIZE = 64L << 30;
    private static final long MAX_ID = 0xFFFFFFFEL;

    private final boolean overlayAllowed;

    TarApplier() {
        this(true);
    }

    /** @param overlayAllowed false to keep the AUFS convention even where the overlay one could be made (tests) */
    TarApplier(boolean overlayAllowed) {
        this.overlayAllowed = overlayAllowed;
    }

    @Override
    public AppliedLayer apply(InputStream uncompressedTar, Path targetDir, String layerName) throws IOException {
        Run run = new Run(targetDir.toAbsolutePath().normalize(), layerName, overlayAllowed);
        run.apply(uncompressedTar);
        return run;
    }

    /** The state of one layer: applying its tar, then finishing it. */
    private static final class Run implements AppliedLayer {
        private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
        private static final int IMPLICIT_DIR_MODE = 0755;

        /** A new file: created exclusively (never through a symlink), for writing. */
        private static final Set<OpenOption> CREATE_FILE = Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        /** Creation modes by permission bits: a layer uses few. */
        private static final Map<Integer, FileAttribute<?>> CREATE_MODES =
                new ConcurrentHashMap<>();

        private final Path root;
        private final String layer;
        private final boolean asRoot;
        private final NewFileDefaults defaults;
        private final boolean overlay;
        private final byte[] buffer = new byte[COPY_BUFFER];
        private final Skips skips = new Skips();
        /** Paths (relative) verified to be real directories, not symlinks; cleared below any path removed. */
        private final Set<String> knownDirs = new HashSet<>();
        /** Every directory of this layer, with what finishing applies to it ("" is the root). */
        private final Map<String, DirMeta> dirs = new HashMap<>();
        /** Paths this layer deletes from the layers below. */
        private final Set<String> whiteouts = new HashSet<>();
        /** Directories of this layer that hide the layers below. */
        private final Set<String> opaque = new HashSet<>();
        /** Hard links to files of lower layers, to make on finish: link path to target path, in tar order. */
        private final Map<String, String> lowerLinks = new LinkedHashMap<>();
        /** The entry that asked for each lower link, for error messages. */
        private final Map<String, String> lowerLinkEntries = new HashMap<>();
        private String entryName = "";
        /** The mtime of the entry being applied: given to the AUFS markers it makes, so that they are reproducible. */
        private FileTime entryTime;
        private long bytes;
        private long files;
        private boolean finished;

        Run(Path root, String layer, boolean overlayAllowed) throws IOException {
            this.root = root;
            this.layer = layer;
            this.asRoot = FileMeta.runningAsRoot(root);
            this.defaults = NewFileDefaults.under(root);
            this.overlay = overlayAllowed && asRoot && overlayConventionWorks(root);
        }

        void apply(InputStream in) throws IOException {
            var tar = new TarReader(in);
            TarReader.Entry entry;
            while ((entry = next(tar)) != null) {
                entryName = entry.name;
                entryTime = entry.mtime;
                String rel = EntryPath.normalize(entry.name);
                if (rel == null) {
                    throw hostile("the path escapes the layer root");
                }
                if (!rel.isEmpty()) {
                    String unfit = EntryPath.unfit(rel);
                    if (unfit != null) {
                        throw hostile("unusable path: " + unfit);
                    }
                }
                if (entry.uid < 0 || entry.gid < 0 || entry.uid > MAX_ID || entry.gid > MAX_ID) {
                    throw hostile("owner " + entry.uid + ":" + entry.gid + " is out of range");
                }
                if (entry.sparse != null && entry.realSize > MAX_SPARSE_SIZE) {
                    throw hostile("a sparse file of " + entry.realSize + " bytes (the limit is " + MAX_SPARSE_SIZE
                            + ")");
                }
                String base = EntryPath.base(rel);
                if (Whiteouts.isMarkerName(base)) {
                    marker(entry, rel, base);
                } else if (entry.isDirectory()) {
                    directory(entry, rel);
                } else if (rel.isEmpty()) {
                    throw hostile("a non-directory entry names the layer root");
                } else {
                    switch (entry.type) {
                        case '0', '7', 'S' -> regular(tar, entry, rel);
                        case '2' -> symlink(entry, rel);
                        case '1' -> hardlink(entry, rel);
                        case '3', '4' -> device(entry, rel);
                        case '6' -> fifo(entry, rel);
                        default -> throw hostile("unsupported entry type '" + printable(entry.type) + "'");
                    }
                }
            }
            entryName = "";
        }

        // ---------------------------------------------------------------- entries

        private void regular(TarReader tar, TarReader.Entry entry, String rel) throws IOException {
            Path target = createParents(rel);
            try (FileChannel out = createFile(target, rel, entry.mode)) {
                if (entry.sparse == null) {
                    copy(tar, out, entry.size);
                } else {
                    for (TarReader.Segment segment : entry.sparse) {
                        out.position(segment.offset());
                        copy(tar, out, segment.length());
                    }
                }
            }
            if (entry.sparse != null && Files.size(target) < entry.realSize) {
                try (var file = new RandomAccessFile(target.toFile(), "rw")) {
                    file.setLength(entry.realSize); // the trailing hole
                }
            }
            // createFile made it with this process's owner and, where the umask keeps them, the entry's mode bits
            metadata(target, entry, !defaults.owns(entry.uid, entry.gid), !defaults.keeps(entry.mode));
            files++;
        }

        /**
         * Creates {@code rel} as a new empty file with permission bits {@code mode} (less the umask), open for
         * writing. The create is tried first, since a layer seldom writes a path twice; only if something is there
         * already is it removed (the exclusive create never follows a symlink) and the create made again.
         */
        private FileChannel createFile(Path target, String rel, int mode) throws IOException {
            forgetBelow(rel);
            try {
                return FileChannel.open(target, CREATE_FILE, createMode(mode));
            } catch (FileAlreadyExistsException e) {
                removeFromDisk(rel, false);
                return FileChannel.open(target, CREATE_FILE, createMode(mode));
            }
        }

        /** The permission bits to create a file with: its own when the umask keeps them, else owner-only. */
        private FileAttribute<?> createMode(int mode) {
            return CREATE_MODES.computeIfAbsent(defaults.keeps(mode) ? mode & 0777 : 0600,
                    m -> PosixFilePermissions.asFileAttribute(permissions(m)));
        }

        private void copy(TarReader tar, FileChannel out, long length) throws IOException {
            long left = length;
            while (left > 0) {
                int n = read(tar, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    throw corrupt(new IOException("the entry's data ends " + left + " bytes early"));
                }
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                left -= n;
                bytes += n;
            }
        }

        private void directory(TarReader.Entry entry, String rel) throws IOException {
            Path target = rel.isEmpty() ? root : createParents(rel);
            if (!rel.isEmpty()) {
                Nodes.Attrs existing = Nodes.lstat(target);
                if (existing == null || !existing.isDirectory()) {
                    boolean replacesWhiteout = whiteouts.contains(rel);
                    removeExisting(rel, true);
                    Files.createDirectory(target);
                    if (replacesWhiteout) {
                        makeOpaque(rel); // the lower directory was deleted: this one must not merge with it
                    }
                }
            }
            knownDirs.add(rel);
            if (asRoot) {
                FileMeta.chown(target, entry.uid, entry.gid);
            }
            xattrs(target, entry);
            dirs.put(rel, DirMeta.explicit(entry.mode, entry.mtime));
            files++;
        }

        private void symlink(TarReader.Entry entry, String rel) throws IOException {
            String linkName = entry.linkName;
            if (linkName == null || linkName.isEmpty() || linkName.indexOf('\0') >= 0) {
                throw hostile("the symlink has an empty or invalid target");
            }
            if (linkName.length() > EntryPath.MAX_PATH_BYTES) {
                throw hostile("the symlink's target is longer than " + EntryPath.MAX_PATH_BYTES + " bytes");
            }
            Path target = createParents(rel);
            removeExisting(rel, false);
            Files.createSymbolicLink(target, Path.of(linkName));
            metadata(target, entry, true, false);
            files++;
        }

        private void hardlink(TarReader.Entry entry, String rel) throws IOException {
            String targetRel = EntryPath.normalize(entry.linkName);
            if (targetRel == null || targetRel.isEmpty()) {
                throw hostile("hard link target '" + entry.linkName + "' escapes the layer root");
            }
            String unfit = EntryPath.unfit(targetRel);
            if (unfit != null || Whiteouts.isMarkerName(EntryPath.base(targetRel))) {
                throw hostile("hard link target '" + entry.linkName + "' is not a usable path"
                        + (unfit == null ? "" : ": " + unfit));
            }
            createParents(rel);
            if (EntryPath.selfOrAncestorIn(targetRel, whiteouts)) {
                throw hostile("hard link target '" + entry.linkName + "' was deleted by this layer");
            }
            String lowerTarget = lowerLinks.get(targetRel);
            if (lowerTarget != null) { // a link to a name that itself waits for a lower layer's file
                if (!targetRel.equals(rel)) {
                    removeExisting(rel, false);
                    lowerLinks.put(rel, lowerTarget);
                    lowerLinkEntries.put(rel, entryName);
                }
                files++;
                return;
            }
            Here here = lookupHere(targetRel);
            switch (here) {
                case FILE -> {
                    if (!targetRel.equals(rel)) {
                        removeExisting(rel, false);
                        Files.createLink(root.resolve(rel), root.resolve(targetRel));
                    }
                }
                case DIRECTORY -> throw hostile("hard link target '" + entry.linkName + "' is a directory");
                case BLOCKED -> throw hostile("hard link target '" + entry.linkName
                        + "' lies under a symlink or a file of this layer");
                case MISSING -> {
                    if (targetRel.equals(rel)) {
                        throw hostile("hard link to itself");
                    }
                    if (EntryPath.selfOrAncestorIn(targetRel, opaque)) {
                        throw hostile("hard link target '" + entry.linkName + "' is hidden by an opaque directory"
                                + " of this layer");
                    }
                    removeExisting(rel, false);
                    lowerLinks.put(rel, targetRel); // made on finish, from the layers below
                    lowerLinkEntries.put(rel, entryName);
                }
            }
            files++;
        }

        private void device(TarReader.Entry entry, String rel) throws IOException {
            if (!asRoot) {
                skips.add(Skips.DEVICE_NOT_ROOT);
                return;
            }
            Path target = createParents(rel);
            removeExisting(rel, false);
            try {
                PosixCalls.mknod(target, entry.type == '3' ? PosixCalls.S_IFCHR : PosixCalls.S_IFBLK, entry.mode,
                        entry.devMajor, entry.devMinor);
            } catch (PosixCalls.Errno e) {
                if (e.notPermitted()) {
                    skips.add(Skips.DEVICE_NOT_PERMITTED);
                    return;
                }
                throw e;
            }
            metadata(target, entry, true, true);
            files++;
        }

        private void fifo(TarReader.Entry entry, String rel) throws IOException {
            Path target = createParents(rel);
            removeExisting(rel, false);
            PosixCalls.mkfifo(target, entry.mode);
            metadata(target, entry, true, true);
            files++;
        }

        /**
         * Owner (when running as root), extended attributes, mode and mtime, in the order that keeps each of them;
         * {@code owner} or {@code mode} false leaves that as the node already has it (a symlink has no mode of its
         * own; a new file may have been created with the right ones).
         */
        private void metadata(Path target, TarReader.Entry entry, boolean owner, boolean mode) throws IOException {
            if (asRoot && owner) {
                FileMeta.chown(target, entry.uid, entry.gid); // clears setuid/setgid and security.capability
            }
            xattrs(target, entry);
            if (mode) {
                FileMeta.chmod(target, entry.mode);
            }
            FileMeta.mtime(target, entry.mtime);
        }

        private void xattrs(Path target, TarReader.Entry entry) throws IOException {
            for (Map.Entry<String, byte[]> x : entry.xattrs.entrySet()) {
                String name = x.getKey();
                if (name.indexOf('\0') >= 0) {
                    throw hostile("extended attribute name with a NUL byte");
                }
                Nodes.setXattr(target, name, x.getValue(), asRoot, skips);
            }
        }

        // ---------------------------------------------------------------- whiteouts

        /** An entry whose name starts with {@code .wh.}: a whiteout, an opaque marker, or AUFS metadata. */
        private void marker(TarReader.Entry entry, String rel, String base) throws IOException {
            if (entry.isDirectory()) {
                throw hostile("a directory named like a whiteout");
            }
            String parent = EntryPath.parent(rel);
            if (base.equals(Whiteouts.OPAQUE_MARKER)) {
                ensureDirectory(parent);
                makeOpaque(parent);
                files++;
            } else if (base.startsWith(Whiteouts.META_PREFIX)) {
                return; // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): no content, nothing lost
            } else {
                String name = base.substring(Whiteouts.PREFIX.length());
                if (name.isEmpty() || name.equals(".") || name.equals("..")) {
                    throw hostile("whiteout of '" + name + "' escapes its directory");
                }
                whiteout(EntryPath.child(parent, name));
                files++;
            }
        }

        /** Deletes {@code rel} from the layers below, leaving this layer's own {@code rel} alone. */
        private void whiteout(String rel) throws IOException {
            String parent = EntryPath.parent(rel);
            ensureDirectory(parent);
            if (whiteouts.contains(rel) || lowerLinks.containsKey(rel)) {
                return; // already deleted, or this layer has it (a link still to be made)
            }
            Path path = root.resolve(rel);
            Nodes.Attrs existing = Nodes.lstat(path);
            if (existing != null) {
                if (existing.isDirectory()) {
                    makeOpaque(rel); // this layer's directory stays; the lower one's content must not show
                }
                return; // this layer's non-directory already hides the lower one
            }
            whiteouts.add(rel);
            if (overlay) {
                PosixCalls.mknod(path, PosixCalls.S_IFCHR, 0, 0, 0);
            } else {
                writeMarker(parent, Whiteouts.PREFIX + EntryPath.base(rel));
            }
        }

        /** Makes this layer's directory {@code rel} hide the layers below. */
        private void makeOpaque(String rel) throws IOException {
            if (!opaque.add(rel)) {
                return;
            }
            Path dir = rel.isEmpty() ? root : root.resolve(rel);
            if (overlay) {
                Whiteouts.setOpaqueXattr(dir);
            } else {
                writeMarker(rel, Whiteouts.OPAQUE_MARKER);
            }
        }

        private void writeMarker(String dirRel, String name) throws IOException {
            Path marker = (dirRel.isEmpty() ? root : root.resolve(dirRel)).resolve(name);
            Nodes.Attrs existing = Nodes.lstat(marker);
            if (existing != null && existing.isRegular()) {
                return;
            }
            if (existing != null) {
                Nodes.delete(marker);
            }
            Files.createFile(marker);
            FileMeta.chmod(marker, 0644);
            FileMeta.mtime(marker, entryTime);
        }

        // ---------------------------------------------------------------- paths

        /** Makes {@code rel} a directory of this layer (an implicit one if it is new). */
        private void ensureDirectory(String rel) throws IOException {
            if (rel.isEmpty() || knownDirs.contains(rel)) {
                return;
            }
            Path path = createParents(rel);
            Nodes.Attrs existing = Nodes.lstat(path);
            if (existing != null && existing.isDirectory()) {
                knownDirs.add(rel);
                return;
            }
            makeImplicitDirectory(rel, existing);
        }

        /**
         * Creates the missing parents of {@code rel} as implicit directories, checking that each existing one is a
         * real directory. Returns the absolute path of {@code rel}.
         */
        private Path createParents(String rel) throws IOException {
            String parent = EntryPath.parent(rel);
            if (!parent.isEmpty() && !knownDirs.contains(parent)) {
                int from = 0;
                while (from <= parent.length()) {
                    int slash = parent.indexOf('/', from);
                    String prefix = slash < 0 ? parent : parent.substring(0, slash);
                    if (!knownDirs.contains(prefix)) {
                        Nodes.Attrs attrs = Nodes.lstat(root.resolve(prefix));
                        if (attrs == null || Whiteouts.isOverlayWhiteout(attrs) && whiteouts.contains(prefix)) {
                            makeImplicitDirectory(prefix, attrs);
                        } else if (attrs.isSymlink()) {
                            throw hostile("parent '" + prefix + "' is a symlink");
                        } else if (!attrs.isDirectory()) {
                            throw hostile("parent '" + prefix + "' is not a directory");
                        } else {
                            knownDirs.add(prefix);
                        }
                    }
                    from = slash < 0 ? parent.length() + 1 : slash + 1;
                }
            }
            return root.resolve(rel);
        }

        /** Creates {@code rel} as a directory the tar did not list (over this layer's own whiteout, if any). */
        private void makeImplicitDirectory(String rel, Nodes.Attrs existing) throws IOException {
            boolean replacesWhiteout = whiteouts.contains(rel);
            if (existing != null && !(Whiteouts.isOverlayWhiteout(existing) && replacesWhiteout)) {
                throw hostile("parent '" + rel + "' is not a directory");
            }
            Path dir = root.resolve(rel);
            if (existing != null) {
                Files.delete(dir);
            }
            lowerLinks.remove(rel);
            whiteouts.remove(rel);
            Files.createDirectory(dir);
            FileMeta.chmod(dir, IMPLICIT_DIR_MODE);
            knownDirs.add(rel);
            dirs.put(rel, DirMeta.implicit(entryName));
            if (replacesWhiteout) {
                makeOpaque(rel); // the lower directory was deleted: this one must not merge with it
            }
        }

        /** Where {@code rel} stands in this layer, walking real directories only. */
        private enum Here { FILE, DIRECTORY, MISSING, BLOCKED }

        private Here lookupHere(String rel) throws IOException {
            String parent = EntryPath.parent(rel);
            int from = 0;
            while (!parent.isEmpty() && from <= parent.length()) {
                int slash = parent.indexOf('/', from);
                String prefix = slash < 0 ? parent : parent.substring(0, slash);
                if (!knownDirs.contains(prefix)) {
                    Nodes.Attrs attrs = Nodes.lstat(root.resolve(prefix));
                    if (attrs == null) {
                        return Here.MISSING;
                    }
                    if (!attrs.isDirectory()) {
                        return Here.BLOCKED;
                    }
                }
                from = slash < 0 ? parent.length() + 1 : slash + 1;
            }
            Nodes.Attrs attrs = Nodes.lstat(root.resolve(rel));
            if (attrs == null) {
                return Here.MISSING;
            }
            if (Whiteouts.isOverlayWhiteout(attrs) && whiteouts.contains(rel)) {
                return Here.MISSING;
            }
            return attrs.isDirectory() ? Here.DIRECTORY : Here.FILE;
        }

        /**
         * Makes room at {@code rel} for a new entry: removes what is there, except a directory when a directory
         * comes (merge). Forgets what this layer knew of the removed paths. Returns true if a directory was kept.
         */
        private boolean removeExisting(String rel, boolean directoryComing) throws IOException {
            forgetBelow(rel);
            return removeFromDisk(rel, directoryComing);
        }

        /** Forgets the lower links and whiteouts at or below {@code rel}: what comes at rel replaces them. */
        private void forgetBelow(String rel) {
            if (!lowerLinks.isEmpty()) {
                lowerLinks.keySet().removeIf(link -> EntryPath.isWithin(link, rel));
            }
            if (!whiteouts.isEmpty()) {
                whiteouts.removeIf(w -> EntryPath.isWithin(w, rel)); // what comes at rel hides the lower rel itself
            }
        }

        /** The part of {@link #removeExisting} that looks at the disk. */
        private boolean removeFromDisk(String rel, boolean directoryComing) throws IOException {
            Path path = root.resolve(rel);
            Nodes.Attrs attrs = Nodes.lstat(path);
            if (attrs == null) {
                return false;
            }
            if (directoryComing && attrs.isDirectory()) {
                return true;
            }
            Nodes.delete(path);
            knownDirs.removeIf(dir -> EntryPath.isWithin(dir, rel));
            dirs.keySet().removeIf(dir -> EntryPath.isWithin(dir, rel));
            opaque.removeIf(dir -> EntryPath.isWithin(dir, rel));
            return false;
        }

        // ---------------------------------------------------------------- finishing

        @Override
        public boolean needsLowerLayers() {
            if (!lowerLinks.isEmpty()) {
                return true;
            }
            for (Map.Entry<String, DirMeta> dir : dirs.entrySet()) {
                if (!dir.getValue().explicit() && !EntryPath.selfOrAncestorIn(dir.getKey(), opaque)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public ApplyStats finish(List<Path> lowerLayers) throws IOException {
            if (finished) {
                throw new IllegalStateException("layer " + layer + " is finished already");
            }
            finished = true;
            var lower = new LowerLayers(lowerLayers);
            makeLowerLinks(lower);
            inheritDirectories(lower);
            entryName = "";
            applyDirectoryMetadata();
            return new ApplyStats(bytes, files, skips.counts());
        }

        /** Hard links to lower layers' files: the file is copied up into this layer, and linked. */
        private void makeLowerLinks(LowerLayers lower) throws IOException {
            Map<String, List<String>> byTarget = new LinkedHashMap<>();
            lowerLinks.forEach((link, target) -> byTarget.computeIfAbsent(target, t -> new ArrayList<>()).add(link));
            for (Map.Entry<String, List<String>> group : byTarget.entrySet()) {
                String target = group.getKey();
                List<String> links = group.getValue();
                entryName = lowerLinkEntries.get(links.getFirst());
                LowerLayers.Hit hit = lower.lookup(target);
                switch (hit.kind()) {
                    case MISSING -> throw hostile("hard link target '" + target
                            + "' is neither in this layer nor in the layers below");
                    case DIRECTORY -> throw hostile("hard link target '" + target + "' is a directory");
                    case SYMLINK_ANCESTOR, NON_DIRECTORY_ANCESTOR -> throw hostile("hard link target '" + target
                            + "' lies under '" + hit.at() + "', which is not a directory in a lower layer");
                    case NON_DIRECTORY -> {
                        // The lower file moves up into this layer under every name the merged view shows it by
                        // (hard links stay hard links, as extracting the layers in order keeps them), unless this
                        // layer has (or deleted) that name by now; the links join it. With no name left, the first
                        // link keeps the lower file's content on its own.
                        List<String> names = new ArrayList<>();
                        if (!shadowedHere(target)) {
                            names.add(target);
                        }
                        for (String other : lower.otherVisibleNames(hit)) {
                            if (!shadowedHere(other)) {
                                names.add(other);
                            }
                        }
                        names.addAll(links);
                        Path first = createParents(names.getFirst());
                        copyUp(hit, first);
                        for (String name : names.subList(1, names.size())) {
                            Files.createLink(createParents(name), first);
                        }
                    }
                }
            }
            lowerLinks.clear();
        }

        /** True if this layer has {@code rel}, deleted it, hides it, or cannot hold it under its own nodes. */
        private boolean shadowedHere(String rel) throws IOException {
            return lookupHere(rel) != Here.MISSING
                    || EntryPath.selfOrAncestorIn(rel, whiteouts)
                    || EntryPath.selfOrAncestorIn(rel, opaque);
        }

        private void copyUp(LowerLayers.Hit hit, Path to) throws IOException {
            if (!Nodes.copy(hit.path(), hit.attrs(), to, asRoot, skips)) {
                throw hostile("hard link target '" + hit.path().getFileName() + "' cannot be copied up here");
            }
            if (hit.attrs().isRegular()) {
                bytes += hit.attrs().size();
            }
        }

        /**
         * Directories this layer made without an entry take the metadata of the lower layers' directory at the same
         * path, as they would show it; over a lower symlink or file such a directory would write through it or
         * replace it unasked, which is refused.
         */
        private void inheritDirectories(LowerLayers lower) throws IOException {
            List<String> implicit = new ArrayList<>();
            dirs.forEach((rel, meta) -> {
                if (!meta.explicit()) {
                    implicit.add(rel);
                }
            });
            implicit.sort(Comparator.comparingInt(EntryPath::depth).thenComparing(Comparator.naturalOrder()));
            for (String rel : implicit) {
                if (lower.isEmpty() || EntryPath.selfOrAncestorIn(rel, opaque)) {
                    continue;
                }
                entryName = dirs.get(rel).createdBy();
                LowerLayers.Hit hit = lower.lookup(rel);
                switch (hit.kind()) {
                    case DIRECTORY -> {
                        Path dir = root.resolve(rel);
                        if (asRoot) {
                            FileMeta.chown(dir, Integer.toUnsignedLong(hit.attrs().uid()),
                                    Integer.toUnsignedLong(hit.attrs().gid()));
                        }
                        Nodes.copyXattrs(hit.path(), dir, asRoot, false, skips);
                        dirs.put(rel, new DirMeta(false, hit.attrs().permissions(), hit.attrs().mtime(),
                                dirs.get(rel).createdBy()));
                    }
                    case NON_DIRECTORY -> throw hostile("parent '" + rel + "' is "
                            + (hit.attrs().isSymlink() ? "a symlink" : "not a directory")
                            + " in a lower layer: writing through it is refused");
                    case MISSING, SYMLINK_ANCESTOR, NON_DIRECTORY_ANCESTOR -> {
                        // nothing below, or below a directory this layer lists itself: the default stays
                    }
                }
            }
        }

        private void applyDirectoryMetadata() throws IOException {
            List<Map.Entry<String, DirMeta>> all = new ArrayList<>(dirs.entrySet());
            all.sort(Comparator.comparingInt((Map.Entry<String, DirMeta> e) -> EntryPath.depth(e.getKey()))
                    .reversed());
            for (var dir : all) {
                Path path = dir.getKey().isEmpty() ? root : root.resolve(dir.getKey());
                Nodes.Attrs attrs = Nodes.lstat(path);
                if (attrs == null || !attrs.isDirectory()) {
                    throw SinglepullException.internal("layer " + layer + ": directory '" + dir.getKey()
                            + "' vanished while its metadata was pending", null);
                }
                FileMeta.chmod(path, dir.getValue().mode());
                FileMeta.mtime(path, dir.getValue().mtime());
            }
        }

        // ---------------------------------------------------------------- plumbing

        private TarReader.Entry next(TarReader tar) {
            try {
                return tar.next();
            } catch (TarReader.TooLarge e) {
                String where = entryName.isEmpty() ? "at its start" : "after entry '" + entryName + "'";
                throw new SinglepullException(ErrorKind.INVALID_ARGUMENT, "layer " + layer + ": " + where + ": "
                        + e.getMessage());
            } catch (IOException e) {
                throw corrupt(e);
            } catch (SinglepullException e) {
                throw annotate(e);
            }
        }

        private int read(TarReader tar, int length) {
            try {
                return tar.read(buffer, 0, length);
            } catch (IOException e) {
                throw corrupt(e);
            } catch (SinglepullException e) {
                throw annotate(e);
            }
        }

        /** A failure of the stream under the tar (a decompression ratio limit, say): named with the entry. */
        private SinglepullException annotate(SinglepullException e) {
            if (e.kind() == ErrorKind.CANCELLED) {
                return e;
            }
            return new SinglepullException(e.kind(), "layer " + layer + ": " + where() + ": " + e.getMessage(), e);
        }

        private String where() {
            return entryName.isEmpty() ? "at its start" : "at entry '" + entryName + "'";
        }

        private SinglepullException hostile(String why) {
            return new SinglepullException(ErrorKind.INVALID_ARGUMENT,
                    "layer " + layer + ": entry '" + entryName + "': " + why);
        }

        private SinglepullException corrupt(IOException e) {
            String where = entryName.isEmpty() ? "at its start" : "after entry '" + entryName + "'";
            return new SinglepullException(ErrorKind.DATA_LOSS,
                    "layer " + layer + ": malformed tar " + where + ": " + e.getMessage(), e);
        }

        private static Set<PosixFilePermission> permissions(int mode) {
            var set = EnumSet.noneOf(PosixFilePermission.class);
            var all = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE
            for (int i = 0; i < 9; i++) {
                if ((mode & (0400 >> i)) != 0) {
                    set.add(all[i]);
                }
            }
            return set;
        }

        private static String printable(char type) {
            return type >= 0x20 && type < 0x7f ? String.valueOf(type) : String.format("\\x%02x", (int) type);
        }

        /** True if this process can make whiteout devices and set trusted xattrs under {@code dir}. */
        private static boolean overlayConventionWorks(Path dir) throws IOException {
            Path probe = dir.resolve(".singlepull-probe-" + Thread.currentThread().threadId());
            try {
                Files.createDirectory(probe);
                PosixCalls.mknod(probe.resolve("w"), PosixCalls.S_IFCHR, 0, 0, 0);
                Whiteouts.setOpaqueXattr(probe);
                return true;
            } catch (PosixCalls.Errno e) {
                if (e.notPermitted()) {
                    return false;
                }
                throw e;
            } finally {
                Nodes.delete(probe);
            }
        }

        /**
         * What finishing applies to a directory.
         *
         * @param explicit  listed by the tar (else made as a parent of entries)
         * @param mode      permission bits
         * @param mtime     null to leave the time alone
         * @param createdBy the entry that made an implicit directory, for error messages
         */
        private record DirMeta(boolean explicit, int mode, FileTime mtime, String createdBy) {
            static DirMeta explicit(int mode, FileTime mtime) {
                return new DirMeta(true, mode, mtime, null);
            }

            static DirMeta implicit(String createdBy) {
                return new DirMeta(false, IMPLICIT_DIR_MODE, null, createdBy);
            }
        }
    }
}

package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The merged view of a stack of committed layer directories, looked up one path at a time the way overlayfs looks
 * it up: the nearest layer that has the path wins; a directory lets the layers below show through unless it is
 * opaque; a whiteout or a non-directory hides everything below it. Both whiteout conventions are understood.
 * Nothing is followed: a symlink met on the way is reported, never resolved. Immutable; the directories must not
 * change while it is used (committed snapshots never do).
 */
final class LowerLayers {
    /** What a lookup found. */
    enum Kind {
        /** Nothing at the path (never there, or deleted by a whiteout, or hidden by an opaque directory). */
        MISSING,
        /** A directory; {@link Hit#path} is the nearest layer's, whose metadata the merged directory shows. */
        DIRECTORY,
        /** A non-directory node at the path. */
        NON_DIRECTORY,
        /** A symlink at a proper ancestor of the path ({@link Hit#at} names it). */
        SYMLINK_ANCESTOR,
        /** Some other non-directory at a proper ancestor of the path ({@link Hit#at} names it). */
        NON_DIRECTORY_ANCESTOR
    }

    /**
     * A lookup's result.
     *
     * @param path  the node in its layer directory (DIRECTORY, NON_DIRECTORY), else null
     * @param attrs its stat (DIRECTORY, NON_DIRECTORY), else null
     * @param at    the ancestor that blocked the lookup (the *_ANCESTOR kinds), else null
     * @param layer the layer directory the node is in (DIRECTORY, NON_DIRECTORY), else null
     */
    record Hit(Kind kind, Path path, Nodes.Attrs attrs, String at, Path layer) {
        static final Hit MISSING = new Hit(Kind.MISSING, null, null, null, null);
    }

    private final List<Path> nearestFirst;

    /** @param nearestFirst layer directories, the layer just below first, the bottom layer last */
    LowerLayers(List<Path> nearestFirst) {
        this.nearestFirst = List.copyOf(nearestFirst);
    }

    static LowerLayers none() {
        return new LowerLayers(List.of());
    }

    boolean isEmpty() {
        return nearestFirst.isEmpty();
    }

    /**
     * The other names, relative to {@code hit}'s layer, of the multiply linked node {@code hit} found, that the merged
     * view still shows as that same node.
     */
    List<String> otherVisibleNames(Hit hit) throws IOException {
        List<String> out = new java.util.ArrayList<>();
        if (hit.attrs().nlink() < 2 || hit.attrs().fileKey() == null) {
            return out;
        }
        int wanted = hit.attrs().nlink() - 1;
        java.util.ArrayDeque<Path> dirs = new java.util.ArrayDeque<>();
        dirs.add(hit.layer());
        while (!dirs.isEmpty() && wanted > 0) {
            Path dir = dirs.poll();
            List<Path> children = new java.util.ArrayList<>();
            try (var stream = java.nio.file.Files.newDirectoryStream(dir)) {
                stream.forEach(children::add);
            } catch (java.nio.file.AccessDeniedException e) {
                continue; // a directory an ordinary user may not list: its names stay where they are
            }
            for (Path p : children) {
                Nodes.Attrs attrs = Nodes.lstat(p);
                if (attrs == null) {
                    continue;
                }
                if (attrs.isDirectory()) {
                    dirs.add(p);
                } else if (!p.equals(hit.path()) && hit.attrs().fileKey().equals(attrs.fileKey())) {
                    wanted--;
                    String rel = hit.layer().relativize(p).toString();
                    Hit seen = lookup(rel);
                    if (seen.kind() == Kind.NON_DIRECTORY && seen.path().equals(p)) {
                        out.add(rel);
                    }
                }
            }
        }
        return out;
    }

    /** Looks up {@code rel} (normalized, non-empty, components joined by '/'). */
    Hit lookup(String rel) throws IOException {
        String[] parts = rel.split("/");
        for (Path layer : nearestFirst) {
            Path dir = layer;
            boolean hidesBelow = false;
            boolean absent = false;
            for (int i = 0; i < parts.length; i++) {
                boolean last = i == parts.length - 1;
                boolean aufsWhiteout = Whiteouts.hasAufsWhiteout(dir, parts[i]);
                Path node = dir.resolve(parts[i]);
                Nodes.Attrs attrs = Nodes.lstat(node);
                if (attrs == null) {
                    if (aufsWhiteout) {
                        return Hit.MISSING;
                    }
                    absent = true;
                    break;
                }
                if (Whiteouts.isOverlayWhiteout(attrs)) {
                    return Hit.MISSING;
                }
                if (aufsWhiteout) {
                    hidesBelow = true; // deleted below, then made again in this layer: only this layer's shows
                }
                if (last) {
                    return new Hit(attrs.isDirectory() ? Kind.DIRECTORY : Kind.NON_DIRECTORY, node, attrs, null,
                            layer);
                }
                if (!attrs.isDirectory()) {
                    String at = String.join("/", java.util.Arrays.copyOf(parts, i + 1));
                    return new Hit(attrs.isSymlink() ? Kind.SYMLINK_ANCESTOR : Kind.NON_DIRECTORY_ANCESTOR, null,
                            null, at, null);
                }
                if (Whiteouts.isOpaque(node)) {
                    hidesBelow = true;
                }
                dir = node;
            }
            if (absent && hidesBelow) {
                return Hit.MISSING;
            }
        }
        return Hit.MISSING;
    }
}

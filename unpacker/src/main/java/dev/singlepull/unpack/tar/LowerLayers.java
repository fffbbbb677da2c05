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
     */
    record Hit(Kind kind, Path path, Nodes.Attrs attrs, String at) {
        static final Hit MISSING = new Hit(Kind.MISSING, null, null, null);
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
                    return new Hit(attrs.isDirectory() ? Kind.DIRECTORY : Kind.NON_DIRECTORY, node, attrs, null);
                }
                if (!attrs.isDirectory()) {
                    String at = String.join("/", java.util.Arrays.copyOf(parts, i + 1));
                    return new Hit(attrs.isSymlink() ? Kind.SYMLINK_ANCESTOR : Kind.NON_DIRECTORY_ANCESTOR, null,
                            null, at);
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

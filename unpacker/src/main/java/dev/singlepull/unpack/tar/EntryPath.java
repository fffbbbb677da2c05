package dev.singlepull.unpack.tar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/** The path rules for tar entry names and hard link targets. Stateless. */
final class EntryPath {
    /** Longest name component Linux file systems hold ({@code NAME_MAX}). */
    static final int MAX_COMPONENT_BYTES = 255;
    /** Longest path, relative to the layer root, that stays under {@code PATH_MAX} in the snapshot directory. */
    static final int MAX_PATH_BYTES = 3072;

    private EntryPath() {
    }

    /**
     * Why the normalized path {@code rel} cannot be an entry, or null if it can: a component too long for the file
     * system, a path too long, or a parent component named like a whiteout ({@code .wh.*}), which no layer can
     * hold.
     */
    static String unfit(String rel) {
        if (rel.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            return "the path is longer than " + MAX_PATH_BYTES + " bytes";
        }
        String[] parts = rel.split("/");
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].getBytes(StandardCharsets.UTF_8).length > MAX_COMPONENT_BYTES) {
                return "a name is longer than " + MAX_COMPONENT_BYTES + " bytes";
            }
            if (i < parts.length - 1 && parts[i].startsWith(Whiteouts.PREFIX)) {
                return "it lies under '" + parts[i] + "', a whiteout marker's name";
            }
        }
        return null;
    }

    /** The last component of a normalized path. */
    static String base(String rel) {
        return rel.substring(rel.lastIndexOf('/') + 1);
    }

    /** {@code parent/name}, or {@code name} at the root. */
    static String child(String parent, String name) {
        return parent.isEmpty() ? name : parent + "/" + name;
    }

    /** True if some proper ancestor of {@code rel}, or {@code rel} itself, is in {@code paths}. */
    static boolean selfOrAncestorIn(String rel, java.util.Set<String> paths) {
        if (paths.isEmpty()) {
            return false;
        }
        String p = rel;
        while (true) {
            if (paths.contains(p)) {
                return true;
            }
            if (p.isEmpty()) {
                return false;
            }
            p = parent(p);
        }
    }

    /**
     * The entry's path relative to the layer root, components joined by {@code /}; {@code ""} for the root itself;
     * {@code null} if the name escapes the root or contains NUL. A leading {@code /} and {@code .} components are
     * ignored (OCI paths are relative to the layer root); {@code ..} is resolved lexically and must stay inside.
     */
    static String normalize(String name) {
        if (name == null || name.indexOf('\0') >= 0) {
            return null;
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String component : name.split("/")) {
            if (component.isEmpty() || component.equals(".")) {
                continue;
            }
            if (component.equals("..")) {
                if (parts.isEmpty()) {
                    return null;
                }
                parts.removeLast();
            } else {
                parts.addLast(component);
            }
        }
        return String.join("/", parts);
    }

    /** The parent of a normalized path; {@code ""} for a top-level entry. */
    static String parent(String rel) {
        int slash = rel.lastIndexOf('/');
        return slash < 0 ? "" : rel.substring(0, slash);
    }

    /** True if {@code rel} is {@code ancestor} or lies under it. */
    static boolean isWithin(String rel, String ancestor) {
        return ancestor.isEmpty() || rel.equals(ancestor) || rel.startsWith(ancestor + "/");
    }

    /** Path depth: 0 for the root, 1 for a top-level entry. */
    static int depth(String rel) {
        if (rel.isEmpty()) {
            return 0;
        }
        int depth = 1;
        for (int i = 0; i < rel.length(); i++) {
            if (rel.charAt(i) == '/') {
                depth++;
            }
        }
        return depth;
    }
}

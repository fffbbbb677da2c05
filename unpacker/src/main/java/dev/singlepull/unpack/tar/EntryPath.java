package dev.singlepull.unpack.tar;

import java.util.ArrayDeque;
import java.util.Deque;

/** The path rules for tar entry names and hard link targets. Stateless. */
final class EntryPath {
    private EntryPath() {
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

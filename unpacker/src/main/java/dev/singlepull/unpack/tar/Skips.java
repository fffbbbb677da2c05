package dev.singlepull.unpack.tar;

import java.util.Map;
import java.util.TreeMap;

/** Counts of things deliberately not created or not copied, by reason, for the warning a caller logs. For one thread. */
final class Skips {
    static final String DEVICE_NOT_ROOT = "device nodes (not running as root)";
    static final String DEVICE_NOT_PERMITTED = "device nodes (mknod not permitted)";
    static final String XATTR_NOT_ROOT = "extended attributes outside user.* (not running as root)";
    static final String XATTR_REFUSED = "extended attributes the file system refused";
    static final String XATTR_RESERVED = "trusted.overlay.* attributes (reserved for the overlay convention)";
    static final String SOCKET = "sockets";

    private final Map<String, Long> counts = new TreeMap<>();

    void add(String reason) {
        counts.merge(reason, 1L, Long::sum);
    }

    Map<String, Long> counts() {
        return Map.copyOf(counts);
    }
}

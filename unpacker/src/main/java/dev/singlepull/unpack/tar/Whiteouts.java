package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The two ways a layer directory records deletions. The overlay convention (what overlayfs reads, made when running
 * as root): a whiteout is a character device 0/0 named like the deleted path, and an opaque directory carries the
 * xattr {@code trusted.overlay.opaque=y}. The AUFS convention (what the layer tar itself carries, kept when the
 * overlay one cannot be made): an empty file {@code .wh.NAME} beside the deleted {@code NAME}, and a file
 * {@code .wh..wh..opq} inside an opaque directory. Readers accept both. Stateless.
 */
final class Whiteouts {
    static final String PREFIX = ".wh.";
    static final String META_PREFIX = ".wh..wh.";
    static final String OPAQUE_MARKER = ".wh..wh..opq";
    static final String OPAQUE_XATTR = "trusted.overlay.opaque";
    static final String OVERLAY_XATTRS = "trusted.overlay.";
    private static final byte[] YES = {'y'};

    private Whiteouts() {
    }

    /** True for an overlay whiteout: a character device with device number 0/0. */
    static boolean isOverlayWhiteout(Nodes.Attrs attrs) {
        return attrs != null && attrs.isCharDevice() && attrs.rdev() == 0;
    }

    /** True if {@code name} is an AUFS whiteout or metadata file name. */
    static boolean isMarkerName(String name) {
        return name.startsWith(PREFIX);
    }

    /** True if the directory {@code dir} hides the layers below it, in either convention. */
    static boolean isOpaque(Path dir) throws IOException {
        byte[] value = PosixCalls.lgetxattr(dir, OPAQUE_XATTR);
        if (value != null && Arrays.equals(value, YES)) {
            return true;
        }
        return Files.isRegularFile(dir.resolve(OPAQUE_MARKER), LinkOption.NOFOLLOW_LINKS);
    }

    /** True if {@code dir} holds the AUFS whiteout of {@code name}. */
    static boolean hasAufsWhiteout(Path dir, String name) {
        return Files.exists(dir.resolve(PREFIX + name), LinkOption.NOFOLLOW_LINKS);
    }

    /** Marks {@code dir} opaque in the overlay convention. */
    static void setOpaqueXattr(Path dir) throws IOException {
        PosixCalls.lsetxattr(dir, OPAQUE_XATTR, YES);
    }
}

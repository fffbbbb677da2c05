package dev.singlepull.cri.config;

import java.nio.file.Path;

/**
 * Where singlepull keeps its state and socket by default: {@code /var/lib/singlepull} and
 * {@code /run/singlepull/singlepull.sock} as root; as an ordinary user, {@code $XDG_DATA_HOME/singlepull} and
 * {@code $XDG_RUNTIME_DIR/singlepull/singlepull.sock} (falling back to {@code ~/.local/share} and {@code /tmp}).
 */
public final class DefaultPaths {
    private DefaultPaths() {
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    public static Path root() {
        if (isRoot()) {
            return Path.of("/var/lib/singlepull");
        }
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("singlepull");
    }

    public static Path socket() {
        if (isRoot()) {
            return Path.of("/run/singlepull/singlepull.sock");
        }
        String xdg = System.getenv("XDG_RUNTIME_DIR");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                : Path.of(System.getProperty("java.io.tmpdir"), "singlepull-" + System.getProperty("user.name"));
        return base.resolve("singlepull").resolve("singlepull.sock");
    }
}

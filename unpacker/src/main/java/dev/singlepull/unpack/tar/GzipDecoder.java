package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * Which implementation inflates gzip layers. Both check every member's CRC-32 and length and read concatenated
 * members as one stream, so they produce the same bytes and accept the same layers; they differ in speed (measured
 * in docs/BENCHMARKS.md, "gzip decompressors").
 */
public enum GzipDecoder {
    /** ISA-L when its library is present and passed its self-test here, {@code java.util.zip} otherwise. */
    AUTO,
    /** ISA-L ({@code libisal.so.2}, Debian's {@code libisal2}) through the FFM API; refused where it is not usable. */
    ISAL,
    /** {@code java.util.zip}, on the system zlib. */
    JDK;

    private static final int JDK_INFLATER_BUFFER = 64 * 1024;

    /** {@code "auto"}, {@code "isal"} or {@code "jdk"}; IllegalArgumentException naming the choices otherwise. */
    public static GzipDecoder parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("gzip decoder '" + name + "' is none of auto, isal, jdk", e);
        }
    }

    /** Why ISA-L is not used here, or empty when it is usable. */
    public static Optional<String> isalUnavailable() {
        return Optional.ofNullable(IsalInflate.unavailableReason());
    }

    /**
     * The decoder this one stands for on this machine: {@link #AUTO} resolved. For {@link #ISAL} where ISA-L is not
     * usable, IllegalStateException saying why (a configuration that asks for it should fail at start-up).
     */
    public GzipDecoder resolved() {
        return switch (this) {
            case AUTO -> IsalInflate.loaded().isPresent() ? ISAL : JDK;
            case ISAL -> {
                if (IsalInflate.loaded().isEmpty()) {
                    throw new IllegalStateException("gzip_decoder = \"isal\", but " + IsalInflate.unavailableReason());
                }
                yield ISAL;
            }
            case JDK -> JDK;
        };
    }

    /** The name used in configuration and reports. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The decompressed stream of the gzip data in {@code source}; closing it closes {@code source}. */
    InputStream open(InputStream source) throws IOException {
        return switch (resolved()) {
            case ISAL -> new IsalGzipInputStream(IsalInflate.loaded().orElseThrow(), source);
            case JDK, AUTO -> new GZIPInputStream(source, JDK_INFLATER_BUFFER);
        };
    }
}

package dev.singlepull.unpack;

import dev.singlepull.unpack.tar.GzipDecoder;
import java.time.Duration;
import java.util.Objects;

/**
 * Limits and settings of an {@link Unpacker}.
 *
 * @param maxConcurrentUnpacks layers decompressed and applied at once; taken by the shared work after
 *                             deduplication, never by a waiting caller
 * @param maxExpansionRatio    a layer whose uncompressed stream grows past this many times the compressed bytes
 *                             read so far is refused as a decompression bomb (RESOURCE_EXHAUSTED); 0 disables
 * @param expansionCheckAbove  the ratio is checked only once this many uncompressed bytes have been produced, so
 *                             that small, very compressible layers pass
 * @param lowerLayerWait       how long a layer that needs the layers below (a hard link to their files, a
 *                             directory it does not list) waits for them to be committed (DEADLINE_EXCEEDED after)
 * @param gzipDecoder          what inflates gzip layers ({@link GzipDecoder#AUTO}: the fastest usable here)
 */
public record UnpackLimits(int maxConcurrentUnpacks, int maxExpansionRatio, long expansionCheckAbove,
                           Duration lowerLayerWait, GzipDecoder gzipDecoder) {
    public static final int DEFAULT_MAX_EXPANSION_RATIO = 100;
    public static final long DEFAULT_EXPANSION_CHECK_ABOVE = 256L << 20;
    public static final Duration DEFAULT_LOWER_LAYER_WAIT = Duration.ofMinutes(30);

    public UnpackLimits {
        if (maxConcurrentUnpacks < 1) {
            throw new IllegalArgumentException("maxConcurrentUnpacks must be >= 1, was " + maxConcurrentUnpacks);
        }
        if (maxExpansionRatio < 0 || expansionCheckAbove < 0) {
            throw new IllegalArgumentException("maxExpansionRatio and expansionCheckAbove must be >= 0");
        }
        Objects.requireNonNull(lowerLayerWait, "lowerLayerWait");
        if (lowerLayerWait.isNegative()) {
            throw new IllegalArgumentException("lowerLayerWait must not be negative");
        }
        Objects.requireNonNull(gzipDecoder, "gzipDecoder");
    }

    /** {@code maxConcurrentUnpacks} with the default ratio limit, wait and gzip decoder. */
    public UnpackLimits(int maxConcurrentUnpacks) {
        this(maxConcurrentUnpacks, DEFAULT_MAX_EXPANSION_RATIO, DEFAULT_EXPANSION_CHECK_ABOVE,
                DEFAULT_LOWER_LAYER_WAIT, GzipDecoder.AUTO);
    }

    /** One unpack per available processor, default ratio limit and wait. */
    public static UnpackLimits defaults() {
        return new UnpackLimits(Runtime.getRuntime().availableProcessors());
    }

    /** These limits with another expansion ratio limit. */
    public UnpackLimits withExpansionLimit(int ratio, long checkAbove) {
        return new UnpackLimits(maxConcurrentUnpacks, ratio, checkAbove, lowerLayerWait, gzipDecoder);
    }

    /** These limits with another wait for lower layers. */
    public UnpackLimits withLowerLayerWait(Duration wait) {
        return new UnpackLimits(maxConcurrentUnpacks, maxExpansionRatio, expansionCheckAbove, wait, gzipDecoder);
    }

    /** These limits with another gzip decoder. */
    public UnpackLimits withGzipDecoder(GzipDecoder decoder) {
        return new UnpackLimits(maxConcurrentUnpacks, maxExpansionRatio, expansionCheckAbove, lowerLayerWait, decoder);
    }
}

package dev.singlepull.unpack;

/**
 * Limits of an {@link Unpacker}.
 *
 * @param maxConcurrentUnpacks layers decompressed and applied at once; taken by the shared work after
 *                             deduplication, never by a waiting caller
 */
public record UnpackLimits(int maxConcurrentUnpacks) {
    public UnpackLimits {
        if (maxConcurrentUnpacks < 1) {
            throw new IllegalArgumentException("maxConcurrentUnpacks must be >= 1, was " + maxConcurrentUnpacks);
        }
    }

    /** One unpack per available processor. */
    public static UnpackLimits defaults() {
        return new UnpackLimits(Runtime.getRuntime().availableProcessors());
    }
}

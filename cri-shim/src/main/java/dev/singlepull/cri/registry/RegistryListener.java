package dev.singlepull.cri.registry;

/**
 * Hears what the registry client does to get through: retries, mirror fallbacks, circuit breakers opening and blob
 * downloads resumed with a range. cri-shim binds it to Micrometer; the registry package knows no metrics library.
 * Implementations must be thread-safe and quick: they are called on the requesting thread.
 */
public interface RegistryListener {
    RegistryListener NONE = new RegistryListener() { };

    /** A request to {@code host} is sent again after a connection error, 429 or 5xx. */
    default void retried(String host) {
    }

    /** A mirror failed and the next endpoint of its registry is tried. */
    default void fellBack(String mirror) {
    }

    /**
     * The circuit breaker of {@code host} opened from closed: requests to it are held back until a probe gets through
     * (reopening after a failed probe is the same outage and not reported again).
     */
    default void circuitOpened(String host) {
    }

    /** A blob download continues from byte {@code offset} with a range request to {@code host}. */
    default void resumed(String host, long offset) {
    }
}

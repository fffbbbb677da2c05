package dev.singlepull.dedup;

/**
 * Observes the life of flights in one table, for metrics. Methods are called on the thread where the event
 * happens and must not block. Every method has a no-op default.
 */
public interface FlightListener {
    FlightListener NONE = new FlightListener() { };

    /** A caller found no live flight for its key and started the work. */
    default void started(String tier) { }

    /** A caller joined a live flight instead of starting the work again (a dedup hit). */
    default void joined(String tier) { }

    /** The work returned a value. */
    default void succeeded(String tier) { }

    /** The work failed with anything but cancellation. */
    default void failed(String tier, Throwable cause) { }

    /** The work was cancelled: every caller left and the grace ran out, or the flight was aborted as cancelled. */
    default void cancelled(String tier) { }

    /** The number of callers waiting on flights of this tier changed by {@code delta} (+1 or -1). */
    default void waitersChanged(String tier, int delta) { }
}

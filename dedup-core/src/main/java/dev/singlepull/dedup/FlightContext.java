package dev.singlepull.dedup;

import dev.singlepull.errdefs.SinglepullException;

/** What the work of a flight sees of the flight: its progress and its cancellation. */
public interface FlightContext {
    /** Where the work publishes its progress. */
    FlightProgress progress();

    /** True once the flight was cancelled or aborted; the work should stop soon after. */
    boolean isCancelled();

    /**
     * Throws the reason the flight ended early, if it did: the abort cause, or a CANCELLED error when the last
     * caller left. Work calls this between steps.
     */
    void throwIfCancelled() throws SinglepullException;

    /**
     * Registers an action to run once if the flight is cancelled (for example, to abort a network exchange that an
     * interrupt would not reach). Runs at once if the flight is already cancelled.
     */
    void onCancel(Runnable action);

    /**
     * Ends the flight early with {@code cause}: every caller receives it at once and the work is cancelled.
     * Used by watchdogs. Has no effect if the flight has already ended.
     */
    void abort(SinglepullException cause);
}

package dev.singlepull.cri.pull;

import java.time.Duration;

/**
 * How often the streams of one blob download may break and be resumed. A break counts against {@code max}, except
 * that streams which were already open when a counted break happened and break within a second of it share its cause
 * (a registry that stops resets every connection of the download at once), so one outage costs one resume however
 * many parts were in flight. Reaching the registry again after a break is the request's own retry ({@code
 * registry_outage_seconds}), not a resume. Thread-safe.
 */
final class ResumeBudget {
    private static final long SAME_CAUSE_NANOS = Duration.ofSeconds(1).toNanos();

    private final int max;
    private int spent;
    private long lastCounted;

    ResumeBudget(int max) {
        this.max = max;
    }

    /**
     * A stream opened at {@code openedAt} broke at {@code now} (both {@link System#nanoTime}); true when it may be
     * resumed.
     */
    synchronized boolean resume(long openedAt, long now) {
        boolean sameCause = spent > 0 && openedAt - lastCounted < 0 && now - lastCounted < SAME_CAUSE_NANOS;
        if (!sameCause) {
            spent++;
            lastCounted = now;
        }
        return spent <= max;
    }

    /** Breaks counted so far. */
    synchronized int spent() {
        return spent;
    }
}

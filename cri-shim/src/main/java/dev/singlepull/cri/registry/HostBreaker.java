package dev.singlepull.cri.registry;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * One host's circuit breaker, counting failed attempts over time rather than requests. A failure counts when it comes
 * at least one slice after the last counted one; failures inside that slice share its cause (the parallel range
 * requests of a pull all break at the moment a registry stops), so they count once. A success sets the count back to
 * zero. {@code threshold} counted failures in a row open the circuit: for {@code open} no request is let through; then
 * one request is let through as a probe (half-open) while the others keep waiting; its success closes the circuit,
 * its failure opens it again for {@code open}. Thread-safe.
 */
final class HostBreaker {
    /** While a probe is out, how long another request is told to wait before it asks again. */
    private static final long PROBE_WAIT_NANOS = Duration.ofMillis(100).toNanos();

    enum State { CLOSED, OPEN, HALF_OPEN }

    /**
     * The answer to a request for permission.
     *
     * @param granted   the request may go
     * @param probe     it goes as the half-open circuit's probe, and must report its outcome or {@link #abandon}
     * @param waitNanos when not granted: how long to wait before asking again
     */
    record Permit(boolean granted, boolean probe, long waitNanos) {
        static final Permit GO = new Permit(true, false, 0);
        static final Permit PROBE = new Permit(true, true, 0);

        static Permit waitFor(long nanos) {
            return new Permit(false, false, Math.max(1, nanos));
        }
    }

    private final int threshold;
    private final long sliceNanos;
    private final long openNanos;
    private final LongSupplier clock;

    private State state = State.CLOSED;
    private int counted;
    private long lastCounted;
    private long openUntil;
    private boolean probeOut;
    private boolean answered;

    /** @param clock nanoseconds, as {@link System#nanoTime} */
    HostBreaker(int threshold, Duration slice, Duration open, LongSupplier clock) {
        this.threshold = threshold;
        this.sliceNanos = slice.toNanos();
        this.openNanos = open.toNanos();
        this.clock = clock;
    }

    /** Whether a request may go now. A half-open circuit lets one probe through at a time. */
    synchronized Permit acquire() {
        long now = clock.getAsLong();
        if (state == State.OPEN) {
            if (now - openUntil < 0) {
                return Permit.waitFor(openUntil - now);
            }
            state = State.HALF_OPEN;
            probeOut = false;
        }
        if (state == State.HALF_OPEN) {
            if (probeOut) {
                return Permit.waitFor(PROBE_WAIT_NANOS);
            }
            probeOut = true;
            return Permit.PROBE;
        }
        return Permit.GO;
    }

    /** The host answered (any status below 500): the count starts over and an open or half-open circuit closes. */
    synchronized void success() {
        answered = true;
        counted = 0;
        state = State.CLOSED;
        probeOut = false;
    }

    /**
     * An attempt failed (connection error, timeout, 5xx). True when this failure opened a closed circuit (the
     * threshold's counted failure); a failed probe opens the half-open circuit again, which is the same outage.
     */
    synchronized boolean failure(Permit permit) {
        long now = clock.getAsLong();
        if (state == State.HALF_OPEN) {
            if (permit.probe()) {
                open(now);
            }
            return false; // else a request from before the circuit opened: the probe decides
        }
        if (state == State.OPEN) {
            return false; // sent before the circuit opened: its cause is counted already
        }
        if (counted > 0 && now - lastCounted < sliceNanos) {
            return false;
        }
        counted++;
        lastCounted = now;
        if (counted >= threshold) {
            open(now);
            return true;
        }
        return false;
    }

    /** A granted request ended without an outcome (cancelled): a probe's turn passes to the next request. */
    synchronized void abandon(Permit permit) {
        if (permit.probe() && state == State.HALF_OPEN) {
            probeOut = false;
        }
    }

    /** Whether the host has ever answered: a host that did and now refuses connections is taken to be restarting. */
    synchronized boolean answered() {
        return answered;
    }

    synchronized State state() {
        return state;
    }

    private void open(long now) {
        state = State.OPEN;
        openUntil = now + openNanos;
        probeOut = false;
        counted = 0;
    }
}

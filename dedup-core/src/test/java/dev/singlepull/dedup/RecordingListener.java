package dev.singlepull.dedup;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A {@link FlightListener} that counts every event per tier, for assertions. Thread-safe. */
final class RecordingListener implements FlightListener {

    /** The counts of one tier. */
    static final class Counts {
        final AtomicInteger started = new AtomicInteger();
        final AtomicInteger joined = new AtomicInteger();
        final AtomicInteger succeeded = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicInteger cancelled = new AtomicInteger();
        /** The running sum of every waitersChanged delta. */
        final AtomicInteger waiting = new AtomicInteger();
        /** The highest value {@link #waiting} ever reached. */
        final AtomicInteger maxWaiting = new AtomicInteger();
        final List<Throwable> failures = new CopyOnWriteArrayList<>();

        int outcomes() {
            return succeeded.get() + failed.get() + cancelled.get();
        }

        @Override
        public String toString() {
            return "started=" + started + " joined=" + joined + " succeeded=" + succeeded + " failed=" + failed
                    + " cancelled=" + cancelled + " waiting=" + waiting + " maxWaiting=" + maxWaiting;
        }
    }

    private final ConcurrentHashMap<String, Counts> tiers = new ConcurrentHashMap<>();
    private final Semaphore outcomes = new Semaphore(0);

    Counts tier(String tier) {
        return tiers.computeIfAbsent(tier, t -> new Counts());
    }

    /** Waits until {@code n} more outcomes (succeeded, failed or cancelled, any tier) have been reported. */
    boolean awaitOutcomes(int n, Duration bound) throws InterruptedException {
        return outcomes.tryAcquire(n, bound.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void started(String tier) {
        tier(tier).started.incrementAndGet();
    }

    @Override
    public void joined(String tier) {
        tier(tier).joined.incrementAndGet();
    }

    @Override
    public void succeeded(String tier) {
        tier(tier).succeeded.incrementAndGet();
        outcomes.release();
    }

    @Override
    public void failed(String tier, Throwable cause) {
        var counts = tier(tier);
        counts.failures.add(cause);
        counts.failed.incrementAndGet();
        outcomes.release();
    }

    @Override
    public void cancelled(String tier) {
        tier(tier).cancelled.incrementAndGet();
        outcomes.release();
    }

    @Override
    public void waitersChanged(String tier, int delta) {
        var counts = tier(tier);
        int now = counts.waiting.addAndGet(delta);
        counts.maxWaiting.accumulateAndGet(now, Math::max);
        synchronized (this) {
            notifyAll();
        }
    }

    /**
     * Waits until the waiting sum of {@code tier} is {@code expected}. A caller's leave is reported from the thread
     * that completes its future, which may still be running it when the caller's await() has already returned.
     */
    synchronized boolean awaitWaiting(String tier, int expected, Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        while (tier(tier).waiting.get() != expected) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }
}

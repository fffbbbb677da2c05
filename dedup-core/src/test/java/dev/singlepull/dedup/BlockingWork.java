package dev.singlepull.dedup;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Work for tests: signals that it started, blocks until {@link #release} is counted down, then returns its value.
 * Records whether it was interrupted (the flight's cancellation) and whether it ran to its end.
 */
final class BlockingWork<V> implements SingleFlight.Work<V> {
    final CountDownLatch started = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch interrupted = new CountDownLatch(1);
    final CountDownLatch completed = new CountDownLatch(1);
    final AtomicInteger runs = new AtomicInteger();
    private final V value;
    private volatile FlightContext context;

    BlockingWork(V value) {
        this.value = value;
    }

    @Override
    public V run(FlightContext ctx) throws Exception {
        runs.incrementAndGet();
        context = ctx;
        started.countDown();
        try {
            release.await();
        } catch (InterruptedException e) {
            interrupted.countDown();
            throw e;
        }
        completed.countDown();
        return value;
    }

    FlightContext context() {
        return context;
    }

    boolean wasInterrupted() {
        return interrupted.getCount() == 0;
    }
}

package dev.singlepull.dedup;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An executor for tests: runs each task on a new virtual thread named {@code flight-exec-N} and counts the tasks it
 * was given and the tasks that have finished, so a test can wait for "the grace timer's task has run".
 */
final class RecordingExecutor implements Executor {
    static final String THREAD_PREFIX = "flight-exec-";

    private final ExecutorService delegate =
            Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(THREAD_PREFIX, 0).factory());
    private final AtomicInteger submitted = new AtomicInteger();
    private final Semaphore finished = new Semaphore(0);

    @Override
    public void execute(Runnable task) {
        submitted.incrementAndGet();
        delegate.execute(() -> {
            try {
                task.run();
            } finally {
                finished.release();
            }
        });
    }

    /** How many tasks the table handed to this executor (works and grace timers). */
    int submitted() {
        return submitted.get();
    }

    /** Waits until {@code n} more tasks have finished. */
    boolean awaitFinished(int n, Duration bound) throws InterruptedException {
        return finished.tryAcquire(n, bound.toNanos(), TimeUnit.NANOSECONDS);
    }

    static boolean isFlightThread(Thread t) {
        return t.getName().startsWith(THREAD_PREFIX);
    }
}

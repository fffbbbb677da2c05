package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The table's lock and a flight's monitor are taken in one order only (the table's bin lock, then the flight's
 * monitor, as {@code join} does). Found by {@link SingleFlightStressTest}; reproduced here deterministically.
 */
@Timeout(60)
class LockOrderTest {

    /** A key whose equals() can be made to block, to hold the table's bin lock from a test at a chosen moment. */
    static final class Key {
        private final String name;
        final CountDownLatch inEquals = new CountDownLatch(1);
        final CountDownLatch proceed = new CountDownLatch(1);
        private final boolean blocking;

        Key(String name, boolean blocking) {
            this.name = name;
            this.blocking = blocking;
        }

        @Override
        public boolean equals(Object o) {
            if (blocking) {
                // ConcurrentHashMap.compute calls equals() on the argument key while it holds the bin lock
                inEquals.countDown();
                try {
                    proceed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return o instanceof Key k && k.name.equals(name);
        }

        @Override
        public int hashCode() {
            return name.hashCode();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Runs each task on a new daemon platform thread; while held, queues the tasks instead. */
    static final class GatedExecutor implements Executor {
        private final List<Runnable> held = new ArrayList<>();
        private boolean holding;
        final List<Thread> threads = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public synchronized void execute(Runnable task) {
            if (holding) {
                held.add(task);
                notifyAll();
            } else {
                threads.add(Thread.ofPlatform().daemon().start(task));
            }
        }

        synchronized void hold() {
            holding = true;
        }

        synchronized void awaitHeld(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (held.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no task was handed to the executor");
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        synchronized Thread releaseOne() {
            var thread = Thread.ofPlatform().daemon().start(held.removeFirst());
            threads.add(thread);
            holding = false;
            return thread;
        }
    }

    // Rule 1/3 (a caller arriving while a cancelled flight's successor is being retired must still get a flight, and
    // never a deadlock): `assertTrue(joined within 10 s)` fires while Flight.run holds the flight's monitor and calls
    // into the table (finish -> remove) while a join holds the table's bin lock and waits for that monitor.
    @Test
    void retiringAFlightThatNeverRanDoesNotDeadlockWithAJoin() throws Exception {
        var executor = new GatedExecutor();
        SingleFlight<Key, String> table = SingleFlight.<Key, String>builder("t").grace(Duration.ZERO)
                .executor(executor).build();
        var k = new Key("k", false);

        // flight 1: its only caller leaves, zero grace cancels it, and it is slow to unwind
        var f1Started = new CountDownLatch(1);
        var f1Interrupted = new CountDownLatch(1);
        var unwind = new CountDownLatch(1);
        var c1 = table.join(k, ctx -> {
            f1Started.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                f1Interrupted.countDown();
                unwind.await(10, TimeUnit.SECONDS); // ignores further cancellation while it cleans up
            }
            return "one";
        });
        assertTrue(f1Started.await(10, TimeUnit.SECONDS));
        c1.cancel();
        assertTrue(f1Interrupted.await(10, TimeUnit.SECONDS));

        // flight 2: created while flight 1 unwinds, so it waits for it; its only caller leaves: cancelled before it ran
        var c2 = table.join(k, ctx -> "two");
        assertFalse(c2.joined());
        c2.cancel();

        // flight 1 ends; flight 2's run() is handed to the executor, and held there
        executor.hold();
        unwind.countDown();
        executor.awaitHeld(1);

        // a caller holds the table's bin lock for k (inside compute, in equals) ...
        var blockingKey = new Key("k", true);
        var joined = new CompletableFuture<Call<String>>();
        Thread joiner = Thread.ofPlatform().daemon()
                .start(() -> joined.complete(table.join(blockingKey, ctx -> "three")));
        assertTrue(blockingKey.inEquals.await(10, TimeUnit.SECONDS));

        // ... flight 2's run() starts, takes flight 2's monitor, and asks the table to remove it ...
        Thread runner = executor.releaseOne();
        awaitBlocked(runner);

        // ... and the caller's compute goes on to flight 2's tryAttach.
        blockingKey.proceed.countDown();
        Call<String> third;
        try {
            third = joined.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("deadlock: join() never returned. joiner: " + joiner.getState() + " at "
                    + List.of(joiner.getStackTrace()).subList(0, 4) + "; flight runner: " + runner.getState() + " at "
                    + List.of(runner.getStackTrace()).subList(0, 4), e);
        }
        assertFalse(third.joined(), "flight 2 was cancelled: the caller must start a new flight");
        assertEquals("three", third.await());
    }

    private static void awaitBlocked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.BLOCKED) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the flight's runner never blocked: " + t.getState());
            }
            Thread.sleep(1);
        }
    }
}

package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Rule 1: the first caller leads, later callers join; the work runs once per flight, on the flight's executor. */
@Timeout(30)
class LeaderJoinTest {

    // Rule 1 (once per flight, first leads, others join): `assertEquals(1, runs.get())` fires if any joiner started
    // the work again; the leader/joiner counts fire if joined() is wrong.
    @Test
    void racingCallersFromManyThreadsShareOneExecution() throws Exception {
        var table = SingleFlight.<String, String>builder("t").build();
        var runs = new AtomicInteger();
        var release = new CountDownLatch(1);
        var gate = new CountDownLatch(1);
        var calls = new ConcurrentLinkedQueue<Call<String>>();
        int threads = 8;
        int perThread = 250;
        var racers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            racers[t] = Thread.ofPlatform().daemon().start(() -> {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                for (int i = 0; i < perThread; i++) {
                    calls.add(table.join("k", ctx -> {
                        runs.incrementAndGet();
                        release.await();
                        return "v";
                    }));
                }
            });
        }
        gate.countDown();
        for (Thread racer : racers) {
            // bounded: if join() ran the work inline, the racers block on the unreleased work
            assertTrue(racer.join(Duration.ofSeconds(10)), "join() blocked on the work");
        }
        assertEquals(1, table.inFlightCount());
        release.countDown();
        for (var call : calls) {
            assertEquals("v", call.future().get(10, TimeUnit.SECONDS));
        }
        assertEquals(1, runs.get(), "the work ran more than once for one flight");
        assertEquals(1, calls.stream().filter(c -> !c.joined()).count(), "exactly one caller leads");
        assertEquals(threads * perThread - 1, calls.stream().filter(Call::joined).count());
        assertEquals(0, table.inFlightCount());
    }

    // Rule 1 (on the flight's executor, not the caller's thread): `assertNotSame(caller, ...)` and
    // `assertTrue(isFlightThread)` fire if the work ran inline in join(); `assertFalse(isDone)` fires if join()
    // waited for the work.
    @Test
    void workRunsOnTheFlightsExecutorNeverOnTheCallersThread() throws Exception {
        var executor = new RecordingExecutor();
        var table = SingleFlight.<String, String>builder("t").executor(executor).build();
        var ranOn = new AtomicReference<Thread>();
        var started = new CountDownLatch(1);
        var release = new CountDownLatch(1);
        Thread caller = Thread.currentThread();
        var call = table.join("k", ctx -> {
            ranOn.set(Thread.currentThread());
            started.countDown();
            // bounded, so that a work run inline by join() returns and the assertions below report it
            release.await(2, TimeUnit.SECONDS);
            return "v";
        });
        assertTrue(started.await(10, TimeUnit.SECONDS), "the work never started");
        assertFalse(call.future().isDone(), "join() returned only after the work ended: it ran on the caller");
        assertNotSame(caller, ranOn.get(), "the work ran on the caller's thread");
        assertTrue(RecordingExecutor.isFlightThread(ranOn.get()), "the work ran off the table's executor: " + ranOn);
        release.countDown();
        assertEquals("v", call.await());
        assertEquals(1, executor.submitted(), "one flight, one task on the executor");
    }

    // Rule 1 (exactly once per flight): `assertEquals(3, runs.get())` / `submitted()` fire if a flight ran its work
    // twice or a sequential caller joined an ended flight instead of starting its own.
    @Test
    void sequentialFlightsEachRunTheirWorkOnceOnTheExecutor() {
        var executor = new RecordingExecutor();
        var table = SingleFlight.<String, Integer>builder("t").executor(executor).build();
        var runs = new AtomicInteger();
        for (int i = 1; i <= 3; i++) {
            var call = table.join("k", ctx -> runs.incrementAndGet());
            assertFalse(call.joined());
            assertEquals(i, call.await());
        }
        assertEquals(3, runs.get());
        assertEquals(3, executor.submitted());
    }

    // Rule 1 (per key): `assertEquals(List.of(...))` fires if flights of different keys were merged.
    @Test
    void differentKeysAreDifferentFlights() throws Exception {
        var table = SingleFlight.<String, String>builder("t").build();
        var release = new CountDownLatch(1);
        var a = table.join("a", ctx -> {
            release.await();
            return "A";
        });
        var b = table.join("b", ctx -> {
            release.await();
            return "B";
        });
        assertFalse(a.joined());
        assertFalse(b.joined());
        assertEquals(2, table.inFlightCount());
        release.countDown();
        assertEquals(List.of("A", "B"), List.of(a.await(), b.await()));
    }

    // Rule 1 (join never blocks on the work): the hang-guard `get(..)` on the joiner thread fires if join() parks
    // until the work ends.
    @Test
    void joinReturnsAtOnceWhileTheWorkIsRunning() throws Exception {
        var table = SingleFlight.<String, String>builder("t").build();
        var release = new CountDownLatch(1);
        var leader = table.join("k", ctx -> {
            release.await();
            return "v";
        });
        var joiner = new java.util.concurrent.CompletableFuture<Call<String>>();
        Thread.ofVirtual().start(() -> joiner.complete(table.join("k", ctx -> "other")));
        var joined = joiner.get(5, TimeUnit.SECONDS);
        assertTrue(joined.joined());
        assertFalse(leader.future().isDone());
        release.countDown();
        assertEquals("v", joined.await());
        assertEquals("v", leader.await());
    }
}

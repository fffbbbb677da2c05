package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SingleFlightTest {

    private static SingleFlight<String, String> table(Duration grace) {
        return SingleFlight.<String, String>builder("test").grace(grace).build();
    }

    @Test
    void concurrentCallersShareOneExecution() throws Exception {
        var table = table(null);
        var release = new CountDownLatch(1);
        var runs = new AtomicInteger();
        List<Call<String>> calls = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            calls.add(table.join("k", ctx -> {
                runs.incrementAndGet();
                release.await();
                return "v";
            }));
        }
        release.countDown();
        for (var c : calls) {
            assertEquals("v", c.await());
        }
        assertEquals(1, runs.get());
        assertFalse(calls.get(0).joined());
        assertTrue(calls.stream().skip(1).allMatch(Call::joined));
        assertEquals(0, table.inFlightCount());
    }

    @Test
    void workRunsOnTheTableExecutorNotTheCallersThread() {
        var table = table(null);
        var caller = Thread.currentThread();
        Thread worker = SingleFlight.<String, Thread>builder("t").build().run("k", ctx -> Thread.currentThread());
        assertNotSame(caller, worker);
        assertEquals("x", table.run("k", ctx -> "x"));
    }

    @Test
    void leaderCancellingDoesNotCancelTheWorkWhileOthersWait() throws Exception {
        var table = table(Duration.ZERO);
        var release = new CountDownLatch(1);
        var leader = table.join("k", ctx -> {
            release.await();
            return "done";
        });
        var follower = table.join("k", ctx -> "never");
        leader.cancel();
        release.countDown();
        assertEquals("done", follower.await());
        assertThrows(java.util.concurrent.CancellationException.class, () -> leader.future().join());
    }

    @Test
    void lastCallerLeavingWithZeroGraceCancelsTheWork() throws Exception {
        var table = table(Duration.ZERO);
        var started = new CountDownLatch(1);
        var interrupted = new CountDownLatch(1);
        var call = table.join("k", ctx -> {
            started.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
            return "late";
        });
        started.await();
        call.cancel();
        assertTrue(interrupted.await(10, TimeUnit.SECONDS));
    }

    @Test
    void defaultGraceRunsToCompletionAfterEveryCallerLeft() throws Exception {
        var table = table(null);
        var release = new CountDownLatch(1);
        var finished = new CountDownLatch(1);
        var call = table.join("k", ctx -> {
            release.await();
            finished.countDown();
            return "v";
        });
        call.cancel();
        release.countDown();
        assertTrue(finished.await(10, TimeUnit.SECONDS));
    }

    @Test
    void callerArrivingDuringGraceReattachesToTheSameWork() throws Exception {
        var table = table(Duration.ofSeconds(30));
        var release = new CountDownLatch(1);
        var runs = new AtomicInteger();
        SingleFlight.Work<String> work = ctx -> {
            runs.incrementAndGet();
            release.await();
            return "v";
        };
        table.join("k", work).cancel();
        var second = table.join("k", work);
        assertTrue(second.joined());
        release.countDown();
        assertEquals("v", second.await());
        assertEquals(1, runs.get());
    }

    @Test
    void everyCallerGetsTheSameExceptionAndFailuresAreNotCached() throws Exception {
        var table = table(null);
        var release = new CountDownLatch(1);
        var boom = SinglepullException.notFound("no such blob");
        var a = table.join("k", ctx -> {
            release.await();
            throw boom;
        });
        var b = table.join("k", ctx -> "never");
        release.countDown();
        assertSame(boom, assertThrows(SinglepullException.class, a::await));
        assertSame(boom, assertThrows(SinglepullException.class, b::await));
        assertEquals(0, table.inFlightCount());
        var c = table.join("k", ctx -> "fresh");
        assertFalse(c.joined());
        assertEquals("fresh", c.await());
    }

    @Test
    void abortTellsEveryCallerAtOnce() throws Exception {
        var table = table(null);
        var started = new CountDownLatch(1);
        var ctxHolder = new FlightContext[1];
        var a = table.join("k", ctx -> {
            ctxHolder[0] = ctx;
            started.countDown();
            Thread.sleep(60_000);
            return "never";
        });
        var b = table.join("k", ctx -> "never");
        started.await();
        var stalled = new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "stalled");
        ctxHolder[0].abort(stalled);
        assertSame(stalled, assertThrows(SinglepullException.class, a::await));
        assertSame(stalled, assertThrows(SinglepullException.class, b::await));
    }

    @Test
    void aNewCallerAfterACancelWaitsForTheOldWorkToStop() throws Exception {
        var table = table(Duration.ZERO);
        var running = new AtomicInteger();
        var maxRunning = new AtomicInteger();
        var firstStarted = new CountDownLatch(1);
        var unwind = new CountDownLatch(1);
        var first = table.join("k", ctx -> {
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            firstStarted.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                unwind.await(); // slow unwinding, ignoring further interrupts is not possible here; just wait
            } finally {
                running.decrementAndGet();
            }
            return "first";
        });
        firstStarted.await();
        first.cancel();
        var second = table.join("k", ctx -> {
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            running.decrementAndGet();
            return "second";
        });
        assertFalse(second.joined());
        unwind.countDown();
        assertEquals("second", second.await());
        assertEquals(1, maxRunning.get());
    }

    @Test
    void listenerCountsStartsJoinsAndOutcomes() {
        var started = new AtomicInteger();
        var joined = new AtomicInteger();
        var failed = new AtomicInteger();
        var waiting = new AtomicInteger();
        var table = SingleFlight.<String, String>builder("blob").listener(new FlightListener() {
            @Override public void started(String tier) { started.incrementAndGet(); }
            @Override public void joined(String tier) { joined.incrementAndGet(); }
            @Override public void failed(String tier, Throwable cause) { failed.incrementAndGet(); }
            @Override public void waitersChanged(String tier, int delta) { waiting.addAndGet(delta); }
        }).build();
        var latch = new CountDownLatch(1);
        var a = table.join("k", ctx -> { latch.await(); throw new IllegalStateException("x"); });
        var b = table.join("k", ctx -> "never");
        latch.countDown();
        assertThrows(IllegalStateException.class, a::await);
        assertThrows(IllegalStateException.class, b::await);
        assertEquals(1, started.get());
        assertEquals(1, joined.get());
        assertEquals(1, failed.get());
        assertEquals(0, waiting.get());
    }

    @Test
    void progressIsVisibleToCallersAndListings() throws Exception {
        var table = table(null);
        var published = new CountDownLatch(1);
        var release = new CountDownLatch(1);
        var call = table.join("k", ctx -> {
            ctx.progress().phase("downloading");
            ctx.progress().total(100);
            ctx.progress().advance(40);
            published.countDown();
            release.await();
            return "v";
        });
        published.await();
        assertEquals(new FlightProgress.Snapshot("downloading", 40, 100), call.progress().snapshot());
        var info = table.flights().getFirst();
        assertEquals("k", info.key());
        assertEquals(1, info.waiters());
        assertEquals(40, info.progress().done());
        release.countDown();
        call.await();
    }
}

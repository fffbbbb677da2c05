package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rule 7: the listener sees, per tier, every flight started, every dedup hit (joined), every outcome (succeeded,
 * failed, cancelled) exactly once, and waiter deltas that sum back to 0.
 */
@Timeout(30)
class FlightListenerTest {
    private static final Duration HANG_GUARD = Duration.ofSeconds(10);

    // Rule 7: each `assertEquals` on a tier's counter fires if an event is missed, doubled, or booked to the wrong
    // tier; `waiting == 0` fires if a leave is not reported (or reported twice); `maxWaiting == 5` fires if a join is
    // not reported as a waiter.
    @Test
    void countsPerTierAddUpAndWaitingReturnsToZero() throws Exception {
        var listener = new RecordingListener();
        SingleFlight<String, String> ref = SingleFlight.<String, String>builder("ref")
                .listener(listener).grace(Duration.ZERO).build();
        SingleFlight<String, String> blob = SingleFlight.<String, String>builder("blob")
                .listener(listener).grace(Duration.ZERO).build();

        // ref: a successful flight with 1 leader + 4 joiners
        var ok = new BlockingWork<>("v");
        List<Call<String>> okCalls = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            okCalls.add(ref.join("ok", ok));
        }
        assertEquals(5, listener.tier("ref").waiting.get(), "every caller is a waiter while the flight runs");
        assertEquals(0, listener.tier("blob").waiting.get(), "waiters booked to the wrong tier");
        ok.release.countDown();
        for (var call : okCalls) {
            assertEquals("v", call.await());
        }

        // ref: a failed flight with 1 leader + 2 joiners
        var release = new CountDownLatch(1);
        var boom = SinglepullException.unavailable("registry down", null);
        List<Call<String>> failCalls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            failCalls.add(ref.join("fail", ctx -> {
                release.await();
                throw boom;
            }));
        }
        release.countDown();
        for (var call : failCalls) {
            assertSame(boom, assertThrows(SinglepullException.class, call::await));
        }

        // ref: a cancelled flight: its only 2 callers leave, zero grace
        var abandoned = new BlockingWork<>("never");
        var c1 = ref.join("abandoned", abandoned);
        var c2 = ref.join("abandoned", abandoned);
        assertTrue(abandoned.started.await(10, TimeUnit.SECONDS));
        c1.cancel();
        c2.cancel();

        // blob: two successful flights without joiners, one aborted by a watchdog (a failure, not a cancel), and one
        // aborted as CANCELLED (a cancel)
        assertEquals("a", blob.run("a", ctx -> "a"));
        assertEquals("b", blob.run("b", ctx -> "b"));
        var stalled = new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "stalled below the minimum rate");
        var watched = blob.join("stalled", ctx -> {
            ctx.abort(stalled);
            ctx.throwIfCancelled();
            return "never";
        });
        assertSame(stalled, assertThrows(SinglepullException.class, watched::await));
        var gone = new SinglepullException(ErrorKind.CANCELLED, "shutting down");
        var shut = blob.join("shutdown", ctx -> {
            ctx.abort(gone);
            ctx.throwIfCancelled();
            return "never";
        });
        assertSame(gone, assertThrows(SinglepullException.class, shut::await));

        assertTrue(listener.awaitOutcomes(3 + 4, HANG_GUARD), "some flight never reported its outcome");
        assertTrue(listener.awaitWaiting("ref", 0, HANG_GUARD), "ref waiting: " + listener.tier("ref"));
        assertTrue(listener.awaitWaiting("blob", 0, HANG_GUARD), "blob waiting: " + listener.tier("blob"));
        var r = listener.tier("ref");
        assertEquals(3, r.started.get(), "ref started: " + r);
        assertEquals(4 + 2 + 1, r.joined.get(), "ref joined: " + r);
        assertEquals(1, r.succeeded.get(), "ref succeeded: " + r);
        assertEquals(1, r.failed.get(), "ref failed: " + r);
        assertEquals(1, r.cancelled.get(), "ref cancelled: " + r);
        assertEquals(0, r.waiting.get(), "ref waiting: " + r);
        assertEquals(5, r.maxWaiting.get(), "ref maxWaiting: " + r);
        assertSame(boom, r.failures.getFirst());

        var b = listener.tier("blob");
        assertEquals(4, b.started.get(), "blob started: " + b);
        assertEquals(0, b.joined.get(), "blob joined: " + b);
        assertEquals(2, b.succeeded.get(), "blob succeeded: " + b);
        assertEquals(1, b.failed.get(), "blob failed: " + b);
        assertEquals(1, b.cancelled.get(), "blob cancelled: " + b);
        assertEquals(0, b.waiting.get(), "blob waiting: " + b);
        assertSame(stalled, b.failures.getFirst());

        assertEquals(r.started.get(), r.outcomes(), "every started flight reports exactly one outcome");
        assertEquals(b.started.get(), b.outcomes(), "every started flight reports exactly one outcome");
        assertTrue(!listener.awaitOutcomes(1, Duration.ofMillis(50)), "an outcome was reported twice");
    }

    // Rule 7 (waiting sums back to 0 however callers leave): `assertEquals(0, waiting)` fires if cancel, interrupt,
    // or normal completion fails to report the leave, or reports it twice (cancel after completion).
    @Test
    void waitingReturnsToZeroWhateverWayCallersLeave() throws Exception {
        var listener = new RecordingListener();
        SingleFlight<String, String> table = SingleFlight.<String, String>builder("chain").listener(listener).build();
        var work = new BlockingWork<>("v");
        var stays = table.join("k", work);
        var cancels = table.join("k", work);
        var interrupted = table.join("k", work);
        var cancelsLate = table.join("k", work);
        assertEquals(4, listener.tier("chain").waiting.get());
        cancels.cancel();
        cancels.cancel(); // twice: one leave
        assertEquals(3, listener.tier("chain").waiting.get());
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                interrupted.await();
            } catch (SinglepullException expected) {
                // CANCELLED
            }
        });
        DetachedWorkTest.awaitParked(t);
        t.interrupt();
        t.join(10_000);
        assertEquals(2, listener.tier("chain").waiting.get());
        work.release.countDown();
        assertEquals("v", stays.await());
        assertEquals("v", cancelsLate.await());
        cancelsLate.cancel(); // after completion: no second leave
        assertTrue(listener.awaitWaiting("chain", 0, HANG_GUARD), "waiting: " + listener.tier("chain"));
        assertTrue(!listener.awaitWaiting("chain", -1, Duration.ofMillis(50)), "a leave was reported twice");
        assertTrue(listener.awaitOutcomes(1, HANG_GUARD));
        assertEquals(1, listener.tier("chain").succeeded.get());
    }
}

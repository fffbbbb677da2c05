package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rule 4: every joined caller gets the same result or the same failure (the original cause, not a wrapper);
 * failures are not cached; the key leaves the table before the flight's callers are told, so a caller that
 * arrives after the end starts a new flight.
 */
@Timeout(30)
class SharedOutcomeTest {
    private static final int CALLERS = 20;

    private static <V> SingleFlight<String, V> table(RecordingListener listener) {
        return SingleFlight.<String, V>builder("t").listener(listener).build();
    }

    private static <V> List<Call<V>> joinMany(SingleFlight<String, V> table, SingleFlight.Work<V> work) {
        List<Call<V>> calls = new ArrayList<>();
        for (int i = 0; i < CALLERS; i++) {
            calls.add(table.join("k", work));
        }
        return calls;
    }

    /** Work that blocks until released, then throws {@code failure}. */
    private static <V> SingleFlight.Work<V> failing(CountDownLatch release, Exception failure) {
        return ctx -> {
            release.await();
            throw failure;
        };
    }

    // Rule 4 (same result): `assertSame(value, ...)` fires if any caller gets a copy or another flight's value.
    @Test
    void everyCallerGetsTheSameResultInstance() throws Exception {
        SingleFlight<String, Object> table = table(new RecordingListener());
        var value = new Object();
        var work = new BlockingWork<>(value);
        var calls = joinMany(table, work);
        work.release.countDown();
        for (var call : calls) {
            assertSame(value, call.await());
            assertSame(value, call.future().get(10, TimeUnit.SECONDS));
        }
        assertEquals(1, work.runs.get());
    }

    // Rule 4 (same exception, not a wrapper): `assertSame(boom, ...)` fires for await(), future().get() and
    // future().join() if any caller gets a wrapper or a copy; `assertSame(boom, failures.get(0))` fires if the
    // listener sees a wrapper.
    @Test
    void everyCallerGetsTheSameUncheckedExceptionInstance() throws Exception {
        var listener = new RecordingListener();
        SingleFlight<String, String> table = table(listener);
        var release = new CountDownLatch(1);
        var boom = new IllegalStateException("boom");
        var calls = joinMany(table, failing(release, boom));
        release.countDown();
        for (var call : calls) {
            assertSame(boom, assertThrows(IllegalStateException.class, call::await));
            assertSame(boom, assertThrows(ExecutionException.class,
                    () -> call.future().get(10, TimeUnit.SECONDS)).getCause());
            assertSame(boom, assertThrows(CompletionException.class, () -> call.future().join()).getCause());
        }
        assertTrue(listener.awaitOutcomes(1, Duration.ofSeconds(10)));
        assertSame(boom, listener.tier("t").failures.getFirst());
    }

    // Rule 4 (a checked exception arrives as INTERNAL whose cause is the original): `assertEquals(INTERNAL, kind)`
    // and `assertSame(original, getCause())` fire if await() loses the original or picks another kind;
    // `assertSame` on future().get() fires if the future carries a wrapper.
    @Test
    void aCheckedExceptionArrivesAsInternalWithTheOriginalAsCause() throws Exception {
        var listener = new RecordingListener();
        SingleFlight<String, String> table = table(listener);
        var release = new CountDownLatch(1);
        var original = new IOException("disk on fire");
        var calls = joinMany(table, failing(release, original));
        release.countDown();
        for (var call : calls) {
            var thrown = assertThrows(SinglepullException.class, call::await);
            assertEquals(ErrorKind.INTERNAL, thrown.kind());
            assertSame(original, thrown.getCause());
            assertSame(original, assertThrows(ExecutionException.class,
                    () -> call.future().get(10, TimeUnit.SECONDS)).getCause());
        }
        assertTrue(listener.awaitOutcomes(1, Duration.ofSeconds(10)));
        assertSame(original, listener.tier("t").failures.getFirst());
    }

    // Rule 4 (a SinglepullException keeps its kind and identity): `assertSame(notFound, ...)` fires if it is
    // re-wrapped (for example as INTERNAL).
    @Test
    void aSinglepullExceptionReachesEveryCallerAsIs() throws Exception {
        SingleFlight<String, String> table = table(new RecordingListener());
        var release = new CountDownLatch(1);
        var notFound = SinglepullException.notFound("blob sha256:abc not found");
        var calls = joinMany(table, failing(release, notFound));
        release.countDown();
        for (var call : calls) {
            assertSame(notFound, assertThrows(SinglepullException.class, call::await));
        }
    }

    // Rule 4 (an Error is the same instance for everyone): `assertSame(error, ...)` fires if an Error is wrapped.
    @Test
    void anErrorReachesEveryCallerAsIs() throws Exception {
        SingleFlight<String, String> table = table(new RecordingListener());
        var release = new CountDownLatch(1);
        var error = new AssertionError("invariant broken");
        var calls = joinMany(table, ctx -> {
            release.await();
            throw error;
        });
        release.countDown();
        for (var call : calls) {
            assertSame(error, assertThrows(AssertionError.class, call::await));
        }
    }

    // Rule 4 (a work that itself throws CancellationException, e.g. from a cancelled inner future, is a failure of
    // the flight like any other): `assertSame(seen.getFirst(), t)` fires because await() reports it as "this caller
    // cancelled its wait", a new CANCELLED SinglepullException per caller, instead of one shared exception.
    @Test
    void aCancellationExceptionThrownByTheWorkIsTheFlightsFailureNotTheCallers() throws Exception {
        SingleFlight<String, String> table = table(new RecordingListener());
        var release = new CountDownLatch(1);
        var inner = new CancellationException("inner download future cancelled");
        var calls = joinMany(table, ctx -> {
            release.await();
            throw inner;
        });
        release.countDown();
        List<Throwable> seen = new ArrayList<>();
        for (var call : calls) {
            seen.add(assertThrows(RuntimeException.class, call::await));
        }
        // The original itself, or one CANCELLED error shared by every caller whose cause is the original.
        for (var t : seen) {
            assertSame(seen.getFirst(), t, "callers got different exceptions: " + t);
            assertTrue(t == inner || t.getCause() == inner, "the original is lost: " + t);
        }
    }

    // Rule 4 (failures are not cached): `assertFalse(next.joined())` and `runs == 2` fire if the caller after a
    // failed flight gets the cached failure or joins the failed flight.
    @Test
    void failuresAreNotCachedTheNextCallerStartsANewFlight() throws Exception {
        SingleFlight<String, String> table = table(new RecordingListener());
        var runs = new AtomicInteger();
        var first = table.join("k", ctx -> {
            runs.incrementAndGet();
            throw new IllegalStateException("first attempt fails");
        });
        assertThrows(IllegalStateException.class, first::await);
        var next = table.join("k", ctx -> {
            runs.incrementAndGet();
            return "second attempt";
        });
        assertFalse(next.joined(), "joined a failed flight");
        assertEquals("second attempt", next.await());
        assertEquals(2, runs.get());
    }

    // Rule 4 (results are not cached either): `assertEquals(2, runs)` fires if a later caller is served a kept
    // result.
    @Test
    void resultsAreNotCachedTheNextCallerStartsANewFlight() {
        SingleFlight<String, Integer> table = table(new RecordingListener());
        var runs = new AtomicInteger();
        assertEquals(1, table.run("k", ctx -> runs.incrementAndGet()));
        assertEquals(2, table.run("k", ctx -> runs.incrementAndGet()));
    }

    // Rule 4 (the entry is removed BEFORE the shared future completes): inside callbacks that run when the callers'
    // futures complete, `assertEquals(List.of(0, 0, 0), inFlight)` fires if the key is still in the table, and
    // `assertFalse(after.joined())` fires if a caller arriving at that moment joins the ended flight.
    @Test
    void theKeyIsGoneBeforeAnyCallerIsToldTheOutcome() throws Exception {
        for (boolean fail : new boolean[] {false, true}) {
            SingleFlight<String, String> table = table(new RecordingListener());
            var release = new CountDownLatch(1);
            SingleFlight.Work<String> work = ctx -> {
                release.await();
                if (fail) {
                    throw new IllegalStateException("failed flight");
                }
                return "v";
            };
            var inFlight = new CopyOnWriteArrayList<Integer>();
            var calls = List.of(table.join("k", work), table.join("k", work), table.join("k", work));
            var observed = new ArrayList<java.util.concurrent.CompletableFuture<?>>();
            for (var call : calls) {
                observed.add(call.future().whenComplete((v, e) -> inFlight.add(table.inFlightCount())));
            }
            release.countDown();
            for (var done : observed) {
                done.handle((v, e) -> null).get(10, TimeUnit.SECONDS);
            }
            assertEquals(List.of(0, 0, 0), inFlight,
                    "fail=" + fail + ": the key was still in the table when a caller was told the outcome");
        }
    }

    // Rule 4 (same, seen by a caller arriving at the very moment the outcome is delivered): `assertFalse(joined)`
    // and `assertEquals("after", ...)` fire if that caller joins the ended flight and receives its outcome.
    @Test
    void aCallerArrivingAsTheOutcomeIsDeliveredStartsANewFlight() throws Exception {
        for (boolean fail : new boolean[] {false, true}) {
            SingleFlight<String, String> table = table(new RecordingListener());
            var release = new CountDownLatch(1);
            var call = table.join("k", ctx -> {
                release.await();
                if (fail) {
                    throw new IllegalStateException("failed flight");
                }
                return "v";
            });
            var after = call.future().handle((v, e) -> table.join("k", ctx -> "after"));
            release.countDown();
            var late = after.get(10, TimeUnit.SECONDS);
            assertFalse(late.joined(), "fail=" + fail + ": a caller arriving after the end joined it");
            assertEquals("after", late.await());
        }
    }

    // Rule 4 (a caller arriving after the end never joins the finished flight): `assertFalse(next.joined())` and the
    // run-id check fire if a sequential caller is handed a previous flight's outcome.
    @Test
    void aCallerArrivingAfterTheEndNeverJoinsTheFinishedFlight() {
        SingleFlight<String, Integer> table = table(new RecordingListener());
        var runs = new AtomicInteger();
        for (int i = 1; i <= 500; i++) {
            var call = table.join("k", ctx -> runs.incrementAndGet());
            assertFalse(call.joined(), "iteration " + i + " joined an ended flight");
            assertEquals(i, call.await(), "iteration " + i + " got another flight's result");
            assertEquals(0, table.inFlightCount());
        }
    }
}

package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The stall watchdog, driven by hand on a fake clock: no sleeping, no timing. */
@Timeout(30)
class StallWatchdogTest {
    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong();
    private final SingleFlight<String, String> table = SingleFlight.<String, String>builder("blob")
            .stallPolicy(new StallPolicy(1000, Duration.ofSeconds(10), Set.of("downloading")))
            .manualStallClock(now::get)
            .build();

    /** Work that reports "downloading" and then moves its bytes only when the test says so. */
    private final class Transfer {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile FlightProgress progress;

        Call<String> join(String key) {
            return table.join(key, ctx -> {
                progress = ctx.progress();
                progress.phase("downloading");
                started.countDown();
                release.await();
                return "done";
            });
        }
    }

    private void tick(long seconds) {
        now.addAndGet(seconds * SECOND);
        table.checkStalls();
    }

    @Test
    void aFlightBelowTheMinimumRateForAWholeWindowIsAbortedForEveryWaiter() throws Exception {
        Transfer transfer = new Transfer();
        Call<String> a = transfer.join("sha256:aaaa");
        Call<String> b = transfer.join("sha256:aaaa");
        transfer.started.await();
        table.checkStalls();
        for (int i = 0; i < 5; i++) {
            transfer.progress.advance(100); // 100 bytes every 2 s: 50 B/s, far below 1000 B/s
            tick(2);
        }
        var failure = assertThrows(SinglepullException.class, a::await);
        assertSame(failure, assertThrows(SinglepullException.class, b::await));
        assertEquals(ErrorKind.DEADLINE_EXCEEDED, failure.kind());
        assertTrue(failure.getMessage().contains("sha256:aaaa"), failure.getMessage());
        assertTrue(failure.getMessage().contains("50 B/s"), failure.getMessage());
        assertTrue(failure.getMessage().contains("1000 B/s"), failure.getMessage());
    }

    @Test
    void aFlightAtTheMinimumRateIsLeftAlone() throws Exception {
        Transfer transfer = new Transfer();
        Call<String> call = transfer.join("k");
        transfer.started.await();
        table.checkStalls();
        for (int i = 0; i < 20; i++) {
            transfer.progress.advance(2000); // 1000 B/s exactly
            tick(2);
        }
        assertFalse(call.future().isDone());
        transfer.release.countDown();
        assertEquals("done", call.await());
    }

    @Test
    void aShortPauseInsideTheWindowIsForgivenWhenTheWindowAveragesAboveTheMinimum() throws Exception {
        Transfer transfer = new Transfer();
        Call<String> call = transfer.join("k");
        transfer.started.await();
        table.checkStalls();
        transfer.progress.advance(50_000); // a burst, then silence for less than a window's worth of debt
        for (int i = 0; i < 4; i++) {
            tick(2);
        }
        assertFalse(call.future().isDone(), "50 kB in the first 10 s is 5 kB/s");
        transfer.release.countDown();
        call.await();
    }

    @Test
    void phasesOutsideThePolicyAreNeverJudged() throws Exception {
        CountDownLatch waiting = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Call<String> call = table.join("k", ctx -> {
            ctx.progress().phase("waiting for a download slot");
            waiting.countDown();
            release.await();
            return "done";
        });
        waiting.await();
        for (int i = 0; i < 30; i++) {
            tick(2);
        }
        assertFalse(call.future().isDone());
        release.countDown();
        assertEquals("done", call.await());
    }

    @Test
    void theWindowStartsAgainWhenThePhaseChanges() throws Exception {
        Transfer transfer = new Transfer();
        Call<String> call = transfer.join("k");
        transfer.started.await();
        table.checkStalls();
        tick(8);
        transfer.progress.phase("downloading"); // same phase: the clock keeps running
        transfer.progress.phase("verifying");
        tick(1);
        transfer.progress.phase("downloading");
        tick(1);
        tick(8);
        assertFalse(call.future().isDone(), "only 9 s of downloading since the phase came back");
        tick(2);
        assertThrows(SinglepullException.class, call::await);
    }
}

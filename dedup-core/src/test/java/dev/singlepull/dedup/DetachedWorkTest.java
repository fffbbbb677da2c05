package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rule 2: the work is detached from its leader. The leader cancelling, its deadline passing or its waiting thread
 * being interrupted does not cancel the work while another caller waits. Every table here has a zero grace, so a
 * work that lost its last caller would be cancelled at once: the tests would see it.
 */
@Timeout(30)
class DetachedWorkTest {

    private static SingleFlight<String, String> zeroGraceTable() {
        return SingleFlight.<String, String>builder("t").grace(Duration.ZERO).build();
    }

    // Rule 2 (leader cancels): `assertEquals("done", follower.await())` fires (CANCELLED instead) and
    // `assertFalse(work.wasInterrupted())` fires if the leader's cancel cancelled the shared work.
    @Test
    void leaderCancellingLeavesTheWorkToTheOthers() throws Exception {
        var table = zeroGraceTable();
        var work = new BlockingWork<>("done");
        var leader = table.join("k", work);
        var follower = table.join("k", ctx -> "never");
        assertTrue(work.started.await(10, TimeUnit.SECONDS));
        leader.cancel();
        assertFalse(work.context().isCancelled(), "the leader's cancel cancelled the work");
        assertThrows(CancellationException.class, () -> leader.future().join());
        assertEquals(ErrorKind.CANCELLED, assertThrows(SinglepullException.class, leader::await).kind());
        work.release.countDown();
        assertEquals("done", follower.await());
        assertFalse(work.wasInterrupted(), "the work was interrupted although a caller still waited");
        assertEquals(1, work.runs.get());
    }

    // Rule 2 (leader's deadline, as future().orTimeout): `assertEquals("done", follower.await())` and
    // `assertFalse(work.wasInterrupted())` fire if the leader's deadline cancelled the shared work.
    @Test
    void leaderDeadlinePassingLeavesTheWorkToTheOthers() throws Exception {
        var table = zeroGraceTable();
        var work = new BlockingWork<>("done");
        var leader = table.join("k", work);
        var follower = table.join("k", ctx -> "never");
        assertTrue(work.started.await(10, TimeUnit.SECONDS));
        CompletableFuture<String> deadline = leader.future().orTimeout(20, TimeUnit.MILLISECONDS);
        var e = assertThrows(ExecutionException.class, () -> deadline.get(10, TimeUnit.SECONDS));
        assertInstanceOf(TimeoutException.class, e.getCause());
        assertFalse(work.context().isCancelled(), "the leader's deadline cancelled the work");
        work.release.countDown();
        assertEquals("done", follower.await());
        assertFalse(work.wasInterrupted());
    }

    // Rule 2 (leader's waiting thread interrupted inside await()): `assertEquals("done", follower.await())` and
    // `assertFalse(work.wasInterrupted())` fire if the interrupt reached the work; the CANCELLED/interrupt-status
    // assertions fire if await() swallowed the interrupt.
    @Test
    void interruptingTheLeadersWaitingThreadLeavesTheWorkToTheOthers() throws Exception {
        var table = zeroGraceTable();
        var work = new BlockingWork<>("done");
        var leader = table.join("k", work);
        var follower = table.join("k", ctx -> "never");
        assertTrue(work.started.await(10, TimeUnit.SECONDS));
        var leaderOutcome = new CompletableFuture<Throwable>();
        var leaderKeptInterrupt = new CompletableFuture<Boolean>();
        Thread waiter = Thread.ofPlatform().start(() -> {
            try {
                leader.await();
                leaderOutcome.complete(null);
            } catch (Throwable t) {
                leaderOutcome.complete(t);
            }
            leaderKeptInterrupt.complete(Thread.currentThread().isInterrupted());
        });
        awaitParked(waiter);
        waiter.interrupt();
        var thrown = leaderOutcome.get(10, TimeUnit.SECONDS);
        var spe = assertInstanceOf(SinglepullException.class, thrown);
        assertEquals(ErrorKind.CANCELLED, spe.kind());
        assertTrue(leaderKeptInterrupt.get(10, TimeUnit.SECONDS), "await() must keep the interrupt status");
        assertTrue(leader.future().isCancelled(), "the interrupted caller detached");
        assertFalse(work.context().isCancelled(), "the leader's interrupt cancelled the work");
        work.release.countDown();
        assertEquals("done", follower.await());
        assertFalse(work.wasInterrupted());
    }

    // Rule 2, from the other side (a follower leaving, the leader staying): `assertEquals("done", leader.await())`
    // fires if any single caller's leaving cancels the work.
    @Test
    void followersLeavingLeaveTheWorkToTheLeader() throws Exception {
        var table = zeroGraceTable();
        var work = new BlockingWork<>("done");
        var leader = table.join("k", work);
        for (int i = 0; i < 10; i++) {
            table.join("k", ctx -> "never").cancel();
        }
        work.release.countDown();
        assertEquals("done", leader.await());
        assertFalse(work.wasInterrupted());
    }

    /** Waits (bounded) until {@code t} is parked, i.e. blocked inside await(). */
    static void awaitParked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("thread never blocked: " + t.getState());
            }
            Thread.sleep(1);
        }
    }
}

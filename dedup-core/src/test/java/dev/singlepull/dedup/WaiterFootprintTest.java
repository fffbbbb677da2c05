package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rule 6: waiters park on futures. No thread per waiter, no polling: 10,000 waiters on one key and 100,000 keys in
 * flight cost no platform threads, and a waiter costs a few hundred bytes of heap.
 */
@Timeout(120)
class WaiterFootprintTest {
    private static final int KEYS = 100_000;
    private static final int WAITERS = 10_000;
    /** Waiters of the one hot key that park a (virtual) thread in await(); the rest hold only their future. */
    private static final int AWAITING_THREADS = 2_000;
    private static final int THREAD_GROWTH_ALLOWED = 32;

    // Rule 6 (no thread per waiter, no thread per flight beyond virtual threads): `assertTrue(grown <= 32)` fires if
    // a waiter or a flight costs a platform thread (a blocking wait per caller, a timer thread per flight, a pool
    // sized to the flights); `allOf(..).get(..)` (hang guard) and `inFlightCount() == 0` fire if a waiter is lost.
    @Test
    void tenThousandWaitersOnOneKeyAndAHundredThousandKeysInFlightCostNoPlatformThreads() throws Exception {
        var threads = ManagementFactory.getThreadMXBean();
        // Start the virtual-thread scheduler first, so its carriers are part of the baseline.
        SingleFlight.<Integer, Integer>builder("warm-up").build().run(0, ctx -> 0);
        int before = threads.getThreadCount();
        threads.resetPeakThreadCount();
        long t0 = System.nanoTime();

        var table = SingleFlight.<Integer, Integer>builder("blob").build();
        var started = new CountDownLatch(KEYS);
        var release = new CountDownLatch(1);
        var futures = new CompletableFuture<?>[KEYS + WAITERS - 1];
        int n = 0;
        for (int k = 0; k < KEYS; k++) {
            int key = k;
            futures[n++] = table.join(key, ctx -> {
                started.countDown();
                release.await();
                return key;
            }).future();
        }
        var awaited = new CountDownLatch(AWAITING_THREADS);
        for (int w = 1; w < WAITERS; w++) {
            var call = table.join(0, ctx -> -1);
            assertTrue(call.joined());
            if (w <= AWAITING_THREADS) {
                var result = new CompletableFuture<Integer>();
                Thread.ofVirtual().start(() -> {
                    awaited.countDown();
                    try {
                        result.complete(call.await());
                    } catch (Throwable t) {
                        result.completeExceptionally(t);
                    }
                });
                futures[n++] = result;
            } else {
                futures[n++] = call.future();
            }
        }
        assertTrue(started.await(60, TimeUnit.SECONDS), "not every work started");
        assertTrue(awaited.await(60, TimeUnit.SECONDS));
        assertEquals(KEYS, table.inFlightCount());
        assertEquals(WAITERS, table.flights().stream().filter(f -> f.key().equals("0")).findFirst().orElseThrow()
                .waiters());
        int during = threads.getThreadCount();

        release.countDown();
        CompletableFuture.allOf(futures).get(60, TimeUnit.SECONDS);
        for (int i = 0; i < KEYS; i++) {
            assertEquals(i, futures[i].get());
        }
        for (int i = KEYS; i < futures.length; i++) {
            assertEquals(0, futures[i].get());
        }
        assertEquals(0, table.inFlightCount());
        int peak = threads.getPeakThreadCount();
        System.out.printf("waiters: %d keys in flight + %d waiters on one key (%d of them parked in await() on "
                + "virtual threads): platform threads before=%d while waiting=%d peak=%d, %d ms%n",
                KEYS, WAITERS, AWAITING_THREADS, before, during, peak, (System.nanoTime() - t0) / 1_000_000);
        assertTrue(during - before <= THREAD_GROWTH_ALLOWED,
                "platform threads grew by " + (during - before) + " while callers waited");
        assertTrue(peak - before <= THREAD_GROWTH_ALLOWED, "platform threads peaked at +" + (peak - before));
    }

    // Rule 6 (a waiter costs kilobytes at most): `assertTrue(perWaiter < 10 KiB)` fires if a waiter holds a thread
    // stack, a buffer or a copy of anything. The figure is printed; it is noisy, so the bound is generous.
    @Test
    void aWaiterCostsAFewHundredBytesOfHeap() throws Exception {
        var table = SingleFlight.<String, String>builder("blob").build();
        var work = new BlockingWork<>("v");
        var leader = table.join("k", work);
        assertTrue(work.started.await(10, TimeUnit.SECONDS));
        SingleFlight.Work<String> unused = ctx -> "never";
        var calls = new Call<?>[WAITERS];
        long before = usedHeapAfterGc();
        for (int i = 0; i < WAITERS; i++) {
            calls[i] = table.join("k", unused);
        }
        long after = usedHeapAfterGc();
        double perWaiter = (after - before) / (double) WAITERS;
        System.out.printf("heap per waiter: %.0f bytes (%d joined calls on one blocked key)%n", perWaiter, WAITERS);
        assertTrue(perWaiter < 10 * 1024, "a waiter costs " + perWaiter + " bytes");
        work.release.countDown();
        assertEquals("v", leader.await());
        for (var call : calls) {
            assertEquals("v", call.future().get(10, TimeUnit.SECONDS));
        }
        Reference.reachabilityFence(calls);
    }

    // Rule 6 (a caller that has left costs nothing while the flight goes on, so callers that come and go - kubelet
    // retrying a long pull - do not pile up): `assertTrue(perDeparted < 16)` fires while each departed caller
    // leaves its completion callback registered on the flight's shared future until the flight ends.
    @Test
    void aCallerThatLeftHoldsNoHeapWhileTheFlightGoesOn() throws Exception {
        var table = SingleFlight.<String, String>builder("blob").build();
        var work = new BlockingWork<>("v");
        var leader = table.join("k", work);
        assertTrue(work.started.await(10, TimeUnit.SECONDS));
        SingleFlight.Work<String> unused = ctx -> "never";
        for (int i = 0; i < 1_000; i++) {
            table.join("k", unused).cancel();
        }
        int departed = 100_000;
        long before = usedHeapAfterGc();
        for (int i = 0; i < departed; i++) {
            table.join("k", unused).cancel();
        }
        long after = usedHeapAfterGc();
        double perDeparted = (after - before) / (double) departed;
        System.out.printf("heap per departed caller: %.0f bytes (%d callers joined and left one in-flight key)%n",
                perDeparted, departed);
        work.release.countDown();
        assertEquals("v", leader.await());
        assertTrue(perDeparted < 16, "each caller that left still holds " + perDeparted + " bytes");
    }

    static long usedHeapAfterGc() throws InterruptedException {
        var runtime = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
            used = Math.min(used, runtime.totalMemory() - runtime.freeMemory());
        }
        return used;
    }
}

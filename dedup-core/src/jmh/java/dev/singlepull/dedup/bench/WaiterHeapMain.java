package dev.singlepull.dedup.bench;

import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.SingleFlight;
import java.lang.ref.Reference;
import java.util.concurrent.CountDownLatch;

/**
 * Prints the heap retained per waiter: the used heap (after full GCs) before and after N callers join one
 * flight that is blocked, divided by N. Run by dedup-core's {@code jmh} profile after the JMH benchmarks.
 */
public final class WaiterHeapMain {
    private WaiterHeapMain() { }

    public static void main(String[] args) throws Exception {
        for (int n : new int[] {10_000, 100_000}) {
            measure(n); // the first pass warms up; both are printed
        }
        measureDeparted(100_000);
    }

    /** The heap still held, while the flight runs, by callers that joined it and left (cancelled). */
    private static void measureDeparted(int callers) throws Exception {
        var table = SingleFlight.<String, String>builder("bench").build();
        var release = new CountDownLatch(1);
        var leader = table.join("k", ctx -> {
            release.await();
            return "v";
        });
        SingleFlight.Work<String> unused = ctx -> "never";
        long before = usedHeapAfterGc();
        for (int i = 0; i < callers; i++) {
            table.join("k", unused).cancel();
        }
        long after = usedHeapAfterGc();
        System.out.printf("heap per departed caller: %.0f bytes (%d callers joined and left one in-flight key, "
                + "held until it ends)%n", (after - before) / (double) callers, callers);
        release.countDown();
        leader.await();
    }

    private static void measure(int waiters) throws Exception {
        var table = SingleFlight.<String, String>builder("bench").build();
        var release = new CountDownLatch(1);
        var started = new CountDownLatch(1);
        var leader = table.join("k", ctx -> {
            started.countDown();
            release.await();
            return "v";
        });
        started.await();
        SingleFlight.Work<String> unused = ctx -> "never";
        var calls = new Call<?>[waiters];
        long before = usedHeapAfterGc();
        for (int i = 0; i < waiters; i++) {
            calls[i] = table.join("k", unused);
        }
        long after = usedHeapAfterGc();
        System.out.printf("heap per waiter: %.0f bytes (%d waiters on one in-flight key, %d bytes in all)%n",
                (after - before) / (double) waiters, waiters, after - before);
        release.countDown();
        leader.await();
        for (var call : calls) {
            call.future().join();
        }
        Reference.reachabilityFence(calls);
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        var runtime = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, runtime.totalMemory() - runtime.freeMemory());
        }
        return used;
    }
}

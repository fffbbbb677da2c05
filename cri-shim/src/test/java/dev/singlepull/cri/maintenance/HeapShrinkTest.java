package dev.singlepull.cri.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeapShrinkTest {
    /** Flags as the JVM keeps them: the minimum may never exceed the maximum. */
    private static final class FakeFlags implements HeapShrink.Flags {
        final Map<String, String> values = new HashMap<>(Map.of("MinHeapFreeRatio", "40", "MaxHeapFreeRatio", "70"));
        final List<String> log = new ArrayList<>();
        boolean refuse;

        @Override
        public String get(String name) {
            return values.get(name);
        }

        @Override
        public void set(String name, String value) {
            if (refuse) {
                throw new IllegalArgumentException("not writeable: " + name);
            }
            Map<String, String> next = new HashMap<>(values);
            next.put(name, value);
            if (Integer.parseInt(next.get("MinHeapFreeRatio")) > Integer.parseInt(next.get("MaxHeapFreeRatio"))) {
                throw new IllegalArgumentException(name + "=" + value + " puts the minimum above the maximum");
            }
            values.put(name, value);
            log.add(name + "=" + value);
        }
    }

    private final FakeFlags flags = new FakeFlags();
    /** The committed heap after each collection, as the damped serial collector gives it back. */
    private final Deque<Long> committedAfter = new ArrayDeque<>(List.of(48L, 44L, 30L, 21L, 21L, 21L));
    private long committed = 48;
    private final List<String> ratiosAtCollection = new ArrayList<>();

    private HeapShrink shrink() {
        return new HeapShrink(flags, () -> {
            ratiosAtCollection.add(flags.values.get("MinHeapFreeRatio") + "/" + flags.values.get("MaxHeapFreeRatio"));
            committed = committedAfter.isEmpty() ? committed : committedAfter.pop();
        }, () -> committed);
    }

    @Test
    void collectsUnderLowRatiosUntilTheHeapStopsShrinkingThenPutsThemBack() {
        shrink().run();
        assertEquals(21, committed);
        assertEquals(List.of("0/10", "0/10", "0/10", "0/10", "0/10"), ratiosAtCollection,
                "damped 0%, then shrinking, then one collection that changes nothing");
        assertEquals(Map.of("MinHeapFreeRatio", "40", "MaxHeapFreeRatio", "70"), flags.values);
        assertEquals(List.of("MinHeapFreeRatio=0", "MaxHeapFreeRatio=10", "MaxHeapFreeRatio=70",
                "MinHeapFreeRatio=40"), flags.log, "the minimum never above the maximum");
    }

    @Test
    void neverCollectsMoreThanItsBound() {
        committedAfter.clear();
        for (long c = 47; c > 0; c--) {
            committedAfter.add(c);
        }
        shrink().run();
        assertEquals(HeapShrink.MAX_COLLECTIONS, ratiosAtCollection.size());
    }

    @Test
    void stillCollectsWhenTheRatiosCannotBeSet() {
        flags.refuse = true;
        shrink().run();
        assertTrue(ratiosAtCollection.size() >= 2);
        assertEquals(Map.of("MinHeapFreeRatio", "40", "MaxHeapFreeRatio", "70"), flags.values);
    }

    @Test
    void stillCollectsWhenTheRatiosCannotBeRead() {
        HeapShrink.Flags absent = new HeapShrink.Flags() {
            @Override
            public String get(String name) {
                throw new IllegalArgumentException("no HotSpot diagnostic bean");
            }

            @Override
            public void set(String name, String value) {
                throw new IllegalArgumentException("no HotSpot diagnostic bean");
            }
        };
        java.util.concurrent.atomic.AtomicInteger collections = new java.util.concurrent.atomic.AtomicInteger();
        new HeapShrink(absent, collections::incrementAndGet, () -> committed).run();
        assertTrue(collections.get() >= 1);
    }

    @Test
    void putsTheRatiosBackWhenACollectionFails() {
        HeapShrink failing = new HeapShrink(flags, () -> {
            throw new IllegalStateException("collector refused");
        }, () -> committed);
        assertThrows(IllegalStateException.class, failing::run);
        assertEquals(Map.of("MinHeapFreeRatio", "40", "MaxHeapFreeRatio", "70"), flags.values);
    }

    @Test
    void twoShrinksAtOnceStillPutTheJvmsRatiosBack() throws Exception {
        // the interleaving that loses the ratios without the lock: the second reads the first's lowered values,
        // the first puts the JVM's back, then the second "restores" the lowered ones
        java.util.concurrent.CountDownLatch firstCollecting = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch secondCollecting = new java.util.concurrent.CountDownLatch(1);
        Thread[] firstThread = new Thread[1];
        HeapShrink first = new HeapShrink(flags, () -> {
            firstCollecting.countDown();
            try {
                // with the lock the second cannot start meanwhile: give up waiting for it after a while
                secondCollecting.await(300, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, () -> committed);
        HeapShrink second = new HeapShrink(flags, () -> {
            secondCollecting.countDown();
            try {
                firstThread[0].join(1000); // let the first finish and put its values back before this one does
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, () -> committed);
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        firstThread[0] = Thread.ofPlatform().uncaughtExceptionHandler((t, e) -> failures.add(e)).start(first);
        firstCollecting.await();
        // a second node of the same JVM falls idle meanwhile
        Thread b = Thread.ofPlatform().uncaughtExceptionHandler((t, e) -> failures.add(e)).start(second);
        firstThread[0].join();
        b.join();
        assertEquals(List.of(), failures, "neither shrink may fail to put a ratio back");
        assertEquals(Map.of("MinHeapFreeRatio", "40", "MaxHeapFreeRatio", "70"), flags.values);
    }

    @Test
    void theRunningJvmsFlagsComeBackUnchanged() {
        var bean = java.lang.management.ManagementFactory.getPlatformMXBean(
                com.sun.management.HotSpotDiagnosticMXBean.class);
        String min = bean.getVMOption("MinHeapFreeRatio").getValue();
        String max = bean.getVMOption("MaxHeapFreeRatio").getValue();
        HeapShrink.ofThisJvm().run();
        assertEquals(min, bean.getVMOption("MinHeapFreeRatio").getValue());
        assertEquals(max, bean.getVMOption("MaxHeapFreeRatio").getValue());
    }
}

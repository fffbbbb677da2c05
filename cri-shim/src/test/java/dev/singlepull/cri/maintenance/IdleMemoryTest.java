package dev.singlepull.cri.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IdleMemoryTest {
    private final AtomicLong started = new AtomicLong();
    private final AtomicBoolean inFlight = new AtomicBoolean();
    private final AtomicLong clock = new AtomicLong();
    private final AtomicInteger collections = new AtomicInteger();
    private final IdleMemory idle = new IdleMemory(started::get, inFlight::get, Duration.ofSeconds(5), clock::get,
            collections::incrementAndGet, null);

    private void at(long seconds) {
        clock.set(Duration.ofSeconds(seconds).toNanos());
        idle.look();
    }

    @Test
    void anIdleServiceThatNeverPulledIsLeftAlone() {
        for (int s = 0; s < 60; s++) {
            at(s);
        }
        assertEquals(0, collections.get());
    }

    @Test
    void collectsOnceWhenQuietLongEnoughAfterAPull() {
        at(0);
        started.incrementAndGet();
        inFlight.set(true);
        at(1);
        at(2);
        inFlight.set(false);
        at(3);
        at(6);
        assertEquals(0, collections.get(), "only 4 s quiet since the pull was last seen in flight at 2 s");
        at(7);
        assertEquals(1, collections.get());
        for (int s = 9; s < 60; s++) {
            at(s);
        }
        assertEquals(1, collections.get(), "once per busy spell");
    }

    @Test
    void aPullTooShortToBeSeenInFlightStillCounts() {
        at(0);
        started.incrementAndGet(); // started and ended between two looks
        at(1);
        at(5);
        assertEquals(0, collections.get());
        at(6);
        assertEquals(1, collections.get());
    }

    @Test
    void aNewPullPostponesTheCollection() {
        at(0);
        started.incrementAndGet();
        at(1);
        at(5);
        started.incrementAndGet();
        at(6);
        at(10);
        assertEquals(0, collections.get());
        at(11);
        assertEquals(1, collections.get());
        started.incrementAndGet();
        at(12);
        at(17);
        assertEquals(2, collections.get(), "a later busy spell earns another collection");
    }
}

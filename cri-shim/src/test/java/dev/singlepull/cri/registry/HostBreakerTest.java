package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HostBreakerTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final HostBreaker breaker = new HostBreaker(3, Duration.ofSeconds(1), Duration.ofSeconds(2), now::get);

    private void advance(long millis) {
        now.addAndGet(Duration.ofMillis(millis).toNanos());
    }

    /** A request that fails, as the exchange reports it; true when its failure opened the circuit. */
    private boolean failOnce() {
        HostBreaker.Permit permit = breaker.acquire();
        assertTrue(permit.granted(), "a request was held back: " + permit);
        return breaker.failure(permit);
    }

    @Test
    void simultaneousFailuresCountOnce() {
        HostBreaker.Permit[] inFlight = new HostBreaker.Permit[20];
        for (int i = 0; i < inFlight.length; i++) {
            inFlight[i] = breaker.acquire();
        }
        for (HostBreaker.Permit permit : inFlight) {
            assertFalse(breaker.failure(permit), "twenty requests broken by one event opened the circuit");
            advance(10);
        }
        assertEquals(HostBreaker.State.CLOSED, breaker.state());
        assertTrue(breaker.acquire().granted());
    }

    @Test
    void failuresSpreadOverTimeOpenItAndItFailsFastUntilTheProbe() {
        assertFalse(failOnce());
        advance(1000);
        assertFalse(failOnce());
        advance(999);
        assertFalse(failOnce(), "inside the slice of the last counted failure");
        advance(1);
        assertTrue(failOnce(), "the third failure a slice apart");
        assertEquals(HostBreaker.State.OPEN, breaker.state());
        HostBreaker.Permit held = breaker.acquire();
        assertFalse(held.granted());
        assertEquals(Duration.ofSeconds(2).toNanos(), held.waitNanos());
        advance(1500);
        assertEquals(Duration.ofMillis(500).toNanos(), breaker.acquire().waitNanos());
    }

    @Test
    void aSuccessStartsTheCountOver() {
        failOnce();
        advance(1000);
        failOnce();
        advance(1000);
        HostBreaker.Permit permit = breaker.acquire();
        breaker.success();
        assertFalse(breaker.failure(permit), "the count began again at the success");
        advance(1000);
        assertFalse(failOnce());
        assertEquals(HostBreaker.State.CLOSED, breaker.state());
    }

    @Test
    void afterTheOpenTimeOneProbeGoesAndItsOutcomeDecides() {
        openIt();
        advance(2000);
        HostBreaker.Permit probe = breaker.acquire();
        assertTrue(probe.granted() && probe.probe());
        HostBreaker.Permit other = breaker.acquire();
        assertFalse(other.granted(), "a second request while the probe is out");
        assertTrue(other.waitNanos() > 0 && other.waitNanos() <= Duration.ofMillis(100).toNanos());

        assertFalse(breaker.failure(probe), "a failed probe opens it again, but that is no new opening");
        assertEquals(HostBreaker.State.OPEN, breaker.state());
        assertEquals(Duration.ofSeconds(2).toNanos(), breaker.acquire().waitNanos());

        advance(2000);
        HostBreaker.Permit second = breaker.acquire();
        assertTrue(second.probe());
        breaker.success();
        assertEquals(HostBreaker.State.CLOSED, breaker.state());
        assertTrue(breaker.acquire().granted());
        assertTrue(breaker.answered());
    }

    @Test
    void failuresOfRequestsSentBeforeItOpenedDoNotHoldItOpen() {
        HostBreaker.Permit early = breaker.acquire();
        openIt();
        assertFalse(breaker.failure(early));
        advance(2000);
        HostBreaker.Permit probe = breaker.acquire();
        assertFalse(breaker.failure(early), "only the probe's failure reopens a half-open circuit");
        assertEquals(HostBreaker.State.HALF_OPEN, breaker.state());
        breaker.abandon(probe);
        assertTrue(breaker.acquire().probe(), "an abandoned probe hands the turn on");
    }

    @Test
    void aHostIsKnownToAnswerOnlyAfterASuccess() {
        assertFalse(breaker.answered());
        failOnce();
        assertFalse(breaker.answered());
        breaker.acquire();
        breaker.success();
        assertTrue(breaker.answered());
    }

    private void openIt() {
        failOnce();
        advance(1000);
        failOnce();
        advance(1000);
        assertTrue(failOnce());
    }
}

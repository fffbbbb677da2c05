package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Rule 5: the progress the work publishes (phase, bytes done / total) is visible to every caller and to listings. */
@Timeout(30)
class ProgressTest {

    // Rule 5: `assertEquals(expected, call.progress().snapshot())` fires for the caller that does not see the work's
    // progress (a joiner reading its own copy, say); `assertEquals(expected, info.progress())` fires if flights()
    // does not show it.
    @Test
    void everyCallerAndTheListingSeeTheWorksProgressAsItMoves() throws Exception {
        var table = SingleFlight.<String, String>builder("blob").build();
        var published = new Semaphore(0);
        var next = new Semaphore(0);
        var begin = new CountDownLatch(1);
        SingleFlight.Work<String> work = ctx -> {
            var p = ctx.progress();
            begin.await();
            p.phase("resolving");
            published.release();
            next.acquire();
            p.phase("downloading");
            p.total(1000);
            p.advance(250);
            published.release();
            next.acquire();
            p.advance(250);
            published.release();
            next.acquire();
            p.done(900); // resumed from an offset
            p.phase("verifying");
            published.release();
            next.acquire();
            return "v";
        };
        var leader = table.join("sha256:abc", work);
        var joiner = table.join("sha256:abc", ctx -> "never");
        var late = table.join("sha256:abc", ctx -> "never");
        var calls = List.of(leader, joiner, late);
        var initial = new FlightProgress.Snapshot("waiting", 0, -1);
        assertEquals(initial, leader.progress().snapshot(), "before the work publishes anything");
        assertEquals(initial, table.flights().getFirst().progress());
        begin.countDown();

        var expected = List.of(
                new FlightProgress.Snapshot("resolving", 0, -1),
                new FlightProgress.Snapshot("downloading", 250, 1000),
                new FlightProgress.Snapshot("downloading", 500, 1000),
                new FlightProgress.Snapshot("verifying", 900, 1000));
        for (var step : expected) {
            assertTrue(published.tryAcquire(10, TimeUnit.SECONDS), "the work never published " + step);
            for (var call : calls) {
                assertEquals(step, call.progress().snapshot(), "joined=" + call.joined());
            }
            var listing = table.flights();
            assertEquals(1, listing.size());
            var info = listing.getFirst();
            assertEquals("blob", info.tier());
            assertEquals("sha256:abc", info.key());
            assertEquals(3, info.waiters());
            assertEquals(step, info.progress());
            assertTrue(!info.age().isNegative() && info.age().compareTo(Duration.ofMinutes(1)) < 0,
                    "age " + info.age());
            next.release();
        }
        for (var call : calls) {
            assertEquals("v", call.await());
        }
        assertEquals(List.of(), table.flights(), "an ended flight must leave the listing");
    }

    // Rule 5 (per flight): `assertEquals(..)` fires if two keys' flights share or mix their progress.
    @Test
    void eachFlightHasItsOwnProgress() throws Exception {
        var table = SingleFlight.<String, String>builder("blob").build();
        var published = new CountDownLatch(2);
        var release = new CountDownLatch(1);
        var a = table.join("a", ctx -> {
            ctx.progress().total(10);
            ctx.progress().advance(1);
            published.countDown();
            release.await();
            return "a";
        });
        var b = table.join("b", ctx -> {
            ctx.progress().total(20);
            ctx.progress().advance(2);
            published.countDown();
            release.await();
            return "b";
        });
        assertTrue(published.await(10, TimeUnit.SECONDS));
        assertEquals(1, a.progress().snapshot().done());
        assertEquals(20, b.progress().snapshot().total());
        var byKey = new java.util.TreeMap<String, FlightProgress.Snapshot>();
        table.flights().forEach(f -> byKey.put(f.key(), f.progress()));
        assertEquals(10, byKey.get("a").total());
        assertEquals(2, byKey.get("b").done());
        release.countDown();
        a.await();
        b.await();
    }
}

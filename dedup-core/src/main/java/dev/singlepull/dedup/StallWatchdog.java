package dev.singlepull.dedup;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Samples the progress of one table's live flights and aborts those that fall below the table's
 * {@link StallPolicy}. One daemon thread samples for every table of the process; a table that is garbage collected
 * stops being sampled. {@link #check()} is the whole algorithm and can be driven by hand in tests.
 */
final class StallWatchdog {
    private static final ScheduledExecutorService SAMPLER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "singlepull-stall-watchdog");
        t.setDaemon(true);
        return t;
    });

    private record Sample(long nanos, long done) { }

    private static final class History {
        final String phase;
        final Deque<Sample> samples = new ArrayDeque<>();

        History(String phase) {
            this.phase = phase;
        }
    }

    private final SingleFlight<?, ?> table;
    private final StallPolicy policy;
    private final LongSupplier nanoTime;
    private final Map<Flight<?, ?>, History> histories = new HashMap<>();

    StallWatchdog(SingleFlight<?, ?> table, StallPolicy policy, LongSupplier nanoTime) {
        this.table = table;
        this.policy = policy;
        this.nanoTime = nanoTime;
    }

    /** Samples on the shared thread for as long as the table is reachable. */
    static void schedule(StallWatchdog watchdog) {
        WeakReference<StallWatchdog> ref = new WeakReference<>(watchdog);
        long period = watchdog.policy.period().toMillis();
        ScheduledFuture<?>[] handle = new ScheduledFuture<?>[1];
        handle[0] = SAMPLER.scheduleAtFixedRate(() -> {
            StallWatchdog w = ref.get();
            if (w == null) {
                handle[0].cancel(false);
                return;
            }
            try {
                w.check();
            } catch (RuntimeException e) {
                // a failed sample must not stop the sampling of later ones
            }
        }, period, period, TimeUnit.MILLISECONDS);
    }

    /** One sample of every live flight; aborts the stalled ones. */
    synchronized void check() {
        long now = nanoTime.getAsLong();
        long window = policy.window().toNanos();
        Set<Flight<?, ?>> live = new HashSet<>();
        for (Flight<?, ?> flight : table.liveFlights()) {
            live.add(flight);
            FlightProgress.Snapshot reading = flight.progress().snapshot();
            if (!policy.phases().contains(reading.phase())) {
                histories.remove(flight);
                continue;
            }
            History history = histories.get(flight);
            if (history == null || !history.phase.equals(reading.phase())) {
                history = new History(reading.phase());
                histories.put(flight, history);
            }
            history.samples.addLast(new Sample(now, reading.done()));
            // keep one sample at least a window old as the baseline, and everything newer
            while (history.samples.size() > 1 && now - secondOldest(history).nanos() >= window) {
                history.samples.removeFirst();
            }
            Sample baseline = history.samples.peekFirst();
            long elapsed = now - baseline.nanos();
            if (elapsed < window) {
                continue;
            }
            long bytes = reading.done() - baseline.done();
            double seconds = elapsed / 1e9;
            if (bytes < policy.minBytesPerSecond() * seconds) {
                histories.remove(flight);
                flight.abort(new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, String.format(Locale.ROOT,
                        "%s %s stalled: %d bytes in the last %.0f s (%.0f B/s), below the minimum of %d B/s",
                        table.tier(), flight.key(), bytes, seconds, bytes / seconds, policy.minBytesPerSecond())));
            }
        }
        histories.keySet().retainAll(live);
    }

    private static Sample secondOldest(History history) {
        var it = history.samples.iterator();
        it.next();
        return it.next();
    }
}

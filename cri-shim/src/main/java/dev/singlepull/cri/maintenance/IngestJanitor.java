package dev.singlepull.cri.maintenance;

import dev.singlepull.content.IngestManager;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Removes ingests that nobody has written for {@code maxAge} (config {@code stale_ingest_seconds}): once when the
 * service starts, then every {@link #period(Duration)} on one daemon thread. A younger ingest is kept, so the next
 * pull of its blob resumes it; one whose writer is open is never taken. Thread-safe.
 */
public final class IngestJanitor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IngestJanitor.class.getName());

    private final IngestManager ingests;
    private final Duration maxAge;
    private final ScheduledExecutorService timer;

    private IngestJanitor(IngestManager ingests, Duration maxAge) {
        this.ingests = ingests;
        this.maxAge = maxAge;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "singlepull-ingest-janitor");
            t.setDaemon(true);
            return t;
        });
    }

    /** Sweeps once now, then schedules the periodic sweeps. */
    public static IngestJanitor start(IngestManager ingests, Duration maxAge) {
        IngestJanitor janitor = new IngestJanitor(ingests, maxAge);
        janitor.sweep();
        long every = period(maxAge).toMillis();
        janitor.timer.scheduleWithFixedDelay(janitor::sweepQuietly, every, every, TimeUnit.MILLISECONDS);
        return janitor;
    }

    /** How often to sweep for an age limit of {@code maxAge}: a quarter of it, between 1 second and 1 hour. */
    static Duration period(Duration maxAge) {
        Duration quarter = maxAge.dividedBy(4);
        if (quarter.compareTo(Duration.ofSeconds(1)) < 0) {
            return Duration.ofSeconds(1);
        }
        return quarter.compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : quarter;
    }

    /** Removes the stale ingests now; returns how many. */
    public int sweep() {
        int removed = ingests.abortStale(maxAge);
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "removed {0} ingests not written for {1}", removed, maxAge);
        }
        return removed;
    }

    public Duration maxAge() {
        return maxAge;
    }

    private void sweepQuietly() {
        try {
            sweep();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "removing stale ingests failed (next try in " + period(maxAge) + ")", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}

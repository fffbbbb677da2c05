package dev.singlepull.cri.maintenance;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Gives the memory a burst of pulls took back to the node once the service falls quiet. A node agent sits idle most
 * of its life, and a collector only gives heap back when it collects: without a collection, the heap a burst grew
 * stays committed until the next pull. After {@code quiet} with no pull in flight and none started, this runs a
 * {@link HeapShrink}: full collections under lowered free ratios, after which the serial collector uncommits all but
 * what is live and a tenth. Once per busy spell, so an idle service does no work. Looks once a second on one daemon
 * thread; {@link #look} is the step, for tests.
 */
public final class IdleMemory implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(IdleMemory.class.getName());

    private final LongSupplier pullsStarted;
    private final BooleanSupplier pullsInFlight;
    private final long quietNanos;
    private final LongSupplier nanoClock;
    private final Runnable collect;
    private final ScheduledExecutorService timer;
    private long lastStarted;
    private long quietSince;
    private boolean owed; // a pull ran since the last collection

    IdleMemory(LongSupplier pullsStarted, BooleanSupplier pullsInFlight, Duration quiet, LongSupplier nanoClock,
               Runnable collect, ScheduledExecutorService timer) {
        this.pullsStarted = pullsStarted;
        this.pullsInFlight = pullsInFlight;
        this.quietNanos = quiet.toNanos();
        this.nanoClock = nanoClock;
        this.collect = collect;
        this.timer = timer;
        this.lastStarted = pullsStarted.getAsLong();
        this.quietSince = nanoClock.getAsLong();
    }

    /**
     * Starts looking once a second: {@code pullsStarted} counts the pulls started so far, {@code pullsInFlight} says
     * whether one runs now; after {@code quiet} of neither, one {@link HeapShrink}.
     */
    public static IdleMemory start(LongSupplier pullsStarted, BooleanSupplier pullsInFlight, Duration quiet) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "singlepull-idle-memory");
            t.setDaemon(true);
            return t;
        });
        IdleMemory idle = new IdleMemory(pullsStarted, pullsInFlight, quiet, System::nanoTime, HeapShrink.ofThisJvm(),
                timer);
        timer.scheduleWithFixedDelay(idle::lookQuietly, 1, 1, TimeUnit.SECONDS);
        return idle;
    }

    /** One look: notes activity, or collects once the service has been quiet long enough since a pull. */
    synchronized void look() {
        long now = nanoClock.getAsLong();
        long started = pullsStarted.getAsLong();
        if (started != lastStarted || pullsInFlight.getAsBoolean()) {
            lastStarted = started;
            quietSince = now;
            owed = true;
            return;
        }
        if (owed && now - quietSince >= quietNanos) {
            owed = false;
            collect.run();
        }
    }

    private void lookQuietly() {
        try {
            look();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "idle memory check failed", e);
        }
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}

package dev.singlepull.dedup;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A namespace in which units of blocking work run with duplicate suppression: concurrent {@link #join} calls for
 * one key share one execution of the work.
 *
 * <p>The first caller for a key starts the work on this table's executor (never on the caller's thread); later
 * callers join it. Every caller receives its own {@link Call}; all of them complete with the same value or the same
 * failure. A caller that cancels detaches only itself. When the last caller has left, the work continues for the
 * configured grace (by default to completion) and is then cancelled; a caller that arrives during the grace
 * re-attaches to the same work. The key leaves the table when the work has stopped; results and failures are not
 * kept, so a caller that arrives after the end starts a new flight. Two works for one key never run at once: a
 * caller that arrives while a cancelled work is still unwinding starts a new flight that begins when it has stopped.
 *
 * <p>Waiters park on futures: no thread per waiter, no polling. Thread-safe.
 *
 * @param <K> the key; must have value equality
 * @param <V> the result of the work
 */
public final class SingleFlight<K, V> {

    /** The work of a flight. Runs on the table's executor; may block; should honour cancellation (interrupts). */
    @FunctionalInterface
    public interface Work<V> {
        V run(FlightContext context) throws Exception;
    }

    private final String tier;
    private final Executor executor;
    private final FlightListener listener;
    private final Duration grace;
    private final Clock clock;
    private final ConcurrentHashMap<K, Flight<K, V>> flights = new ConcurrentHashMap<>();
    private final StallWatchdog watchdog;

    private SingleFlight(Builder<K, V> builder) {
        this.tier = builder.tier;
        this.executor = builder.executor != null ? builder.executor : Executors.newVirtualThreadPerTaskExecutor();
        this.listener = builder.listener;
        this.grace = builder.grace;
        this.clock = builder.clock;
        if (builder.stallPolicy != null) {
            this.watchdog = new StallWatchdog(this, builder.stallPolicy, builder.nanoTime);
            if (builder.sampleAutomatically) {
                StallWatchdog.schedule(watchdog);
            }
        } else {
            this.watchdog = null;
        }
    }

    /** A table named by its tier ("ref", "blob", "chain"), used in metrics, listings and messages. */
    public static <K, V> Builder<K, V> builder(String tier) {
        return new Builder<>(tier);
    }

    /**
     * Joins the live flight for {@code key}, or starts one running {@code work}. {@code work} is used only when this
     * call starts the flight. Never blocks on the work.
     */
    public Call<V> join(K key, Work<V> work) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(work, "work");
        var started = new Object() {
            Flight<K, V> flight;
            CompletableFuture<Void> predecessor;
        };
        Flight<K, V> flight = flights.compute(key, (k, current) -> {
            if (current != null && current.tryAttach()) {
                return current;
            }
            Flight<K, V> fresh = new Flight<>(this, k, work);
            fresh.tryAttach();
            started.flight = fresh;
            started.predecessor = current == null ? null : current.terminated;
            return fresh;
        });
        boolean leader = started.flight == flight;
        listener.waitersChanged(tier, +1);
        Call<V> call = new Call<>(flight, !leader, () -> listener.waitersChanged(tier, -1)).attach();
        if (leader) {
            listener.started(tier);
            flight.start(started.predecessor);
        } else {
            listener.joined(tier);
        }
        return call;
    }

    /** Blocking convenience: joins and waits, as {@link Call#await()}. */
    public V run(K key, Work<V> work) {
        return join(key, work).await();
    }

    /** Keys with a live flight (running, in its grace, or unwinding after a cancel). */
    public int inFlightCount() {
        return flights.size();
    }

    /** The live flights of this table. */
    public List<FlightInfo> flights() {
        List<FlightInfo> out = new ArrayList<>();
        var now = clock.instant();
        flights.forEach((key, flight) -> {
            var started = flight.startedAt();
            out.add(new FlightInfo(tier, String.valueOf(key), flight.waiters(), flight.progress().snapshot(),
                    started == null ? Duration.ZERO : Duration.between(started, now)));
        });
        return out;
    }

    /** The progress of every live flight whose key {@code matches}, by key. */
    public Map<K, FlightProgress> progress(Predicate<? super K> matches) {
        Map<K, FlightProgress> out = new LinkedHashMap<>();
        flights.forEach((key, flight) -> {
            if (matches.test(key)) {
                out.put(key, flight.progress());
            }
        });
        return out;
    }

    public String tier() {
        return tier;
    }

    java.util.Collection<Flight<K, V>> liveFlights() {
        return List.copyOf(flights.values());
    }

    /** Runs one stall check now (tests drive the watchdog by hand with a fake clock). */
    void checkStalls() {
        if (watchdog != null) {
            watchdog.check();
        }
    }

    Executor executor() {
        return executor;
    }

    Clock clock() {
        return clock;
    }

    void remove(K key, Flight<K, V> flight) {
        flights.remove(key, flight);
    }

    void lastWaiterLeft(Flight<K, V> flight, long generation) {
        if (grace == null) {
            return; // run to completion: the next caller should find the work done
        }
        if (grace.isZero()) {
            flight.cancelIfAbandoned(generation);
        } else {
            CompletableFuture.delayedExecutor(grace.toNanos(), TimeUnit.NANOSECONDS, executor)
                    .execute(() -> flight.cancelIfAbandoned(generation));
        }
    }

    void outcome(Throwable failure) {
        if (failure == null) {
            listener.succeeded(tier);
        } else if (SinglepullException.kindOf(failure) == ErrorKind.CANCELLED) {
            listener.cancelled(tier);
        } else {
            listener.failed(tier, failure);
        }
    }

    /** Configures a {@link SingleFlight}. */
    public static final class Builder<K, V> {
        private final String tier;
        private Executor executor;
        private FlightListener listener = FlightListener.NONE;
        private Duration grace;
        private Clock clock = Clock.systemUTC();
        private StallPolicy stallPolicy;
        private java.util.function.LongSupplier nanoTime = System::nanoTime;
        private boolean sampleAutomatically = true;

        private Builder(String tier) {
            this.tier = Objects.requireNonNull(tier, "tier");
        }

        /** Where the work runs; default: a virtual thread per flight. */
        public Builder<K, V> executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor);
            return this;
        }

        public Builder<K, V> listener(FlightListener listener) {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        /**
         * How long the work continues after its last caller has left before it is cancelled. {@code null}, the
         * default, lets it run to completion (kubelet retries, and the retry should find the work done).
         */
        public Builder<K, V> grace(Duration grace) {
            if (grace != null && grace.isNegative()) {
                throw new IllegalArgumentException("negative grace " + grace);
            }
            this.grace = grace;
            return this;
        }

        /** Aborts flights whose progress stalls below {@code policy}; default: no watchdog. */
        public Builder<K, V> stallPolicy(StallPolicy policy) {
            this.stallPolicy = Objects.requireNonNull(policy);
            return this;
        }

        /** For tests: the watchdog's monotonic clock, sampled only when {@link SingleFlight#checkStalls} is called. */
        Builder<K, V> manualStallClock(java.util.function.LongSupplier nanoTime) {
            this.nanoTime = Objects.requireNonNull(nanoTime);
            this.sampleAutomatically = false;
            return this;
        }

        public Builder<K, V> clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        public SingleFlight<K, V> build() {
            return new SingleFlight<>(this);
        }
    }
}

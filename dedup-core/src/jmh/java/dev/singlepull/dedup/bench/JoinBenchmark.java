package dev.singlepull.dedup.bench;

import dev.singlepull.dedup.Call;
import dev.singlepull.dedup.SingleFlight;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The cost of joining a flight.
 *
 * <ul>
 *   <li>{@code joinInFlight*}: join() on a key whose flight is running (a dedup hit): what a waiter adds, with no
 *       thread and no work. All threads join the same key. The flight is ended and replaced by a new one every
 *       {@value #JOINS_PER_FLIGHT} joins of a thread, completing its waiters; that cost is included, amortized.
 *   <li>{@code joinAndLeaveInFlight}: the same, then cancel(): a caller that comes and goes (a flight keeps what its
 *       departed callers left until it ends, see WaiterFootprintTest).
 *   <li>{@code leadFreshKey*}: join() + await() on a fresh key whose work returns at once: a whole flight (entry, the
 *       work handed to a new virtual thread, completion, removal, the waiting thread woken).
 * </ul>
 *
 * <p>{@code *Contended} and {@code *Throughput} run on two threads, the machine's cores. Run through dedup-core's
 * {@code jmh} profile: {@code mvn -B -pl dedup-core -Pjmh verify}.
 */
@State(Scope.Benchmark)
public class JoinBenchmark {
    static final int JOINS_PER_FLIGHT = 1024;
    private static final SingleFlight.Work<String> NEVER_RUN = ctx -> "never";
    private static final SingleFlight.Work<String> IMMEDIATE = ctx -> "v";

    private SingleFlight<Long, String> table;
    private final AtomicLong keys = new AtomicLong(1);

    /** The in-flight key every benchmark thread joins: a flight held open by its leader until it is replaced. */
    @State(Scope.Benchmark)
    public static class Hot {
        private volatile Anchor anchor;

        record Anchor(Long key, CountDownLatch release, Call<String> leader) { }

        Anchor open(JoinBenchmark b) {
            Long key = b.keys.getAndIncrement();
            var release = new CountDownLatch(1);
            Call<String> leader = b.table.join(key, ctx -> {
                release.await();
                return "v";
            });
            return new Anchor(key, release, leader);
        }

        /** Ends {@code old}'s flight and opens the next one, unless another thread already did. */
        synchronized void replace(JoinBenchmark b, Anchor old) {
            if (anchor == old) {
                anchor = open(b);
                old.release().countDown();
            }
        }
    }

    /** Each benchmark thread's count of joins, to replace the hot flight every {@value #JOINS_PER_FLIGHT}. */
    @State(Scope.Thread)
    public static class Counter {
        int joins;
    }

    @Setup
    public void setUp(Hot hot) {
        table = SingleFlight.<Long, String>builder("bench").build();
        hot.anchor = hot.open(this);
    }

    @TearDown
    public void tearDown(Hot hot) {
        var last = hot.anchor;
        last.release().countDown();
        last.leader().await();
    }

    private Call<String> join(Hot hot, Counter counter, boolean leave) {
        Hot.Anchor anchor = hot.anchor;
        Call<String> call = table.join(anchor.key(), NEVER_RUN);
        if (leave) {
            call.cancel();
        }
        if (++counter.joins == JOINS_PER_FLIGHT) {
            counter.joins = 0;
            hot.replace(this, anchor);
        }
        return call;
    }

    private String lead() {
        return table.run(keys.getAndIncrement(), IMMEDIATE);
    }

    /** join() on the in-flight key; the caller waits (until the flight is replaced, then all its callers complete). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Call<String> joinInFlight(Hot hot, Counter counter) {
        return join(hot, counter, false);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @Threads(2)
    public Call<String> joinInFlightContended(Hot hot, Counter counter) {
        return join(hot, counter, false);
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(2)
    public Call<String> joinInFlightThroughput(Hot hot, Counter counter) {
        return join(hot, counter, false);
    }

    /** join() on the in-flight key, then cancel(): a caller that comes and goes. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Call<String> joinAndLeaveInFlight(Hot hot, Counter counter) {
        return join(hot, counter, true);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public String leadFreshKey() {
        return lead();
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @Threads(2)
    public String leadFreshKeyThroughput() {
        return lead();
    }
}

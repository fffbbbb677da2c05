package dev.singlepull.dedup;

import static org.junit.jupiter.api.Assertions.fail;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Rule 8: a seeded, randomized stress test. Many keys, many callers on virtual threads, random cancellations,
 * interrupts and deadlines, random failures and aborts, random work durations, works that ignore their cancellation
 * for a while, and every grace variant. After each round it checks the invariants of rules 1-4 and 7:
 *
 * <ul>
 *   <li>no caller hangs (hang guard per round);
 *   <li>never two works at once for one key (a per-key "running" counter, its maximum must be 1);
 *   <li>all callers that received an outcome of one flight received the same instance; the flight was of the
 *       caller's key; a leader received its own work's outcome and a joiner another caller's;
 *   <li>no caller received the outcome of a flight that had already ended when it called join();
 *   <li>a caller that neither cancelled, nor was interrupted, nor timed out received a flight's outcome (never a
 *       CANCELLED error: the grace never cancels under a waiting caller);
 *   <li>the listener's counts match the callers' view (started = leaders, joined = joiners), every started flight
 *       reported one outcome, the waiting sum is 0 and the table is empty.
 * </ul>
 *
 * <p>Replay: {@code -Dstress.seed=N} (default fixed), {@code -Dstress.iterations=R} rounds (default CI-sized, about
 * 15-30 s on 2 cores). A failure message names the seed and the round. The seed fixes every random choice (keys,
 * modes, durations, outcomes), not the thread interleaving.
 */
@Timeout(600)
class SingleFlightStressTest {
    private static final long DEFAULT_SEED = 0x5EED_F11E_0001L;
    private static final int DEFAULT_ROUNDS = 1500;
    private static final int KEYS = 50;
    private static final int CALLERS_PER_ROUND = 400;
    private static final Duration HANG_GUARD = Duration.ofSeconds(60);

    /**
     * The mix of a run: the graces the rounds draw from, and how often a work ignores its cancellation for a while
     * (which makes a cancelled flight slow to unwind, so that new callers start a successor that waits for it).
     */
    record Profile(String name, List<Duration> graces, int stubbornPercent) { }

    /** Every grace, zero included, and works slow to unwind (a cancelled flight's successor waits for it). */
    static final Profile FULL = new Profile("full", java.util.Arrays.asList(null, Duration.ZERO, Duration.ofMillis(1),
            Duration.ofMillis(3)), 10);

    /** How a caller behaves once it has joined. */
    enum Mode { AWAIT, FUTURE_GET, CANCEL, INTERRUPT, DEADLINE }

    /** What a caller's work does at its end, if it is the one that runs. */
    enum WorkEnd { SUCCEED, THROW_UNCHECKED, THROW_CHECKED, ABORT }

    /** A pause: {@code yields} Thread.yield() calls, then (if {@code micros} > 0) a sleep. */
    record Pause(int yields, long micros) {
        static final Pause NONE = new Pause(0, 0);

        void take() throws InterruptedException {
            for (int i = 0; i < yields; i++) {
                Thread.yield();
            }
            if (micros > 0) {
                Thread.sleep(Duration.ofNanos(micros * 1000));
            }
        }
    }

    record WorkPlan(Pause duration, WorkEnd end, boolean stubborn, boolean checksCancel) { }

    record CallerPlan(int index, int key, Pause before, Mode mode, Pause leaveAfter, WorkPlan work) { }

    /** Something that carries the id of the flight that produced it. */
    interface Tagged {
        long flightId();

        int key();
    }

    record Result(long flightId, int key) implements Tagged { }

    static final class UncheckedFailure extends RuntimeException implements Tagged {
        private static final long serialVersionUID = 1L;
        final long flightId;
        final int key;

        UncheckedFailure(long flightId, int key) {
            super("flight " + flightId + " of key " + key + " failed", null, false, false);
            this.flightId = flightId;
            this.key = key;
        }

        @Override public long flightId() { return flightId; }
        @Override public int key() { return key; }
    }

    static final class CheckedFailure extends Exception implements Tagged {
        private static final long serialVersionUID = 1L;
        final long flightId;
        final int key;

        CheckedFailure(long flightId, int key) {
            super("flight " + flightId + " of key " + key + " failed (checked)", null, false, false);
            this.flightId = flightId;
            this.key = key;
        }

        @Override public long flightId() { return flightId; }
        @Override public int key() { return key; }
    }

    static final class AbortCause extends SinglepullException implements Tagged {
        private static final long serialVersionUID = 1L;
        final long flightId;
        final int key;

        AbortCause(long flightId, int key) {
            super(ErrorKind.DEADLINE_EXCEEDED, "flight " + flightId + " of key " + key + " aborted by its watchdog");
            this.flightId = flightId;
            this.key = key;
        }

        @Override public long flightId() { return flightId; }
        @Override public int key() { return key; }
    }

    /** One work execution (one flight that actually ran). */
    static final class FlightRecord {
        final long id;
        final int key;
        final int owner;
        /** A sequence number taken after the flight had ended (closed to new callers); MAX_VALUE until known. */
        final AtomicLong endedBy = new AtomicLong(Long.MAX_VALUE);
        /** A sequence number taken when its work started: the flight was open and in the table then. */
        final long startSeq;
        /** A sequence number before which the flight was surely still open (not cancelled), or 0 if unknown. */
        volatile long openUntil;

        FlightRecord(long id, int key, int owner, long startSeq) {
            this.id = id;
            this.key = key;
            this.owner = owner;
            this.startSeq = startSeq;
        }

        void ended(long seq) {
            endedBy.accumulateAndGet(seq, Math::min);
        }
    }

    /** What one caller saw. */
    static final class CallerRecord {
        final CallerPlan plan;
        volatile long joinSeq;
        /** A sequence number taken when join() had returned. */
        volatile long joinedSeq;
        volatile boolean joined;
        /** The flight outcome received (a Result or a Tagged throwable), or null. */
        volatile Object outcome;
        /** Why there is no flight outcome: "self-cancelled", "interrupted", "deadline", or an unexpected throwable. */
        volatile String other;
        volatile boolean done;

        CallerRecord(CallerPlan plan) {
            this.plan = plan;
        }
    }

    /** Per round: everything the workers, callers and listener share. */
    final class Round {
        final int number;
        final long roundSeed;
        final String variant;
        final AtomicLong seq = new AtomicLong();
        final AtomicLong flightIds = new AtomicLong();
        final AtomicInteger[] running = new AtomicInteger[KEYS];
        final AtomicInteger maxRunning = new AtomicInteger();
        final ConcurrentHashMap<Long, FlightRecord> flights = new ConcurrentHashMap<>();
        final ConcurrentHashMap<Long, Object> firstOutcome = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        final ThreadLocal<FlightRecord> current = new ThreadLocal<>();
        final RecordingListener counts = new RecordingListener();
        /** Flights that ended without their work ever running (cancelled while waiting for a predecessor). */
        final AtomicInteger neverRan = new AtomicInteger();

        Round(int number, long roundSeed, String variant) {
            this.number = number;
            this.roundSeed = roundSeed;
            this.variant = variant;
            for (int i = 0; i < KEYS; i++) {
                running[i] = new AtomicInteger();
            }
        }

        void violation(String what) {
            violations.add(what);
        }

        /** Listener: counts, and marks the flight whose work just ended (outcomes are reported on its thread). */
        FlightListener listener() {
            return new FlightListener() {
                @Override public void started(String tier) { counts.started(tier); }
                @Override public void joined(String tier) { counts.joined(tier); }
                @Override public void waitersChanged(String tier, int delta) { counts.waitersChanged(tier, delta); }

                @Override public void succeeded(String tier) {
                    markEnded();
                    counts.succeeded(tier);
                }

                @Override public void failed(String tier, Throwable cause) {
                    markEnded();
                    counts.failed(tier, cause);
                }

                @Override public void cancelled(String tier) {
                    markEnded();
                    counts.cancelled(tier);
                }

                private void markEnded() {
                    var flight = current.get();
                    current.remove();
                    if (flight != null) {
                        flight.ended(seq.incrementAndGet());
                    } else {
                        neverRan.incrementAndGet();
                    }
                }
            };
        }

        SingleFlight.Work<Object> work(CallerPlan caller) {
            WorkPlan plan = caller.work();
            return ctx -> {
                var self = Thread.currentThread();
                if (self.isInterrupted() && !ctx.isCancelled()) {
                    violation("a work started with a stale interrupt (leaked from another flight) on " + self);
                }
                long id = flightIds.incrementAndGet();
                var record = new FlightRecord(id, caller.key(), caller.index(), seq.incrementAndGet());
                flights.put(id, record);
                current.set(record);
                int now = running[caller.key()].incrementAndGet();
                maxRunning.accumulateAndGet(now, Math::max);
                if (now > 1) {
                    violation("key " + caller.key() + ": " + now + " works running at once (flight " + id + ")");
                }
                try {
                    ctx.progress().phase("working");
                    ctx.progress().advance(1);
                    try {
                        plan.duration().take();
                    } catch (InterruptedException e) {
                        if (!plan.stubborn()) {
                            throw e;
                        }
                        // ignores its cancellation for a while, as a blocking read would
                        for (int i = 0; i < 50; i++) {
                            Thread.yield();
                        }
                        Thread.interrupted();
                    }
                    if (plan.checksCancel()) {
                        ctx.throwIfCancelled();
                    }
                    long stillRunning = seq.incrementAndGet();
                    if (!ctx.isCancelled()) {
                        // not cancelled now, so open (attachable) from its start until at least stillRunning
                        record.openUntil = stillRunning;
                    }
                    switch (plan.end()) {
                        case SUCCEED -> {
                            return new Result(id, caller.key());
                        }
                        case THROW_UNCHECKED -> throw new UncheckedFailure(id, caller.key());
                        case THROW_CHECKED -> throw new CheckedFailure(id, caller.key());
                        case ABORT -> {
                            ctx.abort(new AbortCause(id, caller.key()));
                            record.ended(seq.incrementAndGet()); // the flight is closed once abort returns
                            ctx.throwIfCancelled();
                            return new Result(id, caller.key()); // only if it had been cancelled before
                        }
                        default -> throw new AssertionError(plan.end());
                    }
                } finally {
                    running[caller.key()].decrementAndGet();
                }
            };
        }

        void call(SingleFlight<Integer, Object> table, CallerRecord record, CountDownLatch gate) {
            var plan = record.plan;
            try {
                gate.await();
                plan.before().take();
                record.joinSeq = seq.incrementAndGet();
                Call<Object> call = table.join(plan.key(), work(plan));
                record.joinedSeq = seq.incrementAndGet();
                record.joined = call.joined();
                call.future().whenComplete((v, e) -> {
                    // the flight has ended when any of its callers is told: a later join must not see it
                    long after = seq.incrementAndGet();
                    Object o = e == null ? v : e;
                    if (o instanceof Tagged t) {
                        var flight = flights.get(t.flightId());
                        if (flight != null) {
                            flight.ended(after);
                        }
                    }
                });
                switch (plan.mode()) {
                    case AWAIT -> awaitOutcome(call, record);
                    case FUTURE_GET -> futureOutcome(call, record);
                    case CANCEL -> {
                        plan.leaveAfter().take();
                        call.cancel();
                        futureOutcome(call, record);
                    }
                    case DEADLINE -> {
                        long micros = Math.max(1, plan.leaveAfter().micros());
                        call.future().orTimeout(micros, TimeUnit.MICROSECONDS);
                        futureOutcome(call, record);
                    }
                    case INTERRUPT -> {
                        Thread caller = Thread.currentThread();
                        Thread interrupter = Thread.ofVirtual().start(() -> {
                            try {
                                plan.leaveAfter().take();
                            } catch (InterruptedException ignored) {
                                // not interrupted by anyone
                            }
                            caller.interrupt();
                        });
                        awaitOutcome(call, record);
                        while (true) { // the interrupt may land here, once, if await() returned first
                            try {
                                interrupter.join();
                                break;
                            } catch (InterruptedException late) {
                                // expected at most once
                            }
                        }
                        Thread.interrupted();
                    }
                    default -> throw new AssertionError(plan.mode());
                }
            } catch (Throwable t) {
                record.other = "caller crashed: " + t;
            } finally {
                record.done = true;
            }
        }

        private void awaitOutcome(Call<Object> call, CallerRecord record) {
            try {
                record.outcome = call.await();
            } catch (SinglepullException e) {
                if (e instanceof Tagged) {
                    record.outcome = e;
                } else if (e.kind() == ErrorKind.INTERNAL && e.getCause() instanceof CheckedFailure c) {
                    record.outcome = c;
                } else if (e.kind() == ErrorKind.CANCELLED && e.getCause() instanceof InterruptedException) {
                    record.other = "interrupted";
                } else if (e.kind() == ErrorKind.CANCELLED && e.getCause() instanceof CancellationException) {
                    record.other = "self-cancelled";
                } else {
                    record.other = "unexpected " + e;
                }
            } catch (UncheckedFailure e) {
                record.outcome = e;
            } catch (RuntimeException | Error e) {
                record.other = "unexpected " + e;
            }
        }

        private void futureOutcome(Call<Object> call, CallerRecord record) throws InterruptedException {
            try {
                record.outcome = call.future().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                var cause = e.getCause();
                if (cause instanceof Tagged) {
                    record.outcome = cause;
                } else if (cause instanceof TimeoutException) {
                    record.other = "deadline";
                } else {
                    record.other = "unexpected " + cause;
                }
            } catch (CancellationException e) {
                record.other = "self-cancelled";
            } catch (TimeoutException e) {
                record.other = "HUNG: its future did not complete within " + HANG_GUARD;
            }
        }
    }

    // Rule 8 (every invariant above, under random interleavings): each check in check(..) adds a violation and the
    // round fails with the seed: "works running at once" (two works for a key), "different outcomes" (not the same
    // result/exception), "ended by seq" (joined a finished flight), "got ... expected a flight's outcome" (a waiting
    // caller cancelled under it), "called join() while flight .. was running and open" (no dedup), the listener
    // counts, "inFlightCount()" (a leaked entry), and the hang guard (a caller never completes).
    @Test
    void randomCallersCancellationsFailuresAndGracesKeepEveryRule() throws Exception {
        runStress(FULL);
    }

    private void runStress(Profile profile) throws Exception {
        long seed = Long.getLong("stress.seed", DEFAULT_SEED);
        int rounds = Integer.getInteger("stress.iterations", DEFAULT_ROUNDS);
        var random = new Random(seed);
        long t0 = System.nanoTime();
        long callers = 0;
        long flightsRun = 0;
        long joins = 0;
        long succeeded = 0;
        long failed = 0;
        long cancelled = 0;
        long neverRan = 0;
        for (int r = 0; r < rounds; r++) {
            var round = runRound(profile, seed, r, random.nextLong());
            var stats = round.counts.tier("stress");
            callers += CALLERS_PER_ROUND;
            flightsRun += round.flights.size();
            joins += stats.joined.get();
            succeeded += stats.succeeded.get();
            failed += stats.failed.get();
            cancelled += stats.cancelled.get();
            neverRan += round.neverRan.get();
        }
        System.out.printf("stress (%s): seed=%d rounds=%d callers=%d joins=%d works run=%d flights succeeded=%d "
                + "failed=%d cancelled=%d (of which cancelled before their work ran: %d) in %d ms%n", profile.name(),
                seed, rounds, callers, joins, flightsRun, succeeded, failed, cancelled, neverRan,
                (System.nanoTime() - t0) / 1_000_000);
    }

    private Round runRound(Profile profile, long seed, int number, long roundSeed) throws Exception {
        var random = new Random(roundSeed);
        Duration grace = profile.graces().get(random.nextInt(profile.graces().size()));
        boolean pool = random.nextInt(3) == 0;
        int keys = random.nextInt(4) == 0 ? 3 : KEYS; // now and then a few hot keys
        var round = new Round(number, roundSeed, "keys=" + keys + " grace=" + grace
                + (pool ? " executor=4 platform threads" : " executor=virtual thread per flight"));
        ExecutorService executor = pool
                ? Executors.newFixedThreadPool(4, Thread.ofPlatform().daemon().factory())
                : null;
        var builder = SingleFlight.<Integer, Object>builder("stress").grace(grace).listener(round.listener());
        if (executor != null) {
            builder.executor(executor);
        }
        var table = builder.build();
        List<CallerRecord> records = new ArrayList<>(CALLERS_PER_ROUND);
        for (int i = 0; i < CALLERS_PER_ROUND; i++) {
            records.add(new CallerRecord(plan(random, i, keys, profile.stubbornPercent())));
        }
        var gate = new CountDownLatch(1);
        var threads = new ArrayList<Thread>(CALLERS_PER_ROUND);
        for (var record : records) {
            threads.add(Thread.ofVirtual().name("caller-" + record.plan.index()).start(
                    () -> round.call(table, record, gate)));
        }
        gate.countDown();
        long deadline = System.nanoTime() + HANG_GUARD.toNanos();
        for (var thread : threads) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !thread.join(Duration.ofNanos(left))) {
                fail(replay(seed, round) + "caller " + thread.getName() + " hung; unfinished callers: "
                        + records.stream().filter(c -> !c.done).map(c -> c.plan.toString()).limit(10).toList()
                        + "; where they are: " + stacks(threads) + "; live flights: " + listing(table));
            }
        }
        // every started flight reports one outcome; its table entry is gone before that
        var stats = round.counts.tier("stress");
        int leaders = (int) records.stream().filter(c -> !c.joined && c.joinSeq > 0).count();
        if (!round.counts.awaitOutcomes(leaders, HANG_GUARD)) {
            fail(replay(seed, round) + "not every flight ended: " + stats + "; live flights: " + listing(table));
        }
        if (executor != null) {
            executor.shutdown();
            executor.awaitTermination(10, TimeUnit.SECONDS);
        }
        check(round, records, table);
        if (!round.violations.isEmpty()) {
            fail(replay(seed, round) + round.violations.size() + " violations, first ones:\n  "
                    + String.join("\n  ", round.violations.stream().limit(20).toList()));
        }
        return round;
    }

    /** table.flights(), unless it blocks (it takes each flight's monitor, which a deadlock may hold). */
    private static String listing(SingleFlight<Integer, Object> table) {
        var listing = new java.util.concurrent.CompletableFuture<String>();
        Thread.ofVirtual().start(() -> listing.complete(String.valueOf(table.flights())));
        try {
            return listing.get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            return "(flights() blocked; inFlightCount()=" + table.inFlightCount() + ")";
        }
    }

    private static String stacks(List<Thread> threads) {
        return threads.stream().filter(Thread::isAlive).limit(5)
                .map(t -> t.getName() + " " + t.getState() + " "
                        + List.of(t.getStackTrace()).stream().limit(6).toList())
                .toList().toString();
    }

    private static String replay(long seed, Round round) {
        return "[replay: -Dstress.seed=" + seed + ", round " + round.number + " (round seed " + round.roundSeed
                + "), " + round.variant + "] ";
    }

    private static void check(Round round, List<CallerRecord> records, SingleFlight<Integer, Object> table) {
        var stats = round.counts.tier("stress");
        long leaders = records.stream().filter(c -> !c.joined).count();
        long joiners = records.size() - leaders;
        if (round.maxRunning.get() != 1) {
            round.violation("max works running at once for one key = " + round.maxRunning.get());
        }
        if (table.inFlightCount() != 0) {
            round.violation("inFlightCount() = " + table.inFlightCount() + " after every flight ended: "
                    + listing(table));
        }
        if (stats.started.get() != leaders || stats.joined.get() != joiners) {
            round.violation("listener started/joined " + stats + " but callers saw " + leaders + " leaders, "
                    + joiners + " joiners");
        }
        if (stats.outcomes() != stats.started.get()) {
            round.violation("outcomes reported " + stats.outcomes() + " != flights started " + stats.started);
        }
        try {
            if (!round.counts.awaitWaiting("stress", 0, HANG_GUARD)) {
                round.violation("listener waiting sum = " + stats.waiting + ", expected 0");
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        // per key, the flights whose work ran, to check that a caller joins the open flight of its key
        var byKey = new java.util.HashMap<Integer, List<FlightRecord>>();
        round.flights.values().forEach(f -> byKey.computeIfAbsent(f.key, k -> new ArrayList<>()).add(f));
        for (var c : records) {
            var plan = c.plan;
            // Rule 1: a caller whose whole join() fell inside a window where a flight of its key was running and
            // surely open must have joined that flight.
            for (var open : byKey.getOrDefault(plan.key(), List.of())) {
                if (open.startSeq < c.joinSeq && c.joinedSeq < open.openUntil) {
                    boolean gotIt = c.outcome instanceof Tagged t && t.flightId() == open.id;
                    if (!c.joined || c.outcome != null && !gotIt) {
                        round.violation("caller " + plan.index() + " called join() while flight " + open.id
                                + " of key " + plan.key() + " was running and open, but joined=" + c.joined
                                + " outcome=" + c.outcome);
                    }
                }
            }
            boolean leftOnItsOwn = plan.mode() == Mode.CANCEL || plan.mode() == Mode.INTERRUPT
                    || plan.mode() == Mode.DEADLINE;
            if (c.outcome == null) {
                String expected = switch (plan.mode()) {
                    case CANCEL -> "self-cancelled";
                    case INTERRUPT -> "interrupted";
                    case DEADLINE -> "deadline";
                    default -> "a flight's outcome";
                };
                if (!leftOnItsOwn || !expected.equals(c.other)) {
                    round.violation("caller " + plan + " got " + c.other + ", expected " + expected);
                }
                continue;
            }
            if (!(c.outcome instanceof Tagged tagged)) {
                round.violation("caller " + plan + " got an untagged outcome " + c.outcome);
                continue;
            }
            var flight = round.flights.get(tagged.flightId());
            if (flight == null || tagged.key() != plan.key() || flight.key != plan.key()) {
                round.violation("caller " + plan + " got the outcome of flight " + tagged.flightId() + " of key "
                        + tagged.key() + ", not of its key");
                continue;
            }
            Object first = round.firstOutcome.putIfAbsent(tagged.flightId(), c.outcome);
            if (first != null && first != c.outcome) {
                round.violation("flight " + tagged.flightId() + " gave different outcomes: " + first + " / "
                        + c.outcome);
            }
            if (!c.joined && flight.owner != plan.index()) {
                round.violation("leader " + plan.index() + " got flight " + flight.id + " run with caller "
                        + flight.owner + "'s work");
            }
            if (c.joined && flight.owner == plan.index()) {
                round.violation("caller " + plan.index() + " joined (joined()=true) but its own work ran");
            }
            if (c.joinSeq > flight.endedBy.get()) {
                round.violation("caller " + plan.index() + " called join() at seq " + c.joinSeq
                        + " and received flight " + flight.id + ", which had ended by seq " + flight.endedBy);
            }
        }
    }

    private static CallerPlan plan(Random random, int index, int keys, int stubbornPercent) {
        int key = random.nextInt(keys);
        Pause before = pause(random, 30, 5_000);
        int m = random.nextInt(100);
        Mode mode = m < 35 ? Mode.AWAIT : m < 55 ? Mode.FUTURE_GET : m < 75 ? Mode.CANCEL
                : m < 88 ? Mode.INTERRUPT : Mode.DEADLINE;
        Pause leaveAfter = pause(random, 20, 2_000);
        int e = random.nextInt(100);
        WorkEnd end = e < 75 ? WorkEnd.SUCCEED : e < 87 ? WorkEnd.THROW_UNCHECKED : e < 95 ? WorkEnd.THROW_CHECKED
                : WorkEnd.ABORT;
        var work = new WorkPlan(pause(random, 10, 2_000), end, random.nextInt(100) < stubbornPercent,
                random.nextBoolean());
        return new CallerPlan(index, key, before, mode, leaveAfter, work);
    }

    /** No pause with {@code nonePercent}% chance; else some yields, or a sleep of up to {@code maxMicros}. */
    private static Pause pause(Random random, int nonePercent, int maxMicros) {
        int p = random.nextInt(100);
        if (p < nonePercent) {
            return Pause.NONE;
        }
        if (p < nonePercent + (100 - nonePercent) / 2) {
            return new Pause(1 + random.nextInt(20), 0);
        }
        return new Pause(0, random.nextInt(maxMicros));
    }
}

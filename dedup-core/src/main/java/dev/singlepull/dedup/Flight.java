package dev.singlepull.dedup;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * One execution of the work for one key, shared by every caller attached to it.
 *
 * <p>Write-once: {@code key}, {@code work}, {@code shared}, {@code terminated}, {@code startedAt}. Guarded by
 * {@code this}: {@code waiters}, {@code closed}, {@code abortCause}, {@code graceGeneration}, {@code runner},
 * {@code cancelActions}. {@code closed} becomes true exactly once: when the work ends or when the flight is aborted;
 * after that no caller can attach. The table entry is removed only when the work has really stopped
 * ({@code terminated}), so two works for one key never run at once.
 *
 * <p>Lock order: never call into the table while holding this monitor (the table calls {@link #tryAttach} while it
 * holds its bin lock).
 */
final class Flight<K, V> implements FlightContext {
    private final SingleFlight<K, V> table;
    private final K key;
    private final SingleFlight.Work<V> work;
    private final FlightProgress progress = new FlightProgress();
    final CompletableFuture<V> shared = new CompletableFuture<>();
    /** Callers still attached; one leaving is dropped at once, so it holds no memory while the work goes on. */
    private final Set<Call<V>> calls = ConcurrentHashMap.newKeySet();
    final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private volatile Instant startedAt;

    private int waiters;
    private boolean closed;
    private SinglepullException abortCause;
    private long graceGeneration;
    private Thread runner;
    private List<Runnable> cancelActions = new ArrayList<>();

    Flight(SingleFlight<K, V> table, K key, SingleFlight.Work<V> work) {
        this.table = table;
        this.key = key;
        this.work = work;
        shared.whenComplete((value, error) -> calls.forEach(call -> call.deliver(value, error)));
    }

    /** Hands {@code call} the outcome when there is one (now, if the flight has already ended). */
    void register(Call<V> call) {
        calls.add(call);
        if (shared.isDone()) {
            shared.whenComplete(call::deliver); // delivery is idempotent: the loop above may deliver too
        }
    }

    void unregister(Call<V> call) {
        calls.remove(call);
    }

    K key() {
        return key;
    }

    /** Attaches one more caller; false when the flight has ended or was aborted. */
    synchronized boolean tryAttach() {
        if (closed) {
            return false;
        }
        waiters++;
        graceGeneration++;
        return true;
    }

    /**
     * Starts the work on the table's executor once {@code predecessor} (the previous flight of this key, cancelled
     * but perhaps still unwinding) has stopped.
     */
    void start(CompletableFuture<Void> predecessor) {
        startedAt = table.clock().instant();
        if (predecessor == null) {
            table.executor().execute(this::run);
        } else {
            predecessor.whenComplete((ignored, error) -> table.executor().execute(this::run));
        }
    }

    private void run() {
        boolean closedBeforeStart;
        synchronized (this) {
            closedBeforeStart = closed;
            if (!closedBeforeStart) {
                runner = Thread.currentThread();
            }
        }
        if (closedBeforeStart) {
            finish(null, null); // outside the monitor: finish() calls into the table (see the lock order above)
            return;
        }
        V value = null;
        Throwable failure = null;
        try {
            value = work.run(this);
        } catch (Throwable t) {
            failure = t;
        } finally {
            synchronized (this) {
                runner = null;
                Thread.interrupted(); // an abort's interrupt must not leak into the executor's next task
            }
        }
        finish(value, failure);
    }

    private void finish(V value, Throwable failure) {
        SinglepullException aborted;
        synchronized (this) {
            aborted = abortCause;
            closed = true;
        }
        table.remove(key, this);
        if (aborted != null) {
            // Callers were already told (see abort); the work's own exception is an echo of the abort.
            table.outcome(aborted);
        } else if (failure != null) {
            Throwable cause = unwrap(failure);
            if (cause instanceof CancellationException ce) {
                // A future would take this as each caller's own cancel; make it the flight's failure instead.
                cause = new SinglepullException(ErrorKind.CANCELLED, "the work of " + table.tier() + " flight "
                        + key + " was cancelled: " + ce.getMessage(), ce);
            }
            table.outcome(cause);
            shared.completeExceptionally(cause);
        } else {
            table.outcome(null);
            shared.complete(value);
        }
        terminated.complete(null);
    }

    /** Called by a caller that leaves before the flight ends. */
    void detach() {
        long generation;
        synchronized (this) {
            waiters--;
            if (waiters > 0 || closed) {
                return;
            }
            generation = ++graceGeneration;
        }
        table.lastWaiterLeft(this, generation);
    }

    /** Cancels the work if, since {@code generation} was taken, nobody attached. Called after the grace. */
    void cancelIfAbandoned(long generation) {
        synchronized (this) {
            if (closed || waiters > 0 || graceGeneration != generation) {
                return;
            }
        }
        abortIf(new SinglepullException(ErrorKind.CANCELLED,
                "every caller of " + table.tier() + " flight " + key + " went away"), generation);
    }

    @Override
    public void abort(SinglepullException cause) {
        abortIf(cause, -1);
    }

    private void abortIf(SinglepullException cause, long requiredGeneration) {
        List<Runnable> actions;
        synchronized (this) {
            if (closed || requiredGeneration >= 0 && (waiters > 0 || graceGeneration != requiredGeneration)) {
                return;
            }
            closed = true;
            abortCause = cause;
            actions = cancelActions;
            cancelActions = List.of();
            if (runner != null) {
                runner.interrupt();
            }
        }
        shared.completeExceptionally(cause);
        for (Runnable action : actions) {
            runQuietly(action);
        }
    }

    @Override
    public FlightProgress progress() {
        return progress;
    }

    @Override
    public synchronized boolean isCancelled() {
        return abortCause != null;
    }

    @Override
    public void throwIfCancelled() {
        SinglepullException cause;
        synchronized (this) {
            cause = abortCause;
        }
        if (cause != null) {
            throw cause;
        }
    }

    @Override
    public void onCancel(Runnable action) {
        synchronized (this) {
            if (abortCause == null) {
                cancelActions.add(action);
                return;
            }
        }
        runQuietly(action);
    }

    synchronized int waiters() {
        return waiters;
    }

    Instant startedAt() {
        return startedAt;
    }

    private static void runQuietly(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException ignored) {
            // a cancel action failing must not stop the others
        }
    }

    /** The original cause, not the wrappers that futures and executors add around it. */
    static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }
}

package dev.singlepull.dedup;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One caller's handle on a flight. Each caller has its own: cancelling it (or its future) detaches only this
 * caller; the work goes on for the others. Thread-safe.
 */
public final class Call<V> {
    private final Flight<?, V> flight;
    private final boolean joined;
    private final CompletableFuture<V> result = new CompletableFuture<>();
    private final AtomicBoolean left = new AtomicBoolean();
    private volatile boolean delivered;

    Call(Flight<?, V> flight, boolean joined, Runnable onLeave) {
        this.flight = flight;
        this.joined = joined;
        result.whenComplete((value, error) -> {
            if (left.compareAndSet(false, true)) {
                onLeave.run();
                flight.unregister(this);
                if (!delivered) {
                    // completed by the caller itself (cancel, a timeout, a manual completion): it has left
                    flight.detach();
                }
            }
        });
    }

    /** Called once the call is fully built: attaches it to its flight's outcome. */
    Call<V> attach() {
        flight.register(this);
        return this;
    }

    /** The flight's outcome reaches this caller. Idempotent. */
    void deliver(V value, Throwable error) {
        delivered = true;
        if (error == null) {
            result.complete(value);
        } else {
            result.completeExceptionally(error);
        }
    }

    /** True if this caller joined work another caller had started (a dedup hit). */
    public boolean joined() {
        return joined;
    }

    /** This caller's own future: completes with the flight's result or failure; cancelling it detaches the caller. */
    public CompletableFuture<V> future() {
        return result;
    }

    /** The flight's progress, shared by every caller. */
    public FlightProgress progress() {
        return flight.progress();
    }

    /** Detaches this caller. The work continues while other callers wait, and for the table's grace after that. */
    public void cancel() {
        result.cancel(false);
    }

    /**
     * Waits for the flight's result. Rethrows the flight's failure itself (every caller receives the same
     * exception); a checked failure arrives wrapped in a {@link SinglepullException} of kind INTERNAL. If the waiting
     * thread is interrupted, this caller detaches and a CANCELLED error is thrown, with the interrupt status kept.
     */
    public V await() {
        try {
            return result.get();
        } catch (InterruptedException e) {
            cancel();
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while waiting for a shared flight", e);
        } catch (java.util.concurrent.CancellationException e) {
            throw new SinglepullException(ErrorKind.CANCELLED, "this caller cancelled its wait", e);
        } catch (ExecutionException e) {
            Throwable cause = Flight.unwrap(e);
            if (cause instanceof java.util.concurrent.TimeoutException && !delivered) {
                throw new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "this caller's deadline passed", cause);
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw SinglepullException.internal(String.valueOf(cause.getMessage()), cause);
        }
    }
}

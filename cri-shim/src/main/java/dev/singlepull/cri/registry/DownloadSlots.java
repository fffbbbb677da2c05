package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Resilience4j bulkhead per registry: at most {@code perHost} blob downloads from one registry (its mirrors
 * included) at once. Callers wait, in order, for a slot; an interrupted wait is CANCELLED. Thread-safe.
 */
final class DownloadSlots {
    private final BulkheadConfig config;
    private final ConcurrentHashMap<String, Bulkhead> bulkheads = new ConcurrentHashMap<>();

    DownloadSlots(int perHost) {
        this.config = BulkheadConfig.custom()
                .maxConcurrentCalls(perHost)
                .maxWaitDuration(Duration.ofDays(1))
                .fairCallHandlingStrategyEnabled(true)
                .build();
    }

    RegistryClient.Slot acquire(String registry) {
        Bulkhead bulkhead = bulkheads.computeIfAbsent(registry, r -> Bulkhead.of(r, config));
        try {
            bulkhead.acquirePermission();
        } catch (BulkheadFullException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new SinglepullException(ErrorKind.CANCELLED,
                        "cancelled while waiting for a download slot of " + registry, e);
            }
            throw new SinglepullException(ErrorKind.UNAVAILABLE,
                    "no download slot of " + registry + " came free in a day", e);
        }
        AtomicBoolean released = new AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                bulkhead.onComplete();
            }
        };
    }
}

package dev.singlepull.cri.metrics;

import dev.singlepull.dedup.FlightListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Binds flight events to Micrometer: counters {@code singlepull_flights_started}, {@code _joined},
 * {@code _succeeded}, {@code _failed}, {@code _cancelled} and gauge {@code singlepull_flights_waiting}, each tagged
 * {@code tier=ref|blob|chain}. Thread-safe.
 */
public final class FlightMetrics implements FlightListener {
    private final MeterRegistry registry;
    private final Map<String, AtomicInteger> waiting = new ConcurrentHashMap<>();

    public FlightMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (String tier : new String[] {"ref", "blob", "chain"}) {
            waiting(tier);
            for (String event : new String[] {"started", "joined", "succeeded", "failed", "cancelled"}) {
                counter(event, tier);
            }
        }
    }

    private Counter counter(String event, String tier) {
        return Counter.builder("singlepull.flights." + event)
                .description("flights " + event + ", per tier")
                .tag("tier", tier)
                .register(registry);
    }

    private AtomicInteger waiting(String tier) {
        return waiting.computeIfAbsent(tier, t -> {
            AtomicInteger value = new AtomicInteger();
            Gauge.builder("singlepull.flights.waiting", value, AtomicInteger::get)
                    .description("callers waiting on flights, per tier")
                    .tag("tier", t)
                    .register(registry);
            return value;
        });
    }

    @Override
    public void started(String tier) {
        counter("started", tier).increment();
    }

    @Override
    public void joined(String tier) {
        counter("joined", tier).increment();
    }

    @Override
    public void succeeded(String tier) {
        counter("succeeded", tier).increment();
    }

    @Override
    public void failed(String tier, Throwable cause) {
        counter("failed", tier).increment();
    }

    @Override
    public void cancelled(String tier) {
        counter("cancelled", tier).increment();
    }

    @Override
    public void waitersChanged(String tier, int delta) {
        waiting(tier).addAndGet(delta);
    }
}

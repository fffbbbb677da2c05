package dev.singlepull.cri.metrics;

import dev.singlepull.cri.registry.RegistryListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Binds the registry client's events to Micrometer counters tagged {@code host}:
 * {@code singlepull_registry_retries_total} (requests sent again after a connection error, 429 or 5xx),
 * {@code singlepull_registry_fallbacks_total} (mirrors that failed, so the next endpoint was tried),
 * {@code singlepull_registry_circuit_opened_total} and {@code singlepull_registry_resumes_total} (blob downloads
 * continued with a range). Thread-safe.
 */
public final class RegistryMetrics implements RegistryListener {
    private final MeterRegistry registry;

    public RegistryMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    private void count(String name, String description, String host) {
        Counter.builder("singlepull.registry." + name).description(description).tag("host", host)
                .register(registry).increment();
    }

    @Override
    public void retried(String host) {
        count("retries", "registry requests sent again after a connection error, 429 or 5xx", host);
    }

    @Override
    public void fellBack(String mirror) {
        count("fallbacks", "mirror requests that failed over to the next endpoint", mirror);
    }

    @Override
    public void circuitOpened(String host) {
        count("circuit.opened", "times a registry host's circuit breaker opened from closed", host);
    }

    @Override
    public void resumed(String host, long offset) {
        count("resumes", "blob downloads continued with a range request", host);
    }
}

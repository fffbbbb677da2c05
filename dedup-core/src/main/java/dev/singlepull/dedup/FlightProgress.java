package dev.singlepull.dedup;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Progress that a flight's work publishes and that every caller, and any listing of live flights, can read.
 * Thread-safe: the work writes, anyone reads; readers see each field atomically, not the three together.
 */
public final class FlightProgress {
    private volatile String phase = "waiting";
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong total = new AtomicLong(-1);
    private final Map<String, FlightProgress> parts = Collections.synchronizedMap(new LinkedHashMap<>());

    /** A finished piece of work of {@code bytes} bytes, shown as {@code phase} (for example "already exists"). */
    public static FlightProgress finished(String phase, long bytes) {
        FlightProgress p = new FlightProgress();
        p.phase(phase);
        p.total(bytes);
        p.done(bytes);
        return p;
    }

    /** What the work is doing now, in a word or two ("resolving", "downloading", "unpacking"). */
    public void phase(String phase) {
        this.phase = phase;
    }

    /** The total bytes expected, or -1 when unknown. */
    public void total(long bytes) {
        total.set(bytes);
    }

    /** Adds {@code bytes} to the bytes done. */
    public void advance(long bytes) {
        done.addAndGet(bytes);
    }

    /** Sets the bytes done (for work that resumes from an offset). */
    public void done(long bytes) {
        done.set(bytes);
    }

    /**
     * Shows {@code part}'s progress under {@code name} as a part of this one (a layer of a pull), replacing what was
     * shown under that name before. Parts are listed in the order their names first appeared.
     */
    public void part(String name, FlightProgress part) {
        parts.put(name, part);
    }

    /** The parts' current readings, by name, in the order their names first appeared. */
    public Map<String, Snapshot> parts() {
        synchronized (parts) {
            Map<String, Snapshot> out = new LinkedHashMap<>();
            parts.forEach((name, p) -> out.put(name, p.snapshot()));
            return out;
        }
    }

    public Snapshot snapshot() {
        return new Snapshot(phase, done.get(), total.get());
    }

    /** One reading of a flight's progress. {@code total} is -1 when unknown. */
    public record Snapshot(String phase, long done, long total) { }
}

package dev.singlepull.dedup;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * The minimum rate a flight's work must keep: while its progress is in one of {@code phases}, a flight whose bytes
 * done grow by less than {@code minBytesPerSecond} over {@code window} is aborted with DEADLINE_EXCEEDED, so a
 * trickle of bytes cannot hold its callers for an hour. Phases outside the set (waiting for a permit, verifying)
 * are never judged.
 */
public record StallPolicy(long minBytesPerSecond, Duration window, Set<String> phases) {
    public StallPolicy {
        Objects.requireNonNull(window, "window");
        phases = Set.copyOf(phases);
        if (minBytesPerSecond <= 0 || window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("a stall policy needs a positive rate and window: "
                    + minBytesPerSecond + " B/s over " + window);
        }
    }

    /** How often the watchdog samples: five times per window, at least every 10 s, at most every 50 ms. */
    Duration period() {
        long millis = Math.clamp(window.toMillis() / 5, 50, 10_000);
        return Duration.ofMillis(millis);
    }
}

package dev.singlepull.content.local;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One holder per ingest ref, failing fast instead of waiting: a safety net behind the per-digest singleflight of
 * the pull pipeline. The error names the ref and how long the lock has been held, which tells a stuck writer (long)
 * from plain contention (short). Thread-safe.
 */
final class RefLocks {
    private final ConcurrentHashMap<String, Held> held = new ConcurrentHashMap<>();
    private final Clock clock;

    RefLocks(Clock clock) {
        this.clock = clock;
    }

    /** Takes the lock of {@code ref}; UNAVAILABLE if it is held. */
    Held acquire(String ref) {
        return tryAcquire(ref).orElseThrow(() -> {
            Held other = held.get(ref);
            String age = other == null ? "just released"
                    : "held for " + Duration.between(other.since, clock.instant()).toMillis() + " ms";
            return new SinglepullException(ErrorKind.UNAVAILABLE,
                    "ingest ref '" + ref + "' is locked by another writer (" + age + ")");
        });
    }

    /** Takes the lock of {@code ref}, or returns empty if it is held. */
    Optional<Held> tryAcquire(String ref) {
        Held mine = new Held(ref, clock.instant());
        return held.putIfAbsent(ref, mine) == null ? Optional.of(mine) : Optional.empty();
    }

    /** How many refs are locked now. */
    int size() {
        return held.size();
    }

    /** A held lock; {@link #close()} releases it, once. */
    final class Held implements AutoCloseable {
        private final String ref;
        private final Instant since;

        private Held(String ref, Instant since) {
            this.ref = ref;
            this.since = since;
        }

        @Override
        public void close() {
            held.remove(ref, this);
        }
    }
}

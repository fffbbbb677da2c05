package dev.singlepull.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.it.PartsCrashIT;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The long variant of {@link PartsCrashIT}: more seeded rounds of SIGKILL during parallel part writes (and during
 * their resume) on a bigger layer; prints each round's bytes and the rounds survived. Run with
 * {@code scripts/bench.sh -Dtest=CrashRoundsBench} ({@code -Dcrash.rounds}, {@code -Dcrash.seed},
 * {@code -Dcrash.dataBytes}).
 */
class CrashRoundsBench {
    @TempDir
    Path dir;

    @Test
    void manyCrashRounds() throws Exception {
        int rounds = Integer.getInteger("crash.rounds", 12);
        long seed = Long.getLong("crash.seed", PartsCrashIT.DEFAULT_SEED);
        int dataBytes = Integer.getInteger("crash.dataBytes", 24_000_000);
        assertEquals(rounds, PartsCrashIT.run(dir, seed, rounds, dataBytes, false).survived());
    }
}

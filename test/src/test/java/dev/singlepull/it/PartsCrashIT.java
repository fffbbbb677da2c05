package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.admin.v1.FsckFinding;
import dev.singlepull.api.admin.v1.FsckRequest;
import dev.singlepull.api.admin.v1.FsckResponse;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.ServiceProcess;
import dev.singlepull.it.fixture.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL while a big blob downloads as parallel ranges written at their offsets, and the layer unpacks from the
 * ingest as it grows: the data file then has holes, and the resume must know which bytes are really written. Each
 * round pulls a new image through a throttling proxy into a service whose parts are small (so a 6 MB layer is 24
 * parts on 4 streams), kills it at a random moment of the pull, and on odd rounds kills the restarted service again
 * during its resume. A last service on the same root must then complete the pull with the image verified (blob
 * digests and DiffIDs), find its store consistent, and the registry must have served less than 1.3x the image. A
 * round with a server that ignores ranges must end the same way (its bytes are printed, not bounded: such a server
 * sends the whole blob again).
 *
 * <p>Seeded: {@code -Dcrash.seed=N} replays a run; {@code -Dcrash.rounds=N} sets the rounds (default 2, CI-sized);
 * {@code CrashRoundsBench} runs the long variant.
 */
@Timeout(900)
public class PartsCrashIT {
    public static final long DEFAULT_SEED = 20_261_204L;
    private static final int DATA_BYTES = 6_000_000;
    /** Per range response; 4 streams make a 6 MB layer take about 1 s. */
    private static final long BYTES_PER_SECOND = 1_500_000;
    private static final int PART_BYTES = 256 * 1024;

    @TempDir
    Path dir;

    @Test
    void sigkillDuringPartsAndDuringTheirResumeLosesNothing() throws Exception {
        long seed = Long.getLong("crash.seed", DEFAULT_SEED);
        int rounds = Integer.getInteger("crash.rounds", 2);
        Summary summary = run(dir, seed, rounds, DATA_BYTES, false);
        assertEquals(rounds, summary.survived);
    }

    @Test
    void sigkillWhileAServerIgnoresRangesLosesNothing() throws Exception {
        Summary summary = run(dir, Long.getLong("crash.seed", DEFAULT_SEED) + 1, 1, DATA_BYTES, true);
        assertEquals(1, summary.survived);
    }

    /** What a run of crash rounds did. */
    public record Summary(int survived, List<String> lines) { }

    /**
     * Runs {@code rounds} crash rounds under {@code dir} and asserts each; prints a line per round and the rounds
     * survived. {@code ignoreRanges}: the proxy sends whole blobs for range requests.
     */
    public static Summary run(Path dir, long seed, int rounds, int dataBytes, boolean ignoreRanges) throws Exception {
        Random random = new Random(seed);
        System.out.println("parts crash seed: " + seed + " (replay with -Dcrash.seed=" + seed + "), rounds: " + rounds
                + (ignoreRanges ? ", the server ignores ranges" : ""));
        Path root = dir.resolve("root");
        Path socket = dir.resolve("cri.sock");
        Path log = dir.resolve("service.log");
        Path config = dir.resolve("config.toml");
        Files.writeString(config, "parallel_parts_per_blob = 4\nparallel_part_bytes = " + PART_BYTES + "\n");
        String[] serve = {"--config", config.toString()};
        int survived = 0;
        List<String> lines = new ArrayList<>();
        try (RegistryProcess registry = RegistryProcess.start();
             ProxyServer proxy = ProxyServer.start(registry);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            proxy.throttle(ProxyServer.blobs(), BYTES_PER_SECOND);
            proxy.ignoreRanges(ignoreRanges);
            ServiceProcess service = ServiceProcess.start(root, socket, log, serve);
            try {
                for (int round = 1; round <= rounds; round++) {
                    String name = "parts-crash/r" + round;
                    PushedImage image = TestImages.push(registry,
                            SmallImages.of(name, "v1", seed * 100 + round, dataBytes));
                    String ref = proxy.hostPort() + "/" + name + ":v1";
                    long expectedMs = dataBytes / (ignoreRanges ? BYTES_PER_SECOND : 4 * BYTES_PER_SECOND) * 1000;
                    List<String> kills = new ArrayList<>();
                    int killsThisRound = round % 2 == 1 ? 2 : 1; // odd rounds: a second kill during the resume
                    for (int k = 0; k < killsThisRound; k++) {
                        // from when the parts are under way (the first answers take a few hundred ms) to near the end
                        long killAfter = 250 + random.nextLong(Math.max(200, expectedMs * 3 / 4));
                        kills.add(killAfter + " ms (" + killDuring(service, pool, ref, killAfter) + ")");
                        assertFsckClean(root, socket, round, seed);
                        service = ServiceProcess.start(root, socket, log, serve);
                    }
                    try (CriClient again = service.client()) {
                        assertEquals(image.configDigest(), again.images().pullImage(Cri.pull(ref)).getImageRef(),
                                "round " + round + " (seed " + seed + "): the pull after SIGKILL at " + kills
                                        + " completes; log:\n" + tail(log));
                        FsckResponse online = again.admin().fsck(FsckRequest.getDefaultInstance());
                        assertTrue(online.getFindingsList().stream().noneMatch(FsckFinding::getProblem),
                                "round " + round + ": the service finds its store consistent: " + online);
                    }
                    long served = 0;
                    for (String blob : image.layerAndConfigDigests()) {
                        served += proxy.bytesServed(blob);
                    }
                    double ratio = (double) served / image.totalSize();
                    if (!ignoreRanges) {
                        assertTrue(ratio < 1.3, "round " + round + ": " + served + " bytes downloaded across "
                                + kills + " for a " + image.totalSize() + "-byte image (seed " + seed + ")");
                    }
                    survived++;
                    String line = String.format(Locale.ROOT, "round %d: SIGKILL after %s; fsck consistent; pull "
                                    + "completed; %d of %d bytes downloaded (%.2fx)", round, String.join(", then ", kills),
                            served, image.totalSize(), ratio);
                    lines.add(line);
                    System.out.println(line);
                }
            } finally {
                service.close();
            }
        } finally {
            System.out.println("parts crash rounds survived: " + survived + "/" + rounds + " (seed " + seed + ")");
        }
        return new Summary(survived, lines);
    }

    /** Starts a pull of {@code ref}, SIGKILLs {@code service} {@code killAfter} ms later, says how the pull stood. */
    private static String killDuring(ServiceProcess service, ExecutorService pool, String ref, long killAfter)
            throws InterruptedException {
        CriClient client = service.client();
        Future<String> pull = pool.submit(() -> client.images().pullImage(Cri.pull(ref)).getImageRef());
        try {
            pull.get(killAfter, TimeUnit.MILLISECONDS);
            return "the pull had finished";
        } catch (ExecutionException e) {
            return "the pull failed first: " + e.getCause();
        } catch (TimeoutException e) {
            return "mid-pull";
        } finally {
            service.kill();
            try {
                pull.get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                pull.cancel(true);
            }
            client.close();
        }
    }

    private static void assertFsckClean(Path root, Path socket, int round, long seed) {
        ServiceProcess.Result offline = ServiceProcess.cli("fsck", "--root", root.toString(),
                "--socket", socket.toString());
        assertEquals(0, offline.exit(), "round " + round + " (seed " + seed + "): store consistent after SIGKILL:\n"
                + offline.output());
    }


    private static String tail(Path log) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}

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
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety, proven on the real thing: {@code bin/singlepull serve} runs as its own process and is killed with
 * SIGKILL at a random moment of a pull (the registry sits behind a throttling proxy, so a pull takes a few seconds:
 * the kill lands while layers download, unpack or commit). Then, each round: {@code singlepull fsck} on the root
 * (no service running) must find it consistent; a new service on the same root must finish the pull; the bytes the
 * registry served for the image across the crash must stay below 1.3x its size, because downloads resume from their
 * ingests; and the check through the new service (Admin {@code Fsck}, as {@code singlepull fsck} asks it) must agree. Every round pulls a new image onto the same root, so
 * later rounds also start from what earlier crashes left.
 *
 * <p>Seeded: {@code -Dcrash.seed=N} replays a run, {@code -Dcrash.rounds=N} sets the rounds (default 4, under a
 * minute; each round costs about 12 s, mostly three JVM starts).
 */
@Timeout(900)
class CrashSafetyIT {
    private static final long DEFAULT_SEED = 20_261_105L;
    private static final long IMAGE_BYTES = 2_200_000;
    /** Per blob response: the 1.8 MB top layer takes about 1.8 s, the others less, in parallel. */
    private static final long BYTES_PER_SECOND = 1_000_000;
    /** Kills during the downloads land this many ms after the pull starts, at most. */
    private static final int DOWNLOAD_WINDOW_MS = 1_800;
    /** Kills after the downloads land this many ms after the last layer byte was served, at most. */
    private static final int COMMIT_WINDOW_MS = 120;

    @TempDir
    Path dir;

    @Test
    void sigkillAtRandomPointsOfPullsLeavesAConsistentStoreAndThePullResumes() throws Exception {
        long seed = Long.getLong("crash.seed", DEFAULT_SEED);
        int rounds = Integer.getInteger("crash.rounds", 4);
        Random random = new Random(seed);
        System.out.println("crash seed: " + seed + " (replay with -Dcrash.seed=" + seed + "), rounds: " + rounds);
        Path root = dir.resolve("root");
        Path socket = dir.resolve("cri.sock");
        Path log = dir.resolve("service.log");
        int survived = 0;
        List<String> summary = new ArrayList<>();
        try (RegistryProcess registry = RegistryProcess.start();
             ProxyServer proxy = ProxyServer.start(registry);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            proxy.throttle(ProxyServer.blobs(), BYTES_PER_SECOND);
            ServiceProcess service = ServiceProcess.start(root, socket, log);
            try {
                for (int round = 1; round <= rounds; round++) {
                    PushedImage image = TestImages.push(registry,
                            TestImages.sampleImage("crash/r" + round, "v1", IMAGE_BYTES, seed * 100 + round));
                    String ref = proxy.hostPort() + "/crash/r" + round + ":v1";
                    // odd rounds kill while layers download, even rounds while the last one unpacks and commits
                    boolean duringDownload = round % 2 == 1;
                    long killAfter = duringDownload ? 50 + random.nextInt(DOWNLOAD_WINDOW_MS)
                            : random.nextInt(COMMIT_WINDOW_MS);
                    String when = duringDownload ? killAfter + " ms into the pull"
                            : killAfter + " ms after the last layer byte";

                    CriClient client = service.client();
                    long started = System.nanoTime();
                    Future<String> pull = pool.submit(() -> client.images().pullImage(Cri.pull(ref)).getImageRef());
                    if (!duringDownload) {
                        String top = image.layerDigests().getLast();
                        long size = image.compressedSizes().getLast();
                        while (proxy.bytesServed(top) < size && !pull.isDone()
                                && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(60)) {
                            Thread.sleep(5);
                        }
                    }
                    Thread.sleep(killAfter);
                    service.kill();
                    String interrupted = outcome(pull);
                    client.close();

                    ServiceProcess.Result offline = ServiceProcess.cli("fsck", "--root", root.toString(),
                            "--socket", socket.toString());
                    System.out.print(indent("fsck after the kill", offline.output()));
                    assertEquals(0, offline.exit(), "round " + round + ": store consistent after SIGKILL " + when
                            + " (seed " + seed + "):\n" + offline.output());
                    assertTrue(offline.output().contains("no service running"), offline.output());

                    service = ServiceProcess.start(root, socket, log);
                    try (CriClient again = service.client()) {
                        assertEquals(image.configDigest(), again.images().pullImage(Cri.pull(ref)).getImageRef());
                        FsckResponse online = again.admin().fsck(FsckRequest.getDefaultInstance());
                        assertTrue(online.getFindingsList().stream().noneMatch(FsckFinding::getProblem),
                                "round " + round + ": the service finds its store consistent: " + online);
                        assertEquals(round, online.getImagesChecked() / 2, "two names per image: " + online);
                    }
                    long served = 0;
                    for (String blob : image.layerAndConfigDigests()) {
                        served += proxy.bytesServed(blob);
                    }
                    double ratio = (double) served / image.totalSize();
                    assertTrue(ratio < 1.3, "round " + round + ": " + served + " bytes downloaded across the crash "
                            + "for a " + image.totalSize() + "-byte image (seed " + seed + ")");

                    survived++;
                    String line = String.format(Locale.ROOT, "round %d: SIGKILL %s (pull: %s); fsck consistent; "
                                    + "pull completed; %d of %d bytes downloaded (%.2fx)", round, when, interrupted,
                            served, image.totalSize(), ratio);
                    summary.add(line);
                    System.out.println(line);
                }
            } finally {
                service.close();
            }
        } finally {
            summary.forEach(System.out::println);
            System.out.println("crash rounds survived: " + survived + "/" + rounds + " (seed " + seed + ")");
        }
    }

    /** How the pull in flight ended when its service was killed. */
    private static String outcome(Future<String> pull) throws InterruptedException {
        try {
            pull.get(30, TimeUnit.SECONDS);
            return "had finished";
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause() instanceof StatusRuntimeException sre
                    ? "cut off, " + sre.getStatus().getCode() : "cut off, " + e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            pull.cancel(true);
            return "no answer";
        }
    }


    private static String indent(String title, String text) {
        StringBuilder out = new StringBuilder(title).append(":\n");
        text.lines().forEach(l -> out.append("    ").append(l).append('\n'));
        return out.toString();
    }
}

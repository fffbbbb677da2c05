package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.admin.v1.ListFlightsRequest;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ProxyServer;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Shared flights seen from callers over the real socket, with a throttling proxy between service and registry so
 * that a pull stays in flight while the test acts: the stall watchdog, credential isolation of the ref tier, a
 * leader whose deadline passes, and progress shared by two clients.
 */
@Timeout(180)
class SharedFlightIT {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();

    @Test
    void aStalledDownloadFailsEveryWaiterWithDeadlineExceededAndTheRetryResumes() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start();
             ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start(b -> b
                     .minTransferRate(100_000).stallWindow(Duration.ofSeconds(2)))) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/stall", "v1", 1_500_000, 71));
            String ref = proxy.hostPort() + "/it/stall:v1";
            String bigLayer = image.layerDigests().getLast();
            proxy.throttle(ProxyServer.blob(bigLayer), 20_000); // 20 kB/s: a trickle, far below 100 kB/s

            List<Future<String>> callers = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); CriClient cri = server.client()) {
                for (int i = 0; i < 3; i++) {
                    callers.add(pool.submit(() -> cri.images().pullImage(Cri.pull(ref)).getImageRef()));
                }
                for (Future<String> caller : callers) {
                    var failure = assertThrows(ExecutionException.class, caller::get);
                    var status = ((StatusRuntimeException) failure.getCause()).getStatus();
                    assertEquals(Status.Code.DEADLINE_EXCEEDED, status.getCode(), status.toString());
                    assertTrue(status.getDescription().contains(bigLayer), status.getDescription());
                    assertTrue(status.getDescription().contains("B/s"), status.getDescription());
                }
                long servedBeforeRetry = proxy.bytesServed(bigLayer);
                assertTrue(servedBeforeRetry > 0, "the trickle had started");

                proxy.clearFaults();
                assertEquals(image.configDigest(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
            }
            long layerSize = image.compressedSizes().getLast();
            assertTrue(proxy.bytesServed(bigLayer) < layerSize * 13 / 10,
                    "the retry resumed the partial download: " + proxy.bytesServed(bigLayer) + " bytes served for a "
                            + layerSize + "-byte layer");
        }
    }

    @Test
    void wrongOrMissingCredentialsDoNotRideOnAPullInFlightWithGoodOnes() throws Exception {
        try (RegistryProcess registry = RegistryProcess.startWithHtpasswd("alice", "right-pass");
             ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("team/secret", "v1", 800_000, 72));
            String ref = proxy.hostPort() + "/team/secret:v1";
            proxy.throttle(ProxyServer.blobs(), 200_000);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); CriClient cri = server.client()) {
                Future<String> good = pool.submit(() ->
                        cri.images().pullImage(Cri.pull(ref, "alice", "right-pass")).getImageRef());
                awaitTrue(() -> proxy.requestCount(ProxyServer.blobs()) > 0, "the good pull is downloading");

                var wrong = assertThrows(StatusRuntimeException.class,
                        () -> cri.images().pullImage(Cri.pull(ref, "alice", "wrong-pass")));
                assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
                var anonymous = assertThrows(StatusRuntimeException.class,
                        () -> cri.images().pullImage(Cri.pull(ref)));
                assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode());
                assertFalse(good.isDone(), "the refusals came while the good pull was still in flight");

                assertEquals(image.configDigest(), good.get(60, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void aLeaderWhoseDeadlinePassesLeavesTheSharedPullToTheOthers() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start();
             ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/deadline", "v1", 1_000_000, 73));
            String ref = proxy.hostPort() + "/it/deadline:v1";
            proxy.throttle(ProxyServer.blobs(), 400_000); // about 2.5 s for the whole image
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); CriClient cri = server.client()) {
                Future<String> leader = pool.submit(() -> cri.images().withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                        .pullImage(Cri.pull(ref)).getImageRef());
                awaitTrue(() -> proxy.requestCount(ProxyServer.blobs()) > 0, "the leader's pull is downloading");
                Future<String> follower = pool.submit(() -> cri.images().pullImage(Cri.pull(ref)).getImageRef());

                var failure = assertThrows(ExecutionException.class, leader::get);
                assertEquals(Status.Code.DEADLINE_EXCEEDED,
                        ((StatusRuntimeException) failure.getCause()).getStatus().getCode());
                assertEquals(image.configDigest(), follower.get(60, TimeUnit.SECONDS));
            }
            for (String blob : image.layerDigests()) {
                assertEquals(1, proxy.requestCount(ProxyServer.blob(blob)), "blob " + blob + " fetched once");
            }
        }
    }

    @Test
    void twoPullCommandsOfOneImageShowTheSameSharedProgress() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start();
             ProxyServer proxy = ProxyServer.start(registry);
             SinglepullServer server = SinglepullServer.start()) {
            PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/progress", "v1", 1_000_000, 74));
            String ref = proxy.hostPort() + "/it/progress:v1";
            proxy.throttle(ProxyServer.blobs(), 300_000);
            // the big layer holds after 200 kB until the second command has joined: however long its JVM takes to
            // start, the first pull cannot finish before it (it did, on a busy machine, with the throttle alone)
            proxy.stallAfter(ProxyServer.blob(image.layerDigests().getLast()), 200_000);
            Process first = pullCommand(server, ref);
            awaitTrue(() -> proxy.requestCount(ProxyServer.blobs()) > 0, "the first pull is downloading");
            Process second = pullCommand(server, ref);
            try (CriClient cri = server.client()) {
                awaitTrue(() -> cri.admin().listFlights(ListFlightsRequest.newBuilder().setTier("ref").build())
                        .getFlightsList().stream().anyMatch(f -> f.getWaiters() == 2), "both callers wait on one flight");
            }
            proxy.faults().unstall();
            for (Process p : List.of(first, second)) {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), out);
                assertTrue(out.contains("Image is up to date for " + image.configDigest()), out);
                for (String layer : image.layerDigests()) {
                    String shortName = layer.substring("sha256:".length(), "sha256:".length() + 12);
                    assertTrue(out.contains(shortName + ": Pull complete"), "layer " + shortName + " in:\n" + out);
                }
                assertTrue(out.contains(": Downloading"), "progress was shown while downloading:\n" + out);
            }
        }
    }

    private static Process pullCommand(SinglepullServer server, String ref) throws Exception {
        return new ProcessBuilder(PROJECT.resolve("bin/singlepull").toString(), "pull", "--socket",
                server.socket().toString(), ref).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }
}

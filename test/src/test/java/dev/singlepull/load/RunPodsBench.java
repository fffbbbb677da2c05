package dev.singlepull.load;

import dev.singlepull.api.admin.v1.CollectGarbageRequest;
import dev.singlepull.api.cri.v1.ContainerState;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.BusyboxImages;
import dev.singlepull.it.fixture.ContainerdProcess;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.CriPods;
import dev.singlepull.it.fixture.PrometheusText;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: the time from N concurrent cold pulls to N running containers (issue 13), for singlepull as the image
 * service with containerd 1.6 running the pods on singlepull's layers (its proxy snapshotter), against containerd
 * alone (CRI plugin, overlayfs). The image is the large shape of {@link BenchImages} with busybox on top, so that a
 * container runs ({@code sleep}); the sandbox image is busybox's, which each containerd pulls itself at the first
 * pod. Both setups stay up for the whole run and are warmed up by one untimed round; their timed rounds take turns.
 *
 * <p>Every round is cold, outside the timed window: pods removed, the image removed through the CRI that pulled it,
 * containerd's garbage collection (and singlepull's, in the first setup) run synchronously, then the N pod sandboxes
 * (host network, as {@link CriPods} makes them) created and {@code sync} run. The timed window opens with N
 * concurrent PullImage calls, to singlepull's socket or containerd's, and closes once every container is running;
 * each pod creates and starts its container as soon as its own pull answers, as kubelet does. Then the
 * create-to-start time of one container whose image is present (median of several), and the proof that nothing was
 * unpacked meanwhile: the committed snapshots of the runtime's snapshotter, and singlepull's chain (unpack) flights.
 *
 * <p>Properties: {@code bench.pods} (20), {@code bench.rounds} (3), {@code bench.starts} (5),
 * {@code bench.image} ({@code large}, or {@code small} to debug quickly), {@code bench.snapshotSync} (singlepull's
 * default {@code syncfs}). Run with {@code scripts/bench.sh -Dtest=RunPodsBench}; needs root.
 */
class RunPodsBench {
    private static final String SNAPSHOTTER = "singlepull";
    private static final long PULL_DEADLINE_SECONDS = 900;

    @TempDir
    Path dir;

    /** One round's times, in seconds from the start of the pulls. */
    private record Round(double pullsDone, double running, Unpacks cold) { }

    /** What the runtime's snapshotter holds and what singlepull unpacked (-1: not singlepull). */
    private record Unpacks(long committedSnapshots, long chainFlights) {
        String describe() {
            return committedSnapshots + " committed snapshot" + (committedSnapshots == 1 ? "" : "s")
                    + (chainFlights < 0 ? "" : ", " + chainFlights + " unpacks (chain flights) so far");
        }
    }

    /** A runtime set-up: a containerd, and the service its images are pulled through. */
    private static final class Setup implements AutoCloseable {
        final String name;
        final ContainerdProcess containerd;
        final Process singlepull; // null: containerd alone
        final CriClient images;
        final CriClient singlepullClient;
        final int metricsPort;
        final List<Round> rounds = new ArrayList<>();
        final List<Double> starts = new ArrayList<>();
        Unpacks before;
        Unpacks after;

        Setup(String name, ContainerdProcess containerd, Process singlepull, Path singlepullSocket, int metricsPort) {
            this.name = name;
            this.containerd = containerd;
            this.singlepull = singlepull;
            this.metricsPort = metricsPort;
            this.singlepullClient = singlepull == null ? null : new CriClient("unix://" + singlepullSocket);
            this.images = singlepull == null ? containerd.cri() : singlepullClient;
        }

        boolean withSinglepull() {
            return singlepull != null;
        }

        Unpacks unpacks() throws Exception {
            long committed = containerd.ctr("snapshots", "--snapshotter", containerd.snapshotter(), "ls").lines()
                    .filter(line -> line.strip().endsWith("Committed")).count();
            long chains = withSinglepull() ? PrometheusText.value(PrometheusText.scrape(metricsPort),
                    "singlepull_flights_started_total", "chain") : -1;
            return new Unpacks(committed, chains);
        }

        @Override
        public void close() throws Exception {
            try {
                containerd.close(); // first: its containers' mounts sit on singlepull's layer directories
            } finally {
                if (singlepull != null) {
                    singlepullClient.close();
                    BenchProcesses.stop(singlepull);
                }
            }
        }
    }

    @Test
    void podsFromColdPulls() throws Exception {
        ContainerdProcess.assumeUsable();
        BusyboxImages.assumeBusybox();
        int pods = Integer.getInteger("bench.pods", 20);
        int rounds = Integer.getInteger("bench.rounds", 3);
        int startCount = Integer.getInteger("bench.starts", 5);
        boolean large = !"small".equals(System.getProperty("bench.image", "large"));
        String snapshotSync = System.getProperty("bench.snapshotSync", "syncfs");
        try (RegistryProcess registry = RegistryProcess.start()) {
            System.out.println("building and pushing images ...");
            PushedImage image = BenchImages.runnable(registry, large);
            PushedImage pause = TestImages.push(registry, BusyboxImages.pause("bench/pause", "v1"));
            BenchImages.describe(image);
            try (Setup a = startWithSinglepull(registry, pause, snapshotSync);
                 Setup b = new Setup("containerd alone", ContainerdProcess.builder()
                         .plainHttpRegistry(registry.hostPort()).sandboxImage(pause.reference()).start(), null, null,
                         -1)) {
                List<Setup> setups = List.of(a, b);
                try (ExecutorService pool = Executors.newFixedThreadPool(pods)) {
                    for (Setup setup : setups) {
                        Round warm = round(setup, image.reference(), pods, pool);
                        System.out.printf(Locale.ROOT, "warm-up %s: pulls done %.2f s, running %.2f s; at the "
                                + "start: %s%n", setup.name, warm.pullsDone(), warm.running(), warm.cold().describe());
                    }
                    for (int i = 1; i <= rounds; i++) { // turns, so that a slow spell of the disk hits both
                        for (Setup setup : setups) {
                            Round r = round(setup, image.reference(), pods, pool);
                            setup.rounds.add(r);
                            long overlays = setup.withSinglepull() ? overlaysOnSinglepull() : -1;
                            System.out.printf(Locale.ROOT, "round %d/%d %s: %d pulls done %.2f s, %d containers "
                                    + "running %.2f s; at the start: %s%s%n", i, rounds, setup.name, pods,
                                    r.pullsDone(), pods, r.running(), r.cold().describe(), overlays < 0 ? ""
                                            : "; after: " + overlays + " overlay mounts on its layer directories");
                            if (setup.withSinglepull() && overlays < 2L * pods) {
                                throw new IllegalStateException("only " + overlays + " overlay mounts on "
                                        + "singlepull's layers for " + pods + " sandboxes and their containers");
                            }
                        }
                    }
                }
                createToStart(setups, image.reference(), startCount);
                print(BenchImages.label(image) + " image + busybox", pods, rounds, startCount, snapshotSync, a, b);
            }
        }
    }

    /**
     * singlepull first, so that its snapshots socket is there when containerd dials it; singlepull reaches containerd
     * through a link made once containerd answers.
     */
    private Setup startWithSinglepull(RegistryProcess registry, PushedImage pause, String snapshotSync)
            throws Exception {
        Path snapshots = dir.resolve("snapshotter.sock");
        Path link = dir.resolve("containerd.sock");
        int metricsPort = BenchProcesses.freePort();
        Process singlepull = BenchProcesses.serve(dir, "sp", "--metrics-address", "127.0.0.1:" + metricsPort,
                "--containerd-address", link.toString(), "--snapshotter-socket", snapshots.toString(),
                "--snapshotter-name", SNAPSHOTTER, "--snapshot-sync", snapshotSync);
        try {
            ContainerdProcess containerd = ContainerdProcess.builder().plainHttpRegistry(registry.hostPort())
                    .sandboxImage(pause.reference()).proxySnapshotter(SNAPSHOTTER, snapshots).start();
            Files.createSymbolicLink(link, containerd.socket());
            return new Setup("singlepull + containerd", containerd, singlepull, BenchProcesses.socket(dir, "sp"),
                    metricsPort);
        } catch (RuntimeException | IOException e) {
            BenchProcesses.stop(singlepull);
            throw e;
        }
    }

    /** One round: cold, N sandboxes, then timed from N concurrent pulls to N running containers. */
    private static Round round(Setup setup, String reference, int n, ExecutorService pool) throws Exception {
        CriPods pods = setup.containerd.pods();
        cold(setup, reference);
        Unpacks cold = setup.unpacks();
        List<Future<CriPods.Pod>> made = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = "pod-" + i;
            made.add(pool.submit(() -> pods.runPod(name)));
        }
        List<CriPods.Pod> sandboxes = new ArrayList<>();
        for (Future<CriPods.Pod> pod : made) {
            sandboxes.add(pod.get());
        }
        BenchProcesses.sync();

        CountDownLatch go = new CountDownLatch(1);
        List<Future<long[]>> timed = new ArrayList<>();
        for (CriPods.Pod sandbox : sandboxes) {
            timed.add(pool.submit(() -> {
                go.await();
                String imageRef = setup.images.images().withDeadlineAfter(PULL_DEADLINE_SECONDS, TimeUnit.SECONDS)
                        .pullImage(Cri.pull(reference)).getImageRef();
                long pulled = System.nanoTime();
                startRunning(pods, sandbox, "main", imageRef);
                return new long[] {pulled, System.nanoTime()};
            }));
        }
        long t0 = System.nanoTime();
        go.countDown();
        long pullsDone = 0;
        long running = 0;
        for (Future<long[]> pod : timed) {
            long[] times = pod.get();
            pullsDone = Math.max(pullsDone, times[0]);
            running = Math.max(running, times[1]);
        }
        return new Round((pullsDone - t0) / 1e9, (running - t0) / 1e9, cold);
    }

    /**
     * In the set-up with singlepull, the overlay mounts whose lower directories are singlepull's layers: the
     * containers' roots (and the sandboxes', whose layer containerd unpacked into singlepull's snapshots service).
     */
    private long overlaysOnSinglepull() throws IOException {
        String lower = "lowerdir=" + dir.resolve("sp-root");
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(line -> line.contains(" overlay ") && line.contains(lower)).count();
    }

    /** Creates and starts a container and checks that it runs; returns its id. */
    private static String startRunning(CriPods pods, CriPods.Pod sandbox, String name, String image) {
        String id = pods.runContainer(sandbox, name, image);
        ContainerState state = pods.containerStatus(id).getState();
        if (state != ContainerState.CONTAINER_RUNNING) {
            throw new IllegalStateException("container " + name + " is " + state + " after StartContainer");
        }
        return id;
    }

    /**
     * No pod, no image, no content and no snapshot of it left: pods removed, the image removed through the service
     * that pulled it, then both collections run synchronously.
     */
    private static void cold(Setup setup, String reference) throws Exception {
        setup.containerd.pods().removeAll();
        setup.images.images().removeImage(Cri.remove(reference));
        if (setup.withSinglepull()) {
            // singlepull removes containerd's records of the image after answering: wait for that
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (setup.containerd.cri().images().imageStatus(Cri.status(reference, false)).hasImage()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("containerd still holds " + reference + " 60 s after its "
                            + "removal through singlepull");
                }
                Thread.sleep(50);
            }
        }
        setup.containerd.collectGarbage();
        if (setup.withSinglepull()) {
            setup.singlepullClient.admin().collectGarbage(CollectGarbageRequest.getDefaultInstance());
        }
        if (setup.images.images().imageStatus(Cri.status(reference, false)).hasImage()) {
            throw new IllegalStateException(setup.name + " still holds " + reference + " after its removal");
        }
    }

    /**
     * Create-to-start of a container whose image is present, the set-ups taking turns: a pod of its own in each, then
     * {@code count} containers one after another, each timed from CreateContainer until it runs, and removed
     * (untimed) before the next. The snapshotter's committed snapshots and singlepull's unpacks are read before and
     * after: they must not change.
     */
    private static void createToStart(List<Setup> setups, String reference, int count) throws Exception {
        List<CriPods.Pod> sandboxes = new ArrayList<>();
        List<String> images = new ArrayList<>();
        for (Setup setup : setups) {
            CriPods pods = setup.containerd.pods();
            pods.removeAll();
            sandboxes.add(pods.runPod("create-to-start"));
            images.add(setup.containerd.cri().images().imageStatus(Cri.status(reference, false)).getImage().getId());
            setup.before = setup.unpacks();
        }
        for (int i = 0; i < count; i++) {
            for (int k = 0; k < setups.size(); k++) {
                CriPods pods = setups.get(k).containerd.pods();
                long t0 = System.nanoTime();
                String id = startRunning(pods, sandboxes.get(k), "c" + i, images.get(k));
                setups.get(k).starts.add((System.nanoTime() - t0) / 1e9);
                pods.stopContainer(id, 0);
                pods.removeContainer(id);
            }
        }
        for (Setup setup : setups) {
            setup.after = setup.unpacks();
            System.out.printf(Locale.ROOT, "create-to-start %s: %s s; before: %s; after: %s%n", setup.name,
                    String.join(" ", setup.starts.stream().map(t -> String.format(Locale.ROOT, "%.3f", t)).toList()),
                    setup.before.describe(), setup.after.describe());
            if (!setup.before.equals(setup.after)) {
                throw new IllegalStateException(setup.name + " unpacked while starting containers of a present "
                        + "image: " + setup.before.describe() + " before, " + setup.after.describe() + " after");
            }
        }
    }

    private static void print(String image, int pods, int rounds, int starts, String snapshotSync, Setup a,
                              Setup b) {
        double pullsA = BenchStats.median(a.rounds.stream().map(Round::pullsDone).toList());
        double pullsB = BenchStats.median(b.rounds.stream().map(Round::pullsDone).toList());
        double runA = BenchStats.median(a.rounds.stream().map(Round::running).toList());
        double runB = BenchStats.median(b.rounds.stream().map(Round::running).toList());
        double tailA = BenchStats.median(a.rounds.stream().map(r -> r.running() - r.pullsDone()).toList());
        double tailB = BenchStats.median(b.rounds.stream().map(r -> r.running() - r.pullsDone()).toList());
        double startA = BenchStats.median(a.starts);
        double startB = BenchStats.median(b.starts);
        System.out.printf(Locale.ROOT, "%n| %s, %d pods, cold, median of %d (singlepull: snapshot_sync %s) "
                + "| %s | %s | ratio |%n|---|---|---|---|%n", image, pods, rounds, snapshotSync, a.name, b.name);
        row(pods + " PullImage calls answered", pullsA, pullsB);
        row(pods + " containers running (wall)", runA, runB);
        row("of which after the last pull answered", tailA, tailB);
        row("create-to-start, image present (median of " + starts + ")", startA, startB);
        System.out.printf(Locale.ROOT, "| unpacked during create-to-start | nothing (%s, before and after) "
                + "| nothing (%s, before and after) | |%n", a.after.describe(), b.after.describe());
    }

    private static void row(String what, double a, double b) {
        System.out.printf(Locale.ROOT, "| %s | %.2f s | %.2f s | %.2f |%n", what, a, b, a / b);
    }
}

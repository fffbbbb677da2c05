package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.cri.v1.ContainerState;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.BusyboxImages;
import dev.singlepull.it.fixture.ContainerdProcess;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.CriPods;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.unpack.SnapshotInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Test;

/**
 * Pods run from what singlepull pulls: Debian's containerd 1.6 and runc (as root; the fixture says why it skips
 * otherwise) use singlepull's snapshots service as a proxy snapshotter, kubelet's two endpoints are played by the
 * test: images through singlepull, pods and containers through containerd's CRI. containerd pulls the sandbox image
 * itself (so the snapshots service also serves containerd's own unpack: Prepare, Mounts, Commit), and runs the
 * containers of singlepull's image on singlepull's layer directories.
 */
@Timeout(300)
class ContainerdSnapshotterIT {
    private static final String SNAPSHOTTER = "singlepull";
    private static RegistryProcess registry;
    private static PushedImage ownPause;
    private static PushedImage layered;

    @BeforeAll
    static void pushImages() {
        if (ContainerdProcess.unusableBecause().isPresent() || !BusyboxImages.available()) {
            return; // every test skips, saying why
        }
        registry = RegistryProcess.start();
        // the sandbox image has a layer of its own, which containerd unpacks itself through the snapshots service
        ownPause = TestImages.push(registry, ImageSpec.builder("it/pause-own", "v1")
                .layer(BusyboxImages.busyboxLayer())
                .layer(LayerSpec.gzip(LayerEntry.dir("etc"), LayerEntry.file("etc/sandbox.txt", "sandbox\n")))
                .config(ImageConfig.empty().withEnv("PATH=/bin")
                        .withEntrypoint("/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"))
                .build());
        layered = TestImages.push(registry, BusyboxImages.layered("it/busybox", "v1"));
    }

    @BeforeEach
    void assumeContainerd() {
        ContainerdProcess.assumeUsable();
        BusyboxImages.assumeBusybox();
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    /** containerd and singlepull wired to each other, closed together. */
    private record Node(Path dir, ContainerdProcess containerd, SinglepullServer singlepull,
                        Map<String, Long> earlierCalls) implements AutoCloseable {
        /**
         * singlepull first, so that its snapshots socket is there when containerd first dials it; singlepull reaches
         * containerd through a symbolic link made once containerd answers (unless {@code linkContainerd} is false:
         * containerd then stays out of singlepull's reach until {@link #linkContainerd()}).
         */
        static Node start(boolean linkContainerd) {
            Path dir;
            try {
                dir = Files.createTempDirectory("sp-runtime-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Path snapshots = dir.resolve("snapshotter.sock");
            Path link = dir.resolve("containerd.sock");
            SinglepullServer singlepull = SinglepullServer.start(b -> b.runtime(r -> r
                    .withContainerdAddress(link.toString()).withSnapshotterSocket(snapshots.toString())
                    .withSnapshotter(SNAPSHOTTER)));
            try {
                ContainerdProcess containerd = ContainerdProcess.builder().plainHttpRegistry(registry.hostPort())
                        .sandboxImage(ownPause.reference()).proxySnapshotter(SNAPSHOTTER, snapshots).start();
                Node node = new Node(dir, containerd, singlepull, new java.util.TreeMap<>());
                if (linkContainerd) {
                    node.linkContainerd();
                }
                return node;
            } catch (RuntimeException e) {
                singlepull.close();
                throw e;
            }
        }

        /** Puts containerd's socket where singlepull looks for it. */
        void linkContainerd() {
            try {
                Files.createSymbolicLink(containerdLink(), containerd.socket());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Path containerdLink() {
            return dir.resolve("containerd.sock");
        }

        String pull(String reference) {
            try (CriClient client = singlepull.client()) {
                return client.images().pullImage(Cri.pull(reference)).getImageRef();
            }
        }

        boolean containerdHasImage(String imageId) {
            return containerd.cri().images().imageStatus(Cri.status(imageId, false)).hasImage();
        }

        Set<String> singlepullLayers() {
            return singlepull.daemon().node().snapshots().list().stream().map(SnapshotInfo::chainId)
                    .map(Object::toString).collect(Collectors.toSet());
        }

        boolean containerdReachesSnapshots() {
            try {
                containerd.ctr("snapshots", "--snapshotter", SNAPSHOTTER, "ls");
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        }

        /** The snapshots calls containerd made, by method, over every run of singlepull in this test. */
        Map<String, Long> calls() {
            Map<String, Long> all = new java.util.TreeMap<>(earlierCalls);
            singlepull.daemon().snapshotterCalls().forEach((method, n) -> all.merge(method, n, Long::sum));
            return all;
        }

        void restartSinglepull() {
            singlepull.daemon().snapshotterCalls().forEach((method, n) -> earlierCalls.merge(method, n, Long::sum));
            singlepull.restart();
        }

        @Override
        public void close() {
            System.out.println("snapshots service calls: " + calls());
            try {
                containerd.close();
            } finally {
                singlepull.close();
                try (var paths = Files.walk(dir)) {
                    paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException ignored) {
                    // a temp leftover
                }
            }
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        await(what, condition, () -> "");
    }

    private static void await(String what, BooleanSupplier condition, java.util.function.Supplier<String> context) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what + "\n" + context.get());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** The overlay mounts of this host whose lower directories lie in {@code dir}. */
    private static List<String> overlaysOn(Path dir) {
        try {
            return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(l -> l.contains(" overlay ") && l.contains("lowerdir=" + dir)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertLayeredImageRuns(CriPods pods, String container) {
        assertEquals(new CriPods.Exec(0, BusyboxImages.LOWER_TEXT, ""),
                pods.exec(container, "cat", BusyboxImages.LOWER_FILE));
        assertEquals(new CriPods.Exec(0, BusyboxImages.TOP_TEXT, ""), pods.exec(container, "cat", BusyboxImages.TOP_FILE));
        assertEquals(1, pods.exec(container, "test", "-e", BusyboxImages.WHITED_OUT_FILE).exitCode(),
                "the whited-out file is hidden by the top layer");
    }

    @Test
    void podsRunOnSinglepullsLayersWhichOutliveBothCollectorsWhileTheyRun() throws Exception {
        try (Node node = Node.start(true)) {
            // twenty kubelets' worth of pulls of one image: one pull, one registration
            List<Future<String>> pulls = new ArrayList<>();
            try (ExecutorService callers = Executors.newFixedThreadPool(20)) {
                for (int i = 0; i < 20; i++) {
                    pulls.add(callers.submit(() -> node.pull(layered.reference())));
                }
            }
            for (Future<String> pull : pulls) {
                assertEquals(layered.imageId(), pull.get());
            }
            int layers = layered.layerDigests().size();
            assertEquals(layers, node.calls().get("Prepare"), "each layer was registered once, by one Prepare "
                    + "that singlepull answered ALREADY_EXISTS: " + node.calls());
            assertTrue(node.containerdHasImage(layered.imageId()), "containerd's CRI knows the image by its id");
            String content = node.containerd().ctr("content", "ls", "-q");
            for (String layer : layered.layerDigests()) {
                assertFalse(content.contains(layer), "layer blobs are not copied into containerd: " + layer);
            }
            assertTrue(content.contains(layered.imageId()), "the config is in containerd's content store");

            CriPods pods = node.containerd().pods();
            CriPods.Pod pod = pods.runPod("on-singlepull");
            String container = pods.runContainer(pod, "main", layered.imageId());
            assertEquals(BusyboxImages.TOP_TEXT, pods.awaitLog(pod, "main",
                    text -> text.contains(BusyboxImages.TOP_TEXT), Duration.ofSeconds(20)));
            assertLayeredImageRuns(pods, container);
            assertFalse(overlaysOn(node.singlepull().root().resolve("snapshots")).isEmpty(),
                    "the container's root is an overlay on singlepull's layer directories");

            // containerd's collection removes what it does not reference; the running container is unharmed
            node.containerd().collectGarbage();
            assertLayeredImageRuns(pods, container);

            // singlepull's RemoveImage removes containerd's records too, but no layer under a container goes
            Set<String> imageLayers = node.singlepullLayers();
            try (CriClient client = node.singlepull().client()) {
                client.images().removeImage(Cri.remove(layered.imageId()));
            }
            await("containerd forgets the image", () -> !node.containerdHasImage(layered.imageId()));
            node.containerd().collectGarbage();
            node.singlepull().daemon().node().collectGarbage();
            assertTrue(node.singlepullLayers().containsAll(imageLayers), "the running container's layers stay");
            assertLayeredImageRuns(pods, container);

            pods.stopContainer(container, 0);
            pods.removeContainer(container);
            pods.removePod(pod.id());
            node.containerd().collectGarbage();
            node.singlepull().daemon().node().collectGarbage();
            String busybox = node.singlepullLayers().stream().sorted().findFirst().orElseThrow();
            assertEquals(Set.of(busybox), node.singlepullLayers(), "with the container gone, singlepull's "
                    + "collection frees the image's layers but the bottom one, which the sandbox image containerd "
                    + "unpacked itself sits on");
            assertTrue(imageLayers.contains(busybox));
            assertEquals(1L, node.calls().get("Commit"), "containerd unpacked the sandbox image's own layer itself "
                    + "through the service: " + node.calls());
        }
    }

    @Test
    void anImageSharingALayerWithASandboxContainerdUnpackedFirstRunsOnTopOfIt() {
        try (Node node = Node.start(true)) {
            // as kubelet does: the sandbox first (containerd pulls and unpacks it itself), then the image
            CriPods pods = node.containerd().pods();
            CriPods.Pod pod = pods.runPod("sandbox-first");
            assertEquals(2L, node.calls().get("Commit"), "containerd committed both sandbox layers: " + node.calls());
            String imageId = node.pull(layered.reference());
            String container = pods.runContainer(pod, "main", imageId);
            pods.awaitLog(pod, "main", text -> text.contains(BusyboxImages.TOP_TEXT), Duration.ofSeconds(20));
            assertLayeredImageRuns(pods, container);
            assertFalse(overlaysOn(node.singlepull().root().resolve("snapshots")).isEmpty(),
                    "the upper layers are singlepull's directories");
        }
    }

    @Test
    void aRestartOfContainerdThenOfSinglepullKeepsPodsAndImages() {
        try (Node node = Node.start(true)) {
            String imageId = node.pull(layered.reference());
            CriPods pods = node.containerd().pods();
            CriPods.Pod pod = pods.runPod("restarts");
            String first = pods.runContainer(pod, "first", imageId);
            pods.awaitLog(pod, "first", text -> text.contains(BusyboxImages.TOP_TEXT), Duration.ofSeconds(20));

            node.containerd().restart();
            assertLayeredImageRuns(pods, first);
            node.restartSinglepull();
            assertLayeredImageRuns(pods, first);
            assertEquals(ContainerState.CONTAINER_RUNNING, pods.containerStatus(first).getState());
            // containerd redials the snapshots socket after its own backoff, as it would after any restart
            await("containerd reaches the snapshots service again", node::containerdReachesSnapshots);

            String second = pods.runContainer(pod, "second", imageId);
            pods.awaitLog(pod, "second", text -> text.contains(BusyboxImages.TOP_TEXT), Duration.ofSeconds(20));
            assertLayeredImageRuns(pods, second);

            // containerd loses the image's records (as after a reinstall): singlepull's start gives them back
            List<String> names = node.containerd().ctr("images", "ls", "-q").lines()
                    .filter(n -> n.contains("it/busybox") || n.equals(imageId)).toList();
            List<String> rm = new ArrayList<>(List.of("images", "rm"));
            rm.addAll(names);
            node.containerd().ctr(rm.toArray(String[]::new));
            await("containerd forgets the image", () -> !node.containerdHasImage(imageId));
            node.restartSinglepull();
            await("singlepull registers the image again at start-up", () -> node.containerdHasImage(imageId),
                    node.containerd()::logTail);
        }
    }

    @Test
    void aPullWhileContainerdIsAwayFailsUnavailableNamingItsSocketAndTheNextPullRegisters() {
        try (Node node = Node.start(false)) {
            StatusRuntimeException away = assertThrows(StatusRuntimeException.class,
                    () -> node.pull(layered.reference()));
            assertEquals(Status.Code.UNAVAILABLE, away.getStatus().getCode());
            assertTrue(away.getStatus().getDescription().contains(node.containerdLink().toString()),
                    away.getStatus().getDescription());

            node.linkContainerd();
            assertEquals(layered.imageId(), node.pull(layered.reference()));
            assertTrue(node.containerdHasImage(layered.imageId()));
        }
    }
}

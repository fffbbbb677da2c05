package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.cri.v1.ContainerState;
import dev.singlepull.it.fixture.BusyboxImages;
import dev.singlepull.it.fixture.ContainerdProcess;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.CriPods;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The containerd fixture on its own, with containerd's built-in overlayfs snapshotter: containerd pulls the busybox
 * images from the test registry itself, runs a host-network pod, and the container sees the image's layers merged
 * (the top layer's file, not the file it whites out); exec works; everything is removed again, and closing the
 * fixture leaves no shim, mount or directory behind, even after containerd crashed with a pod running; what a dead
 * JVM left running is cleaned up by the next start.
 */
@Timeout(180)
class ContainerdFixtureIT {
    private static RegistryProcess registry;
    private static PushedImage pause;
    private static PushedImage layered;

    @BeforeAll
    static void pushImages() {
        if (ContainerdProcess.unusableBecause().isPresent() || !BusyboxImages.available()) {
            return; // every test skips, saying why
        }
        registry = RegistryProcess.start();
        pause = TestImages.push(registry, BusyboxImages.pause("it/pause", "v1"));
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

    private static ContainerdProcess startContainerd() {
        return ContainerdProcess.builder().plainHttpRegistry(registry.hostPort()).sandboxImage(pause.reference())
                .start();
    }

    @Test
    void runsAPodFromThePulledLayersAndRemovesIt() {
        try (ContainerdProcess containerd = startContainerd()) {
            CriPods pods = containerd.pods();
            String imageId = pods.pullImage(layered.reference());
            assertEquals(layered.imageId(), imageId, "containerd reports the config digest as the image id");

            CriPods.Pod pod = pods.runPod("fixture");
            String container = pods.runContainer(pod, "main", imageId);
            String log = pods.awaitLog(pod, "main", text -> text.contains(BusyboxImages.TOP_TEXT),
                    Duration.ofSeconds(20));
            assertEquals(BusyboxImages.TOP_TEXT, log, "the image's command printed the top layer's file");
            assertEquals(ContainerState.CONTAINER_RUNNING, pods.containerStatus(container).getState());

            CriPods.Exec lower = pods.exec(container, "cat", BusyboxImages.LOWER_FILE);
            assertEquals(new CriPods.Exec(0, BusyboxImages.LOWER_TEXT, ""), lower);
            CriPods.Exec gone = pods.exec(container, "test", "-e", BusyboxImages.WHITED_OUT_FILE);
            assertEquals(1, gone.exitCode(), "the whited-out file is not there: " + gone);
            CriPods.Exec listing = pods.exec(container, "ls", "/etc");
            assertEquals(0, listing.exitCode(), listing.toString());
            assertTrue(listing.stdout().lines().toList().containsAll(List.of("lower.txt", "top.txt")),
                    listing.stdout());
            assertFalse(listing.stdout().contains("gone.txt"), listing.stdout());

            IllegalStateException unknownImage = assertThrows(IllegalStateException.class,
                    () -> pods.createContainer(pod, "other", "it/never:pulled"));
            assertTrue(unknownImage.getMessage().startsWith("CreateContainer other from it/never:pulled failed: "
                    + "Status{code=NOT_FOUND"), unknownImage.getMessage());
            assertTrue(unknownImage.getMessage().contains("--- containerd"), "with containerd's log tail");

            pods.stopContainer(container, 0);
            assertEquals(ContainerState.CONTAINER_EXITED, pods.containerStatus(container).getState());
            pods.removeContainer(container);
            pods.removePod(pod.id());
            assertEquals(List.of(), pods.podIds());

            // with the image removed, a forced collection frees its unique top layer
            String topLayer = layered.layerDigests().getLast();
            assertTrue(containerd.ctr("content", "ls", "-q").contains(topLayer));
            containerd.cri().images().removeImage(Cri.remove(imageId));
            containerd.collectGarbage();
            assertFalse(containerd.ctr("content", "ls", "-q").contains(topLayer),
                    "collected: the top layer is gone from containerd's content store");
        }
    }

    @Test
    void closingAfterContainerdCrashedWithAPodRunningLeavesNothingBehind() {
        Path dir;
        List<Path> shimSockets;
        try (ContainerdProcess containerd = startContainerd()) {
            dir = containerd.dir();
            CriPods pods = containerd.pods();
            String imageId = pods.pullImage(layered.reference());
            CriPods.Pod pod = pods.runPod("left-running");
            pods.runContainer(pod, "main", imageId);
            pods.awaitLog(pod, "main", text -> text.contains(BusyboxImages.TOP_TEXT), Duration.ofSeconds(20));
            containerd.kill();
            List<ProcessHandle> shims = ContainerdProcess.shimsOf(containerd.socket());
            assertFalse(shims.isEmpty(), "the pod's shim outlives containerd");
            shimSockets = shims.stream().map(shim -> ContainerdProcess.shimSocket(shim).orElseThrow()).toList();
            shimSockets.forEach(socket -> assertTrue(Files.exists(socket), "the shim listens on " + socket));
            assertFalse(ContainerdProcess.mountsBelow(dir).isEmpty(), "the rootfs mounts outlive containerd");
        }
        shimSockets.forEach(socket -> assertFalse(Files.exists(socket), "the killed shim's socket is removed"));
        assertNothingLeftOf(dir);
    }

    @Test
    void theNextStartCleansUpAfterAnInstanceWhoseJvmDied() {
        Path dir;
        long pid;
        try (ContainerdProcess containerd = startContainerd()) {
            dir = containerd.dir();
            pid = containerd.pid();
            CriPods pods = containerd.pods();
            CriPods.Pod pod = pods.runPod("abandoned");
            pods.runContainer(pod, "main", pods.pullImage(layered.reference()));
            containerd.abandon();
        }
        assertTrue(Files.exists(dir), "an abandoned instance keeps running");
        assertTrue(ProcessHandle.of(pid).isPresent());
        try (ContainerdProcess next = startContainerd()) {
            assertTrue(next.isAlive());
        }
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "its containerd is killed");
        assertNothingLeftOf(dir);
    }

    @Test
    void aProxySnapshotterIsRegisteredAndTheCriPluginUsesIt() {
        Path socket = Path.of(System.getProperty("java.io.tmpdir"), "no-snapshotter-" + ProcessHandle.current().pid()
                + ".sock");
        try (ContainerdProcess containerd = ContainerdProcess.builder().plainHttpRegistry(registry.hostPort())
                .sandboxImage(pause.reference()).proxySnapshotter("it-proxy", socket).snapshotAnnotations(true)
                .start()) {
            assertEquals("it-proxy", containerd.snapshotter());
            String criConfig = containerd.logText().lines().filter(line -> line.contains("Start cri plugin with config"))
                    .findFirst().orElseThrow();
            assertTrue(criConfig.contains("Snapshotter:it-proxy") && criConfig.contains(
                    "DisableSnapshotAnnotations:false"), criConfig);
            assertTrue(containerd.ctr("plugins", "ls").lines()
                    .anyMatch(line -> line.matches("io\\.containerd\\.snapshotter\\.v1\\s+it-proxy\\s.*ok\\s*")),
                    "the proxy plugin is loaded");
            // nothing serves the socket: the pull fails when containerd unpacks into the proxy
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> containerd.pods().pullImage(layered.reference()));
            assertTrue(e.getMessage().contains(socket.toString()), e.getMessage());
        }
    }

    @Test
    void aContainerdThatCannotStartFailsWithItsLog() {
        // a proxy plugin may not take the name of a built-in snapshotter: containerd refuses to start
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ContainerdProcess.builder()
                .proxySnapshotter("overlayfs", Path.of("/nonexistent.sock")).start());
        assertTrue(e.getMessage().contains("exited"), e.getMessage());
        assertTrue(e.getMessage().contains("--- containerd"), "the message quotes containerd's log: " + e.getMessage());
    }

    private static void assertNothingLeftOf(Path dir) {
        assertFalse(Files.exists(dir), "the fixture's directory is deleted");
        assertEquals(List.of(), ContainerdProcess.mountsBelow(dir), "nothing stays mounted");
        assertEquals(List.of(), ContainerdProcess.shimsOf(dir.resolve("containerd.sock")), "no shim survives");
    }
}

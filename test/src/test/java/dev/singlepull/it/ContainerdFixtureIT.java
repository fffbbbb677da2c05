package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.junit.jupiter.api.Test;

/**
 * The containerd fixture on its own, with containerd's built-in overlayfs snapshotter: containerd pulls the busybox
 * images from the test registry itself, runs a host-network pod, and the container sees the image's layers merged
 * (the top layer's file, not the file it whites out); exec works; everything is removed again, and closing the
 * fixture leaves no shim, mount or directory behind, even after containerd crashed with a pod running.
 */
class ContainerdFixtureIT {
    private static RegistryProcess registry;
    private static PushedImage pause;
    private static PushedImage layered;

    @BeforeAll
    static void pushImages() {
        ContainerdProcess.assumeUsable();
        BusyboxImages.assumeBusybox();
        registry = RegistryProcess.start();
        pause = TestImages.push(registry, BusyboxImages.pause("it/pause", "v1"));
        layered = TestImages.push(registry, BusyboxImages.layered("it/busybox", "v1"));
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
        assertFalse(Files.exists(dir), "the fixture's directory is deleted");
        assertEquals(List.of(), ContainerdProcess.mountsBelow(dir), "nothing stays mounted");
        assertEquals(List.of(), ContainerdProcess.shimsOf(dir.resolve("containerd.sock")), "no shim survives");
    }
}

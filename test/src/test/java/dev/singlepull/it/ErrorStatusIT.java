package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.cri.v1.ExecSyncRequest;
import dev.singlepull.api.cri.v1.RunPodSandboxRequest;
import dev.singlepull.api.cri.v1.VersionRequest;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every failure reaches the caller as the right gRPC status, with a message naming what failed. */
@Timeout(120)
class ErrorStatusIT {
    private static RegistryProcess registry;
    private static RegistryProcess privateRegistry;
    private static SinglepullServer server;

    @BeforeAll
    static void start() {
        registry = RegistryProcess.start();
        privateRegistry = RegistryProcess.startWithHtpasswd("alice", "s3cret-pass");
        server = SinglepullServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
        privateRegistry.close();
        registry.close();
    }

    @Test
    void badReferencesAreInvalidArgument() {
        try (CriClient cri = server.client()) {
            for (String bad : new String[] {"", "library/UPPER", "a//b", "redis:bad tag", "redis@sha256:123",
                    "-leading-dash", "redis:" + "t".repeat(200)}) {
                var e = assertThrows(StatusRuntimeException.class, () -> cri.images().pullImage(Cri.pull(bad)),
                        "pull " + bad);
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), bad);
            }
        }
    }

    @Test
    void missingRepositoryOrTagIsNotFound() {
        TestImages.push(registry, TestImages.sampleImage("it/exists", "v1", 50_000, 31));
        try (CriClient cri = server.client()) {
            var noRepo = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(registry.hostPort() + "/it/absent:v1")));
            assertEquals(Status.Code.NOT_FOUND, noRepo.getStatus().getCode());
            assertTrue(noRepo.getStatus().getDescription().contains("it/absent"), noRepo.getStatus().getDescription());

            var noTag = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(registry.hostPort() + "/it/exists:nope")));
            assertEquals(Status.Code.NOT_FOUND, noTag.getStatus().getCode());
        }
    }

    @Test
    void unreachableRegistryIsUnavailable() throws Exception {
        int closedPort;
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        try (CriClient cri = server.client()) {
            var e = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull("127.0.0.1:" + closedPort + "/it/x:v1")));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        }
    }

    @Test
    void runtimeCallsBesideVersionAreUnimplemented() {
        try (CriClient cri = server.client()) {
            assertEquals("singlepull", cri.runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName());
            var e = assertThrows(StatusRuntimeException.class,
                    () -> cri.runtime().runPodSandbox(RunPodSandboxRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
            var exec = assertThrows(StatusRuntimeException.class,
                    () -> cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId("c").build()));
            assertEquals(Status.Code.UNIMPLEMENTED, exec.getStatus().getCode());
        }
    }

    @Test
    void unknownImageStatusIsOkWithoutImageAndRemoveIsIdempotent() {
        try (CriClient cri = server.client()) {
            assertFalse(cri.images().imageStatus(Cri.status("docker.io/library/never:pulled", false)).hasImage());
            assertFalse(cri.images().imageStatus(Cri.status("sha256:" + "ab".repeat(32), false)).hasImage());
            cri.images().removeImage(Cri.remove("docker.io/library/never:pulled"));
        }
    }

    @Test
    void privateRegistryNeedsTheRightCredentials() {
        PushedImage image = TestImages.push(privateRegistry, TestImages.sampleImage("team/private", "v1", 50_000, 32));
        try (CriClient cri = server.client()) {
            var anonymous = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(image.reference())));
            assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode());

            var wrong = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(image.reference(), "alice", "wrong")));
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
            assertFalse(wrong.getStatus().getDescription().contains("wrong"), "no secret in messages");

            String id = cri.images().pullImage(Cri.pull(image.reference(), "alice", "s3cret-pass")).getImageRef();
            assertEquals(image.configDigest(), id);
        }
    }
}

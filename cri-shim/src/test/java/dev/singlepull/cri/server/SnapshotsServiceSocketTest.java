package dev.singlepull.cri.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.api.containerd.snapshots.v1.CommitSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.Info;
import dev.singlepull.api.containerd.snapshots.v1.Kind;
import dev.singlepull.api.containerd.snapshots.v1.ListSnapshotsRequest;
import dev.singlepull.api.containerd.snapshots.v1.MountsRequest;
import dev.singlepull.api.containerd.snapshots.v1.PrepareSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.RemoveSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.SnapshotsGrpc;
import dev.singlepull.api.containerd.snapshots.v1.StatSnapshotRequest;
import dev.singlepull.api.containerd.snapshots.v1.UsageRequest;
import dev.singlepull.api.containerd.types.Mount;
import dev.singlepull.cri.config.ShimConfig;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.snapshot.Staging;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The snapshots service as containerd reaches it: real gRPC over the service's unix socket. */
class SnapshotsServiceSocketTest {
    private static final String BASE = "sha256:" + "1".repeat(64);
    private static final String TOP = "sha256:" + "2".repeat(64);
    private static final String REF = "containerd.io/snapshot.ref";

    @TempDir
    Path dir;

    private ShimConfig config() {
        return ShimConfig.defaults().toBuilder().root(dir.resolve("root")).socket(dir.resolve("cri.sock"))
                .metricsAddress("").build();
    }

    private static void layer(Daemon daemon, String chainId, String parent, String file) throws IOException {
        Staging staging = daemon.node().snapshots().prepare();
        Files.writeString(staging.fs().resolve(file), file);
        daemon.node().snapshots().commit(staging, ChainId.parse(chainId), parent == null ? null : ChainId.parse(parent));
    }

    private static <T> T withClient(Daemon daemon, java.util.function.Function<SnapshotsGrpc.SnapshotsBlockingStub, T> f) {
        ManagedChannel channel = Grpc.newChannelBuilder("unix://" + daemon.snapshotterSocket().orElseThrow(),
                InsecureChannelCredentials.create()).build();
        try {
            return f.apply(SnapshotsGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS));
        } finally {
            channel.shutdownNow();
        }
    }

    private static Status.Code code(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    @Test
    void aRuntimeSeesTheLayersAndRunsOnThemAcrossARestart() throws Exception {
        Mount container;
        try (Daemon daemon = Daemon.start(config(), "test")) {
            assertEquals(dir.resolve("cri-snapshotter.sock"), daemon.snapshotterSocket().orElseThrow());
            layer(daemon, BASE, null, "base.txt");
            layer(daemon, TOP, BASE, "top.txt");
            container = withClient(daemon, s -> {
                assertEquals(Status.Code.ALREADY_EXISTS, code(() -> s.prepare(PrepareSnapshotRequest.newBuilder()
                        .setKey("k8s.io/1/extract-x " + TOP).setParent(BASE).putLabels(REF, TOP).build())));
                List<Info> found = new ArrayList<>();
                s.list(ListSnapshotsRequest.newBuilder().setSnapshotter("singlepull")
                        .addFilters("labels.\"" + REF + "\"==" + TOP + ",parent==\"" + BASE + "\"").build())
                        .forEachRemaining(r -> found.addAll(r.getInfoList()));
                assertEquals(1, found.size());
                assertEquals(TOP, found.getFirst().getName());
                assertEquals(Kind.COMMITTED, found.getFirst().getKind());
                assertEquals(BASE, found.getFirst().getParent());
                Mount m = s.prepare(PrepareSnapshotRequest.newBuilder().setKey("k8s.io/2/box").setParent(TOP).build())
                        .getMounts(0);
                assertEquals("overlay", m.getType());
                assertEquals(Status.Code.NOT_FOUND, code(() -> s.stat(StatSnapshotRequest.newBuilder()
                        .setKey("nothing").build())));
                return m;
            });
            assertEquals(1L, daemon.snapshotterCalls().get("List"));
            assertEquals(2L, daemon.snapshotterCalls().get("Prepare"));
        }
        try (Daemon daemon = Daemon.start(config(), "test")) {
            withClient(daemon, s -> {
                assertEquals(container, s.mounts(MountsRequest.newBuilder().setKey("k8s.io/2/box").build()).getMounts(0),
                        "the active snapshot and its mounts survive a restart");
                assertEquals(Kind.ACTIVE, s.stat(StatSnapshotRequest.newBuilder().setKey("k8s.io/2/box").build())
                        .getInfo().getKind());
                return null;
            });
            mountAndWrite(container);
            withClient(daemon, s -> {
                assertEquals(3, s.usage(UsageRequest.newBuilder().setKey("k8s.io/2/box").build()).getSize());
                s.commit(CommitSnapshotRequest.newBuilder().setKey("k8s.io/2/box").setName("k8s.io/3/done").build());
                s.remove(RemoveSnapshotRequest.newBuilder().setKey("k8s.io/3/done").build());
                s.remove(RemoveSnapshotRequest.newBuilder().setKey(TOP).build());
                assertEquals(Kind.COMMITTED, s.stat(StatSnapshotRequest.newBuilder().setKey(TOP).build()).getInfo()
                        .getKind(), "a layer outlives a runtime's Remove");
                return null;
            });
        }
    }

    /** As root: mounts the overlay as containerd would, sees both layers, and writes into the upper directory. */
    private void mountAndWrite(Mount m) throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            Files.writeString(Path.of(m.getOptions(1).substring("upperdir=".length())).resolve("new"), "new");
            return;
        }
        Path target = Files.createDirectories(dir.resolve("mnt"));
        Process mount = new ProcessBuilder("mount", "-t", m.getType(), "-o", String.join(",", m.getOptionsList()),
                m.getSource(), target.toString()).redirectErrorStream(true).start();
        String out = new String(mount.getInputStream().readAllBytes());
        assumeTrue(mount.waitFor() == 0, "cannot mount overlay here: " + out);
        try {
            assertEquals("base.txt", Files.readString(target.resolve("base.txt")));
            assertEquals("top.txt", Files.readString(target.resolve("top.txt")));
            Files.writeString(target.resolve("new"), "new");
        } finally {
            new ProcessBuilder("umount", target.toString()).inheritIO().start().waitFor();
        }
        assertTrue(Files.exists(Path.of(m.getOptions(1).substring("upperdir=".length())).resolve("new")));
    }
}

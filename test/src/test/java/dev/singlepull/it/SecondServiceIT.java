package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.it.fixture.ServiceProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One root, one service, across processes: a second {@code singlepull serve} on a root in use exits at once with a
 * message naming the holder, and touches nothing of the first (not even a shared socket path); {@code gc} and
 * {@code fsck} ask the running service, and say clearly when the root is locked but nothing answers on the socket
 * they were given.
 */
@Timeout(180)
class SecondServiceIT {
    @TempDir
    Path dir;

    @Test
    void aSecondServeOnTheSameRootRefusesToStartAndTheFirstKeepsServing() throws Exception {
        Path root = dir.resolve("root");
        Path socket = dir.resolve("cri.sock");
        try (ServiceProcess first = ServiceProcess.start(root, socket, dir.resolve("first.log"))) {
            Path secondLog = dir.resolve("second.log");
            Process second = ServiceProcess.launch(root, socket, secondLog); // the same socket path, too
            assertTrue(second.waitFor(60, TimeUnit.SECONDS), "the second service exits instead of serving");
            String said = Files.readString(secondLog);
            assertNotEquals(0, second.exitValue(), said);
            assertTrue(said.contains("root " + root.toAbsolutePath() + " is in use by another singlepull process (pid "
                    + first.pid() + ")"), said);

            assertTrue(first.isAlive());
            assertTrue(Files.exists(socket), "the first service's socket is still there");
            assertTrue(first.answers(), "the first service still answers");

            ServiceProcess.Result fsck = ServiceProcess.cli("fsck", "--root", root.toString(),
                    "--socket", socket.toString());
            assertEquals(0, fsck.exit(), fsck.output());
            assertTrue(fsck.output().contains("by the running service"), fsck.output());

            ServiceProcess.Result wrongSocket = ServiceProcess.cli("gc", "--root", root.toString(),
                    "--socket", dir.resolve("elsewhere.sock").toString());
            assertNotEquals(0, wrongSocket.exit(), wrongSocket.output());
            assertTrue(wrongSocket.output().contains("no singlepull answers on socket") && wrongSocket.output()
                    .contains("locked by a running singlepull process (pid " + first.pid() + ")"), wrongSocket.output());
        }
    }
}

package dev.singlepull.load;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The processes the service benchmarks drive: {@code bin/singlepull serve} and {@code bin/singlepull load-test}. */
final class BenchProcesses {
    private static final Path LAUNCHER = Path.of("").toAbsolutePath().getParent().resolve("bin/singlepull");

    private BenchProcesses() {
    }

    /**
     * {@code bin/singlepull serve} with the launcher's heap settings, on root {@code dir/NAME-root} and socket
     * {@code dir/NAME.sock}, no metrics endpoint unless {@code args} name one, and {@code args}; returns once the
     * socket exists.
     */
    static Process serve(Path dir, String name, String... args) throws Exception {
        return serve(dir, name, Map.of(), args);
    }

    /**
     * As {@link #serve}, with {@code javaOptions} (JVM flags, space-separated) passed to the launcher as
     * {@code SINGLEPULL_JAVA_OPTS}, after its own flags, so they override them; null keeps the launcher's alone.
     */
    static Process serveWithJavaOptions(Path dir, String name, String javaOptions, String... args) throws Exception {
        return serve(dir, name, javaOptions == null ? Map.of() : Map.of("SINGLEPULL_JAVA_OPTS", javaOptions), args);
    }

    /** {@link #serve(Path, String, String...)} with {@code env} added to the launcher's environment. */
    static Process serve(Path dir, String name, Map<String, String> env, String... args) throws Exception {
        return serve(LAUNCHER, dir, name, env, args);
    }

    /**
     * {@link #serve(Path, String, Map, String...)} with another build's launcher (say, a checkout of the commit
     * before a change, to measure both side by side).
     */
    static Process serve(Path launcher, Path dir, String name, Map<String, String> env, String... args)
            throws Exception {
        Path socket = socket(dir, name);
        List<String> command = new ArrayList<>(List.of(launcher.toString(), "serve", "--root",
                dir.resolve(name + "-root").toString(), "--socket", socket.toString()));
        if (!List.of(args).contains("--metrics-address")) {
            command.addAll(List.of("--metrics-address", ""));
        }
        command.addAll(List.of(args));
        var builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        builder.environment().putAll(env);
        Process p = builder.start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!Files.exists(socket)) {
            if (!p.isAlive() || Instant.now().isAfter(deadline)) {
                p.destroyForcibly();
                throw new IllegalStateException("singlepull did not start: " + Files.readString(dir.resolve(name
                        + ".log")));
            }
            Thread.sleep(100);
        }
        return p;
    }

    /** A loopback port free now, for a service's peer or metrics endpoint. */
    static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /**
     * Runs {@code sync}: every dirty page of every file system on the disk, so that a timed round pays for no earlier
     * round's writes; IllegalStateException if it fails or takes more than 5 minutes.
     */
    static void sync() throws Exception {
        Process sync = new ProcessBuilder("sync").inheritIO().start();
        if (!sync.waitFor(5, TimeUnit.MINUTES) || sync.exitValue() != 0) {
            sync.destroyForcibly();
            throw new IllegalStateException("sync failed or did not finish in 5 minutes");
        }
    }

    static Path socket(Path dir, String name) {
        return dir.resolve(name + ".sock");
    }

    static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    /** {@code load-test --image REF -n N --repeat 1 --endpoint unix://SOCKET} with {@code args}, started. */
    static Process startLoadTest(Path socket, String ref, int n, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(LAUNCHER.toString(), "load-test", "--image", ref, "-n",
                Integer.toString(n), "--repeat", "1", "--endpoint", "unix://" + socket));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** The output of a load-test that succeeded; IllegalStateException with its output otherwise. */
    static String finish(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("load-test failed: " + out);
        }
        return out;
    }

    /** The number after {@code KEY=} in a load-test line (a trailing {@code s} of seconds dropped). */
    static double value(String out, String key) {
        Matcher m = Pattern.compile("\\b" + Pattern.quote(key) + "=([0-9.]+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no " + key + " in: " + out);
        }
        return Double.parseDouble(m.group(1));
    }
}

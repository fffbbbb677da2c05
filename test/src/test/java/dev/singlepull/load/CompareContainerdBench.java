package dev.singlepull.load;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a test: singlepull and containerd 1.6 (Debian's, CRI plugin, overlayfs) side by side, driven the same way
 * by {@code singlepull load-test} over their CRI sockets, cold every round, against one local distribution
 * registry. Prints one table: wall time (median of the rounds), blob GETs and manifest requests per round (from the
 * registry's access log), service CPU seconds and peak RSS. Run with {@code bench/compare-containerd.sh}.
 */
class CompareContainerdBench {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern WALL = Pattern.compile("wall=([0-9.]+)s");

    @TempDir
    Path dir;

    private RegistryProcess registry;

    private record Service(String name, Path socket, long pid) { }

    private record Row(String run, String service, double wall, long blobGets, long manifestRequests, double cpu) { }

    @Test
    void sideBySide() throws Exception {
        assumeTrue(Files.isExecutable(ContainerdProcess.BINARY), "containerd is not installed");
        int rounds = Integer.getInteger("bench.rounds", 3);
        registry = RegistryProcess.start();
        try {
            System.out.println("building and pushing images ...");
            LayerSpec shared1 = textLayer("usr/src/base", 22_000_000, 1);
            LayerSpec shared2 = mixedLayer("usr/lib/base", 18_000_000, 2);
            PushedImage small = TestImages.push(registry, image("bench/small", List.of(
                    textLayer("etc/small", 3_000_000, 10), textLayer("usr/src/small", 4_000_000, 11),
                    mixedLayer("usr/bin/small", 4_000_000, 12))));
            PushedImage medium = TestImages.push(registry, image("bench/medium", List.of(shared1, shared2,
                    textLayer("usr/src/medium", 30_000_000, 20), mixedLayer("usr/bin/medium", 30_000_000, 21),
                    textLayer("usr/share/medium", 30_000_000, 22))));
            PushedImage large = TestImages.push(registry, image("bench/large", List.of(shared1, shared2,
                    LayerSpec.gzip(LayerEntry.dir("data"), LayerEntry.randomFile("data/random.bin", 315_000_000, 30)),
                    textLayer("usr/src/large", 80_000_000, 31), mixedLayer("usr/bin/large", 80_000_000, 32))));
            for (PushedImage p : List.of(small, medium, large)) {
                System.out.printf(Locale.ROOT, "image %s: %d layers, %.1f MB compressed%n", p.reference(),
                        p.layerDigests().size(), p.totalSize() / 1e6);
            }
            List<Row> rows = new ArrayList<>();
            try (ContainerdProcess containerd = ContainerdProcess.start(Files.createDirectories(dir.resolve("ctr")),
                    registry.hostPort())) {
                Process singlepull = startSinglepull();
                try {
                    List<Service> services = List.of(
                            new Service("containerd", containerd.socket(), containerd.pid()),
                            new Service("singlepull", dir.resolve("sp.sock"), singlepull.pid()));
                    for (PushedImage image : List.of(small, medium, large)) {
                        for (int n : List.of(1, 20)) {
                            String run = String.format(Locale.ROOT, "%.0f MB, %d pull%s", image.totalSize() / 1e6, n,
                                    n == 1 ? "" : "s");
                            for (Service service : services) {
                                rows.add(measure(run, service, rounds, () -> loadTest(service, image.reference(), n,
                                        false)));
                            }
                        }
                    }
                    String mixed = "medium + large, 10 pulls each at once";
                    for (Service service : services) {
                        rows.add(measure(mixed, service, rounds, () -> {
                            removeImages(service, medium.reference(), large.reference());
                            long t0 = System.nanoTime();
                            Process a = startLoadTest(service, medium.reference(), 10, true);
                            Process b = startLoadTest(service, large.reference(), 10, true);
                            finish(a);
                            finish(b);
                            return (System.nanoTime() - t0) / 1e9;
                        }));
                    }
                    for (Service service : services) {
                        System.out.printf(Locale.ROOT, "%s peak RSS over the whole run: %.0f MB%n", service.name(),
                                ProcStats.peakRssMb(service.pid()));
                    }
                } finally {
                    singlepull.destroy();
                    singlepull.waitFor(30, TimeUnit.SECONDS);
                }
            }
            print(rows);
        } finally {
            registry.close();
        }
    }

    private interface Round {
        double run() throws Exception;
    }

    private Row measure(String run, Service service, int rounds, Round round) throws Exception {
        List<Double> walls = new ArrayList<>();
        long gets = 0;
        long manifests = 0;
        double cpu = 0;
        for (int i = 0; i < rounds; i++) {
            registry.awaitLogQuiet();
            registry.clearLog();
            double cpu0 = ProcStats.cpuSeconds(service.pid());
            walls.add(round.run());
            cpu += ProcStats.cpuSeconds(service.pid()) - cpu0;
            registry.awaitLogQuiet();
            gets = Math.max(gets, registry.blobGetsTotal());
            manifests = Math.max(manifests, registry.manifestRequests());
        }
        walls.sort(Double::compare);
        Row row = new Row(run, service.name(), walls.get(walls.size() / 2), gets, manifests, cpu / rounds);
        System.out.printf(Locale.ROOT, "%-40s %-11s walls=%s blob_gets=%d manifest_requests=%d cpu=%.1fs%n", run,
                service.name(), walls, gets, manifests, row.cpu());
        return row;
    }

    private double loadTest(Service service, String ref, int n, boolean keepWarm) throws Exception {
        return finish(startLoadTest(service, ref, n, keepWarm));
    }

    private Process startLoadTest(Service service, String ref, int n, boolean keepWarm) throws Exception {
        List<String> command = new ArrayList<>(List.of(PROJECT.resolve("bin/singlepull").toString(), "load-test",
                "--image", ref, "-n", Integer.toString(n), "--repeat", "1", "--endpoint", "unix://" + service.socket()));
        if (keepWarm) {
            command.add("--keep-warm");
        }
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static double finish(Process p) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("load-test failed: " + out);
        }
        Matcher m = WALL.matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no wall time in: " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    private static void removeImages(Service service, String... refs) {
        try (CriClient cri = new CriClient("unix://" + service.socket())) {
            for (String ref : refs) {
                cri.images().removeImage(Cri.remove(ref));
            }
        }
    }

    private Process startSinglepull() throws Exception {
        Path socket = dir.resolve("sp.sock");
        Process p = new ProcessBuilder(PROJECT.resolve("bin/singlepull").toString(), "serve", "--root",
                dir.resolve("sp-root").toString(), "--socket", socket.toString(), "--metrics-address", "")
                .redirectErrorStream(true).redirectOutput(dir.resolve("singlepull.log").toFile()).start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (!Files.exists(socket)) {
            if (!p.isAlive() || Instant.now().isAfter(deadline)) {
                throw new IllegalStateException("singlepull did not start");
            }
            Thread.sleep(100);
        }
        return p;
    }

    private static void print(List<Row> rows) {
        System.out.println();
        System.out.println("| run (cold, median) | containerd wall | singlepull wall | singlepull/containerd "
                + "| blob GETs (ctr / sp) | manifest requests (ctr / sp) | service CPU s (ctr / sp) |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (int i = 0; i + 1 < rows.size(); i += 2) {
            Row c = rows.get(i);
            Row s = rows.get(i + 1);
            System.out.printf(Locale.ROOT, "| %s | %.2f s | %.2f s | %.2f | %d / %d | %d / %d | %.1f / %.1f |%n",
                    c.run(), c.wall(), s.wall(), s.wall() / c.wall(), c.blobGets(), s.blobGets(),
                    c.manifestRequests(), s.manifestRequests(), c.cpu(), s.cpu());
        }
    }

    private static ImageSpec image(String repo, List<LayerSpec> layers) {
        return ImageSpec.builder(repo, "v1").layers(layers).config(ImageConfig.defaults()).build();
    }

    /** A "source tree": many small text files, about 3-4x compressible. */
    private static LayerSpec textLayer(String dir, int bytes, long seed) {
        List<LayerEntry> entries = new ArrayList<>();
        entries.add(LayerEntry.dir(dir.substring(0, dir.indexOf('/'))));
        entries.add(LayerEntry.dir(dir));
        int fileSize = 16 * 1024;
        for (int i = 0; i * fileSize < bytes; i++) {
            entries.add(LayerEntry.textFile(dir + "/f" + i + ".go", fileSize, seed * 100_000 + i));
        }
        return LayerSpec.of(dev.singlepull.it.fixture.Compression.GZIP, entries);
    }

    /** "Binaries": files half random, half text, about 1.5x compressible. */
    private static LayerSpec mixedLayer(String dir, int bytes, long seed) {
        List<LayerEntry> entries = new ArrayList<>();
        entries.add(LayerEntry.dir(dir.substring(0, dir.indexOf('/'))));
        entries.add(LayerEntry.dir(dir));
        int fileSize = 2 * 1024 * 1024;
        for (int i = 0; i * fileSize < bytes; i++) {
            byte[] content = new byte[fileSize];
            System.arraycopy(LayerEntry.randomBytes(fileSize / 2, seed * 1000 + i), 0, content, 0, fileSize / 2);
            System.arraycopy(LayerEntry.compressibleText(fileSize / 2, seed * 1000 + i), 0, content, fileSize / 2,
                    fileSize / 2);
            entries.add(LayerEntry.file(dir + "/bin" + i, content, 0755));
        }
        return LayerSpec.of(dev.singlepull.it.fixture.Compression.GZIP, entries);
    }
}

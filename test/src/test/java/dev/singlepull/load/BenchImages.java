package dev.singlepull.load;

import dev.singlepull.it.fixture.BusyboxImages;
import dev.singlepull.it.fixture.Compression;
import dev.singlepull.it.fixture.ImageConfig;
import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.TestImages;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The three image shapes of the containerd comparison (issue 7), all gzip -6: small (3 layers, about 11 MB
 * compressed), medium (5 layers, about 131 MB) and large (5 layers, about 530 MB, one of them 315 MB of
 * incompressible data); medium and large share their two bottom layers. "Source" layers are many 16 KiB text
 * files, which gzip to about 0.23 of their size; "binary" layers are 2 MiB files half random and half text, about
 * 0.61. The raw sizes below are those ratios worked back from the compressed targets.
 */
final class BenchImages {
    private static final double SOURCE_RATIO = 0.229;
    private static final double BINARY_RATIO = 0.608;

    /** The three images, pushed. */
    record Pushed(PushedImage small, PushedImage medium, PushedImage large) {
        List<PushedImage> all() {
            return List.of(small, medium, large);
        }

        String[] references() {
            return all().stream().map(PushedImage::reference).toArray(String[]::new);
        }
    }

    private BenchImages() {
    }

    static Pushed push(RegistryProcess registry) {
        PushedImage small = TestImages.push(registry, image("bench/small", smallLayers()));
        PushedImage medium = TestImages.push(registry, image("bench/medium", List.of(sharedSource(),
                sharedBinaries(), source("usr/src/medium", 28, 20), binaries("usr/bin/medium", 30, 21),
                source("usr/share/medium", 28, 22))));
        var pushed = new Pushed(small, medium, large(registry));
        pushed.all().forEach(BenchImages::describe);
        return pushed;
    }

    /** The large image alone, pushed. */
    static PushedImage large(RegistryProcess registry) {
        return TestImages.push(registry, image("bench/large", largeLayers()));
    }

    /**
     * The large shape ({@code large} true) or the small one with {@link BusyboxImages#busyboxLayer()} on top and a
     * command that keeps a container running ({@code sleep}), pushed as {@code bench/large-run} or
     * {@code bench/small-run}: an image that a runtime can start.
     */
    static PushedImage runnable(RegistryProcess registry, boolean large) {
        List<LayerSpec> layers = new ArrayList<>(large ? largeLayers() : smallLayers());
        layers.add(BusyboxImages.busyboxLayer());
        return TestImages.push(registry, ImageSpec.builder(large ? "bench/large-run" : "bench/small-run", "v1")
                .layers(layers).config(ImageConfig.empty().withEnv("PATH=/bin").withCmd("sleep", "3600")).build());
    }

    private static List<LayerSpec> smallLayers() {
        return List.of(source("etc/small", 3, 10), source("usr/src/small", 3, 11), binaries("usr/bin/small", 5, 12));
    }

    private static List<LayerSpec> largeLayers() {
        return List.of(sharedSource(), sharedBinaries(),
                LayerSpec.gzip(LayerEntry.dir("data"), LayerEntry.randomFile("data/random.bin", 315_000_000, 30)),
                source("usr/src/large", 85, 31), binaries("usr/bin/large", 85, 32));
    }

    static void describe(PushedImage p) {
        System.out.printf(Locale.ROOT, "image %s: %d layers, %.1f MB compressed%n", p.reference(),
                p.layerDigests().size(), p.totalSize() / 1e6);
    }

    private static LayerSpec sharedSource() {
        return source("usr/src/base", 20, 1);
    }

    private static LayerSpec sharedBinaries() {
        return binaries("usr/lib/base", 25, 2);
    }

    /** The label of an image in a table: its compressed size, "131 MB". */
    static String label(PushedImage image) {
        return String.format(Locale.ROOT, "%.0f MB", image.totalSize() / 1e6);
    }

    private static ImageSpec image(String repo, List<LayerSpec> layers) {
        return ImageSpec.builder(repo, "v1").layers(layers).config(ImageConfig.defaults()).build();
    }

    /** A source tree of about {@code compressedMb} MB once gzipped: 16 KiB text files. */
    private static LayerSpec source(String dir, int compressedMb, long seed) {
        long bytes = (long) (compressedMb * 1e6 / SOURCE_RATIO);
        List<LayerEntry> entries = directories(dir);
        int fileSize = 16 * 1024;
        for (int i = 0; (long) i * fileSize < bytes; i++) {
            entries.add(LayerEntry.textFile(dir + "/f" + i + ".go", fileSize, seed * 100_000 + i));
        }
        return LayerSpec.of(Compression.GZIP, entries);
    }

    /** Binaries of about {@code compressedMb} MB once gzipped: 2 MiB files, half random, half text. */
    private static LayerSpec binaries(String dir, int compressedMb, long seed) {
        long bytes = (long) (compressedMb * 1e6 / BINARY_RATIO);
        List<LayerEntry> entries = directories(dir);
        int fileSize = 2 * 1024 * 1024;
        for (int i = 0; (long) i * fileSize < bytes; i++) {
            byte[] content = new byte[fileSize];
            System.arraycopy(LayerEntry.randomBytes(fileSize / 2, seed * 1000 + i), 0, content, 0, fileSize / 2);
            System.arraycopy(LayerEntry.compressibleText(fileSize / 2, seed * 1000 + i), 0, content, fileSize / 2,
                    fileSize / 2);
            entries.add(LayerEntry.file(dir + "/bin" + i, content, 0755));
        }
        return LayerSpec.of(Compression.GZIP, entries);
    }

    private static List<LayerEntry> directories(String dir) {
        List<LayerEntry> entries = new ArrayList<>();
        entries.add(LayerEntry.dir(dir.substring(0, dir.indexOf('/'))));
        entries.add(LayerEntry.dir(dir));
        return entries;
    }
}

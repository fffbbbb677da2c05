package dev.singlepull.it;

import dev.singlepull.it.fixture.ImageSpec;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerSpec;

/**
 * Small two-layer images for the registry-client ITs, cheap to build, push and unpack (a handful of files, unlike
 * the sample image's two hundred): both layers differ per seed, the second holds {@code dataBytes} random bytes.
 */
final class SmallImages {
    private SmallImages() {
    }

    static ImageSpec of(String repository, String tag, long seed) {
        return of(repository, tag, seed, 16_000);
    }

    static ImageSpec of(String repository, String tag, long seed, int dataBytes) {
        return ImageSpec.builder(repository, tag)
                .layer(LayerSpec.gzip(LayerEntry.dir("etc"), LayerEntry.file("etc/seed", Long.toString(seed) + "\n")))
                .layer(LayerSpec.gzip(LayerEntry.randomFile("data.bin", dataBytes, seed)))
                .build();
    }
}

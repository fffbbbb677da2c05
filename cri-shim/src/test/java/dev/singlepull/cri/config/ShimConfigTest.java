package dev.singlepull.cri.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShimConfigTest {
    @TempDir
    Path dir;

    @Test
    void theDecompressionBombGuardHasDefaultsAndIsConfigurable() throws IOException {
        ShimConfig defaults = ShimConfig.defaults();
        assertEquals(100, defaults.maxExpansionRatio());
        assertEquals(256L << 20, defaults.expansionCheckAbove());

        Path file = Files.writeString(dir.resolve("config.toml"), """
                max_layer_expansion_ratio = 400
                expansion_check_above_bytes = 1073741824
                """);
        ShimConfig loaded = ShimConfig.load(file);
        assertEquals(400, loaded.maxExpansionRatio());
        assertEquals(1L << 30, loaded.expansionCheckAbove());

        Path off = Files.writeString(dir.resolve("off.toml"), "max_layer_expansion_ratio = 0\n");
        assertEquals(0, ShimConfig.load(off).maxExpansionRatio());
    }

    @Test
    void aNegativeRatioIsInvalidArgumentNamingTheKey() throws IOException {
        Path file = Files.writeString(dir.resolve("bad.toml"), "max_layer_expansion_ratio = -1\n");
        var e = assertThrows(SinglepullException.class, () -> ShimConfig.load(file));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("max_layer_expansion_ratio"), e.getMessage());
    }
}

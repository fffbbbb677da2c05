package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.SinglepullException;
import org.junit.jupiter.api.Test;

class PlatformTest {
    private static Platform p(String text) {
        return Platform.parse(text);
    }

    @Test
    void parsesAndRefusesBadText() {
        assertEquals("linux/arm64/v8", p("linux/arm64/v8").toString());
        for (String bad : new String[] {"linux", "linux/", "/amd64", "linux/arm64/v8/x", "linux/arm64/"}) {
            assertThrows(SinglepullException.class, () -> p(bad), bad);
        }
    }

    @Test
    void normalizesArchitectureAliasesAndBaselineVariants() {
        assertEquals(p("linux/amd64"), p("linux/x86_64").normalized());
        assertEquals(p("linux/amd64"), p("linux/amd64/v1").normalized());
        assertEquals(p("linux/arm64"), p("linux/aarch64").normalized());
        assertEquals(p("linux/arm64"), p("linux/arm64/v8").normalized());
        assertEquals(p("linux/arm64"), p("linux/arm64/8").normalized());
        assertEquals(p("linux/arm"), p("linux/armhf").normalized());
        assertEquals(p("linux/arm/v6"), p("linux/armel").normalized());
        assertEquals(p("linux/arm/v6"), p("linux/arm/6").normalized());
    }

    @Test
    void arm64WantsV8OrNoVariantButNotNewer() {
        Platform arm64 = p("linux/arm64");
        assertTrue(arm64.accepts(p("linux/arm64/v8")));
        assertTrue(arm64.accepts(p("linux/arm64")));
        assertFalse(arm64.accepts(p("linux/arm64/v9")));
        assertTrue(p("linux/arm64/v8").accepts(p("linux/arm64")));
        assertTrue(p("linux/arm64/v9").accepts(p("linux/arm64/v8")));
        assertFalse(arm64.accepts(p("linux/arm/v7")), "a different architecture");
    }

    @Test
    void armRunsOlderVariantsAndAmd64BaselineRunsOnlyV1() {
        assertTrue(p("linux/arm/v7").accepts(p("linux/arm/v6")));
        assertTrue(p("linux/arm").accepts(p("linux/arm/v5")));
        assertFalse(p("linux/arm/v6").accepts(p("linux/arm/v7")));
        assertTrue(p("linux/amd64").accepts(p("linux/amd64/v1")));
        assertFalse(p("linux/amd64").accepts(p("linux/amd64/v3")));
        assertTrue(p("linux/amd64/v3").accepts(p("linux/amd64/v2")));
        assertFalse(p("linux/amd64").accepts(p("windows/amd64")));
    }

    @Test
    void otherArchitecturesCompareVariantsOnlyWhenBothHaveOne() {
        assertTrue(p("linux/riscv64").accepts(p("linux/riscv64/rva22")));
        assertTrue(p("linux/riscv64/rva22").accepts(p("linux/riscv64")));
        assertFalse(p("linux/riscv64/rva22").accepts(p("linux/riscv64/rva20")));
    }

    @Test
    void theSamePlatformRanksFirstThenTheNewestVariantThatRuns() {
        Platform want = p("linux/arm/v7");
        assertTrue(want.rank(p("linux/arm/v7")) > want.rank(p("linux/arm/v6")));
        assertTrue(want.rank(p("linux/arm/v6")) > want.rank(p("linux/arm/v5")));
        assertEquals(-1, want.rank(p("linux/arm64")));
    }
}

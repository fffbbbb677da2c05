package dev.singlepull.cri.pull;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.content.ContentWriter.Extent;
import dev.singlepull.cri.pull.RangedDownload.Part;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which ranges a download fetches when the ingest already holds some parts. */
class RangedDownloadPlanTest {
    @Test
    void aFreshBlobIsCutIntoPartsFromTheOffset() {
        assertEquals(List.of(new Part(10, 110), new Part(110, 210), new Part(210, 250)),
                RangedDownload.plan(10, List.of(), 250, 100));
        assertEquals(240, RangedDownload.missing(10, List.of(), 250));
    }

    @Test
    void partsKeptFromBeforeACrashAreNotFetchedAgain() {
        List<Extent> kept = List.of(new Extent(150, 300), new Extent(320, 400), new Extent(900, 1000));
        assertEquals(List.of(new Part(100, 150), new Part(300, 320), new Part(400, 500), new Part(500, 600),
                        new Part(600, 700), new Part(700, 800), new Part(800, 900)),
                RangedDownload.plan(100, kept, 1000, 100));
        assertEquals(900 - 150 - 80 - 100, RangedDownload.missing(100, kept, 1000));
    }

    @Test
    void nothingIsLeftWhenTheKeptPartsReachTheEnd() {
        assertEquals(List.of(new Part(0, 50)), RangedDownload.plan(0, List.of(new Extent(50, 200)), 200, 100));
        assertEquals(50, RangedDownload.missing(0, List.of(new Extent(50, 200)), 200));
    }
}

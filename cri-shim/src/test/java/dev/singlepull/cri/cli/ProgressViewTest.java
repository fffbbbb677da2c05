package dev.singlepull.cri.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.admin.v1.Flight;
import dev.singlepull.api.admin.v1.PullProgress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressViewTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private static PullProgress reading(String phaseA, long doneA, String phaseB, long doneB) {
        return PullProgress.newBuilder()
                .addItems(Flight.newBuilder().setTier("ref").setKey("img").setPhase("downloading and unpacking"))
                .addItems(layer("sha256:aaaaaaaaaaaaaaaaaaaa", phaseA, doneA, 1000))
                .addItems(layer("sha256:bbbbbbbbbbbbbbbbbbbb", phaseB, doneB, 4000))
                .build();
    }

    private static Flight layer(String key, String phase, long done, long total) {
        return Flight.newBuilder().setTier("layer").setKey(key).setPhase(phase).setBytesDone(done)
                .setBytesTotal(total).build();
    }

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void barsRedrawEveryLayerInPlace() {
        var bars = new ProgressView.Bars(out);
        bars.show(reading("downloading", 500, "waiting", 0));
        bars.show(reading("unpacking", 1000, "downloading", 1000));
        String text = output();
        String[] frames = text.split("\u001b\\[2A"); // the second frame moves up over the two bars of the first
        assertEquals(2, frames.length, text);
        assertTrue(frames[0].contains("aaaaaaaaaaaa: Downloading [" + "=".repeat(25) + ">"), frames[0]);
        assertTrue(frames[1].contains("bbbbbbbbbbbb: Downloading [" + "=".repeat(12) + ">"), frames[1]);
        assertTrue(frames[1].contains("1.00kB/4.00kB"), frames[1]);
        assertTrue(!text.contains("img:"), "the ref line is not drawn as a layer");
    }

    @Test
    void completeMarksEveryLayerDone() {
        var bars = new ProgressView.Bars(out);
        bars.show(reading("downloading", 500, "downloading", 100));
        bars.complete();
        String last = output().substring(output().lastIndexOf("\u001b[2A"));
        assertTrue(last.contains("aaaaaaaaaaaa: Pull complete"), last);
        assertTrue(last.contains("bbbbbbbbbbbb: Pull complete"), last);
        assertTrue(!last.contains(" ["), "no bar for a finished layer: " + last);
    }

    @Test
    void linesPrintOneLinePerPhaseChange() {
        var lines = new ProgressView.Lines(out);
        lines.show(reading("downloading", 10, "downloading", 10));
        lines.show(reading("downloading", 900, "downloading", 2000));
        lines.show(reading("unpacking", 1000, "downloading", 3000));
        lines.complete();
        assertEquals("""
                aaaaaaaaaaaa: Downloading (1.00kB)
                bbbbbbbbbbbb: Downloading (4.00kB)
                aaaaaaaaaaaa: Unpacking (1.00kB)
                aaaaaaaaaaaa: Pull complete (1.00kB)
                bbbbbbbbbbbb: Pull complete (4.00kB)
                """, output());
    }
}

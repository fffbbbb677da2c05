package dev.singlepull.cri.cli;

import dev.singlepull.api.admin.v1.Flight;
import dev.singlepull.api.admin.v1.PullProgress;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Shows a pull's progress as it arrives from {@code Admin.WatchPull}: on a terminal, one bar per layer redrawn in
 * place, as {@code docker pull} draws them; elsewhere, one plain line whenever a layer changes phase.
 */
abstract sealed class ProgressView permits ProgressView.Bars, ProgressView.Lines {
    protected final PrintStream out;

    ProgressView(PrintStream out) {
        this.out = out;
    }

    /** Bars when standard output is a terminal, plain lines otherwise. */
    static ProgressView forConsole(PrintStream out) {
        var console = System.console();
        return console != null && console.isTerminal() ? new Bars(out) : new Lines(out);
    }

    private PullProgress last = PullProgress.getDefaultInstance();

    /** Shows one reading. */
    final void show(PullProgress reading) {
        last = reading;
        draw(reading);
    }

    /**
     * Called once the pull has succeeded: shows every layer seen as complete (the last reading may predate the end
     * of the last layers).
     */
    final void complete() {
        show(completed(last));
    }

    abstract void draw(PullProgress reading);

    /** The last reading, with every layer marked complete. */
    static PullProgress completed(PullProgress last) {
        PullProgress.Builder done = last.toBuilder().clearItems();
        for (Flight f : last.getItemsList()) {
            done.addItems(f.toBuilder().setPhase("pull complete").setBytesDone(Math.max(f.getBytesTotal(), 0)));
        }
        return done.build();
    }

    static String shortName(String key) {
        String hex = key.startsWith("sha256:") ? key.substring(7) : key;
        return hex.length() > 12 ? hex.substring(0, 12) : hex;
    }

    /** The phase with a capital, as docker writes "Downloading", "Pull complete". */
    static String describe(Flight f) {
        String phase = f.getPhase();
        return phase.isEmpty() ? "" : Character.toUpperCase(phase.charAt(0)) + phase.substring(1);
    }

    /** Redraws every layer's bar in place. */
    static final class Bars extends ProgressView {
        private static final int WIDTH = 50;
        private int drawn;

        Bars(PrintStream out) {
            super(out);
        }

        @Override
        void draw(PullProgress reading) {
            StringBuilder frame = new StringBuilder();
            if (drawn > 0) {
                frame.append("\u001b[").append(drawn).append('A'); // back to the first bar
            }
            int lines = 0;
            for (Flight f : reading.getItemsList()) {
                if (!f.getTier().equals("layer")) {
                    continue;
                }
                frame.append("\u001b[2K").append(shortName(f.getKey())).append(": ").append(describe(f));
                if (f.getBytesTotal() > 0 && f.getBytesDone() < f.getBytesTotal()) {
                    int filled = (int) (WIDTH * f.getBytesDone() / f.getBytesTotal()); // 0..WIDTH-1 here
                    frame.append(" [").append("=".repeat(filled)).append('>').append(" ".repeat(WIDTH - 1 - filled))
                            .append("] ").append(Sizes.human(f.getBytesDone())).append('/')
                            .append(Sizes.human(f.getBytesTotal()));
                }
                frame.append('\n');
                lines++;
            }
            drawn = lines;
            out.print(frame);
            out.flush();
        }
    }

    /** One line per change of a layer's phase: readable in logs and pipes. */
    static final class Lines extends ProgressView {
        private final Map<String, String> lastPhase = new LinkedHashMap<>();

        Lines(PrintStream out) {
            super(out);
        }

        @Override
        void draw(PullProgress reading) {
            for (Flight f : reading.getItemsList()) {
                if (!f.getTier().equals("layer") || f.getPhase().equals(lastPhase.get(f.getKey()))) {
                    continue;
                }
                lastPhase.put(f.getKey(), f.getPhase());
                String size = f.getBytesTotal() > 0 ? String.format(Locale.ROOT, " (%s)", Sizes.human(f.getBytesTotal())) : "";
                out.println(shortName(f.getKey()) + ": " + describe(f) + size);
            }
            out.flush();
        }
    }
}

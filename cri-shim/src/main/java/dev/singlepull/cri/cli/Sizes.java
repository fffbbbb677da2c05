package dev.singlepull.cri.cli;

import java.util.Locale;

/** Human-readable sizes as crictl prints them (decimal units). */
final class Sizes {
    private Sizes() {
    }

    static String human(long bytes) {
        String[] units = {"B", "kB", "MB", "GB", "TB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < units.length - 1) {
            value /= 1000;
            unit++;
        }
        return unit == 0 ? bytes + "B" : String.format(Locale.ROOT, "%.3g%s", value, units[unit]);
    }
}

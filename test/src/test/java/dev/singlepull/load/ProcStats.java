package dev.singlepull.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and peak resident memory of a process, from /proc. */
final class ProcStats {
    private static final double CLOCK_TICKS = 100.0; // USER_HZ on Linux

    private ProcStats() {
    }

    /** User plus system CPU seconds the process (with its waited-for children) has used so far. */
    static double cpuSeconds(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
        return ticks / CLOCK_TICKS;
    }

    /** Peak resident set size in MB since the process started (VmHWM). */
    static double peakRssMb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }
}

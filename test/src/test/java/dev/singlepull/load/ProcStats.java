package dev.singlepull.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and peak resident memory of a process, from /proc. */
final class ProcStats {
    private static final double CLOCK_TICKS = 100.0; // USER_HZ on Linux

    private ProcStats() {
    }

    /**
     * User plus system CPU seconds the process and its waited-for children (containerd's {@code unpigz}, for one)
     * have used so far. A child is counted once it has exited and been waited for.
     */
    static double cpuSeconds(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]) // utime, stime
                + Long.parseLong(fields[13]) + Long.parseLong(fields[14]); // cutime, cstime: the children's
        return ticks / CLOCK_TICKS;
    }

    /**
     * CPU seconds (user plus system) of each live thread of the process, summed by thread name with digits and
     * trailing {@code #N} dropped ("C2 CompilerThread0" and "C2 CompilerThread1" count as one). Threads that ended are
     * missing: compare two looks only for threads that live throughout.
     */
    static java.util.Map<String, Double> threadCpuSeconds(long pid) throws IOException {
        java.util.Map<String, Double> byName = new java.util.TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (java.nio.file.NoSuchFileException gone) {
                    continue;
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
                        .replaceAll("[#0-9]+$", "").trim();
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                double seconds = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / CLOCK_TICKS;
                byName.merge(name, seconds, Double::sum);
            }
        }
        return byName;
    }

    /** Peak resident set size in MB since the process started or its last reset (VmHWM). */
    static double peakRssMb(long pid) throws IOException {
        return statusMb(pid, "VmHWM:");
    }

    /** Resident set size in MB now (VmRSS). */
    static double rssMb(long pid) throws IOException {
        return statusMb(pid, "VmRSS:");
    }

    /** Resets the peak RSS of the process to its RSS now (clear_refs 5), so that a round's peak is its own. */
    static void resetPeakRss(long pid) throws IOException {
        Files.writeString(Path.of("/proc/" + pid + "/clear_refs"), "5");
    }

    private static double statusMb(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }
}

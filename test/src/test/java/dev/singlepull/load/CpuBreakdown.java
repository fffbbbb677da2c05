package dev.singlepull.load;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a service's CPU went during timed windows, from a JFR recording of {@code jdk.CPUTimeSample} events and from
 * the CPU of the JVM's own threads read around each window. The JVM's threads (the VM thread, which runs the serial
 * collector and safepoint operations; the JIT compilers; JFR's native threads) are counted from {@code /proc}; the
 * rest of the window's CPU is shared out over the categories in proportion to the CPU-time samples of Java threads.
 *
 * <p>A sample is placed by two things: what its innermost frames do (hash, inflate, copy bytes) and the innermost
 * frame that says what for (the ingest writer, the follower of an ingest, the decompressing side, the tar reader,
 * the tar applier, the HTTP client...). See {@link #categoryOf}.
 */
final class CpuBreakdown {
    /** A JFR configuration with CPU-time samples every 5 ms of a thread's CPU, and nothing else of note. */
    static final String SETTINGS = """
            <?xml version="1.0" encoding="UTF-8"?>
            <configuration version="2.0" label="cpu" description="CPU-time samples for CpuPerPullBench">
              <event name="jdk.CPUTimeSample">
                <setting name="enabled">true</setting>
                <setting name="throttle">5 ms</setting>
                <setting name="stackTrace">true</setting>
              </event>
              <event name="jdk.CPUTimeSamplesLost"><setting name="enabled">true</setting></event>
              <event name="jdk.GarbageCollection">
                <setting name="enabled">true</setting>
                <setting name="threshold">0 ms</setting>
              </event>
            </configuration>
            """;

    /** One timed window: its wall-clock bounds, the process CPU in it, and per-thread-name CPU at its ends. */
    record Window(Instant start, Instant end, double cpu, Map<String, Double> threadsBefore,
                  Map<String, Double> threadsAfter) { }

    static final String DOWNLOAD = "download and HTTP";
    static final String INGEST_WRITE = "the ingest write";
    static final String READ_BACK = "the read-back that follows the ingest";
    static final String DIGEST = "digest (SHA-256 of the compressed blob)";
    static final String INFLATE = "inflate";
    static final String DIFF_ID = "DiffID (SHA-256 of the tar)";
    static final String TAR = "tar parsing";
    static final String FILE_DATA = "writing file data";
    static final String FILE_META = "file creation and metadata syscalls";
    static final String COPIES = "copies between buffers";
    static final String HAND_OFF = "thread hand-offs (locks, wake-ups)";
    static final String COMMIT = "commits (blob fsync, snapshot syncfs, records)";
    static final String GC = "GC and safepoints (VM thread)";
    static final String JIT = "JIT compilers";
    static final String OTHER = "other (gRPC, JFR, idle loops)";

    private static final List<String> ORDER = List.of(DOWNLOAD, INGEST_WRITE, READ_BACK, DIGEST, INFLATE, DIFF_ID, TAR,
            FILE_DATA, FILE_META, COPIES, HAND_OFF, COMMIT, GC, JIT, OTHER);

    /** What the innermost frames do. */
    private enum Op { HASH, INFLATE, COPY, LOCK, OTHER }

    /** Purposes, tried for each frame from the innermost out: the first that matches places the sample. */
    private static final List<Map.Entry<String, Function<Op, String>>> PURPOSES = List.of(
            Map.entry("dev.singlepull.content.local.LocalWriter.hashContiguousParts",
                    op -> op == Op.HASH ? DIGEST : op == Op.COPY ? COPIES : READ_BACK),
            Map.entry("dev.singlepull.content.local.LocalWriter.commit", op -> COMMIT),
            Map.entry("dev.singlepull.content.local.LocalWriter.", op -> op == Op.HASH ? DIGEST
                    : op == Op.COPY ? COPIES : op == Op.LOCK ? HAND_OFF : INGEST_WRITE),
            Map.entry("dev.singlepull.content.local.IngestWatch.", op -> HAND_OFF),
            Map.entry("dev.singlepull.content.local.IngestFollower.", op -> op == Op.COPY ? COPIES
                    : op == Op.LOCK ? HAND_OFF : READ_BACK),
            Map.entry("dev.singlepull.unpack.ChunkPipe", op -> op == Op.COPY ? COPIES : HAND_OFF),
            Map.entry("dev.singlepull.unpack.tar.IsalInflate", op -> INFLATE),
            Map.entry("dev.singlepull.unpack.tar.IsalGzipInputStream", op -> op == Op.COPY ? COPIES : INFLATE),
            Map.entry("dev.singlepull.unpack.tar.TarReader.", op -> op == Op.COPY ? COPIES : TAR),
            Map.entry("dev.singlepull.unpack.tar.TarApplier$Run.copy", op -> op == Op.COPY ? COPIES : FILE_DATA),
            Map.entry("dev.singlepull.unpack.tar.", op -> op == Op.COPY ? COPIES : FILE_META),
            Map.entry("dev.singlepull.unpack.snapshot.", op -> COMMIT),
            Map.entry("dev.singlepull.content.meta.", op -> COMMIT),
            Map.entry("dev.singlepull.unpack.LayerPipeline.produce", op -> switch (op) {
                case HASH -> DIFF_ID;
                case COPY -> COPIES;
                case LOCK -> HAND_OFF;
                default -> INFLATE;
            }),
            Map.entry("dev.singlepull.unpack.LayerPipeline.run", op -> op == Op.COPY ? COPIES : TAR),
            Map.entry("jdk.internal.net.http.", op -> op == Op.COPY ? COPIES : DOWNLOAD),
            Map.entry("dev.singlepull.cri.pull.RangedDownload.", op -> op == Op.COPY ? COPIES : DOWNLOAD),
            Map.entry("dev.singlepull.cri.pull.BlobFetcher.", op -> op == Op.COPY ? COPIES : DOWNLOAD),
            Map.entry("sun.nio.ch.SocketChannelImpl.", op -> op == Op.COPY ? COPIES : DOWNLOAD));

    private final int framesToList;

    /** @param framesToList how many of the commonest innermost frames to list (0: none) */
    CpuBreakdown(int framesToList) {
        this.framesToList = framesToList;
    }

    /** Prints the table of where the CPU of {@code windows} went, from {@code recording}. */
    void print(Path recording, List<Window> windows) throws IOException {
        Map<String, Long> samples = new HashMap<>();
        Map<String, Long> otherLeaves = new HashMap<>();
        long total = 0;
        long gcs = 0;
        double gcPauseMs = 0;
        long lost = 0;
        try (var file = new RecordingFile(recording)) {
            while (file.hasMoreEvents()) {
                RecordedEvent e = file.readEvent();
                if (!inside(e.getStartTime(), windows)) {
                    continue;
                }
                switch (e.getEventType().getName()) {
                    case "jdk.CPUTimeSample" -> {
                        String category = categoryOf(e);
                        samples.merge(category, 1L, Long::sum);
                        total++;
                        if (framesToList > 0) {
                            otherLeaves.merge(category + " :: " + leaves(e.getStackTrace(), 5), 1L, Long::sum);
                        }
                    }
                    case "jdk.GarbageCollection" -> {
                        gcs++;
                        gcPauseMs += e.getDuration().toNanos() / 1e6;
                    }
                    case "jdk.CPUTimeSamplesLost" -> lost += e.getLong("lostSamples");
                    default -> { }
                }
            }
        }
        double cpu = 0;
        double vm = 0;
        double jit = 0;
        double jfrNative = 0;
        Map<String, Double> threads = new LinkedHashMap<>();
        for (Window w : windows) {
            cpu += w.cpu();
            for (var t : w.threadsAfter().entrySet()) {
                double d = t.getValue() - w.threadsBefore().getOrDefault(t.getKey(), 0.0);
                threads.merge(t.getKey(), d, Double::sum);
            }
        }
        for (var t : threads.entrySet()) {
            String name = t.getKey();
            if (name.equals("VM Thread") || name.startsWith("GC Thread")) {
                vm += t.getValue();
            } else if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
                jit += t.getValue();
            } else if (name.startsWith("JFR")) {
                jfrNative += t.getValue();
            }
        }
        int n = windows.size();
        double javaCpu = cpu - vm - jit - jfrNative;
        System.out.printf(Locale.ROOT, "%nwhere the service CPU of a cold pull goes (mean of %d windows: %.2f s per pull;"
                + " %d CPU-time samples of Java threads, %d lost; %d collections, %.0f ms of pauses per pull)%n", n,
                cpu / n, total, lost, gcs, gcPauseMs / n);
        System.out.println("| category | CPU s per pull | share | samples |");
        System.out.println("|---|---|---|---|");
        for (String category : ORDER) {
            double seconds;
            long count = samples.getOrDefault(category, 0L);
            if (category.equals(GC)) {
                seconds = vm;
            } else if (category.equals(JIT)) {
                seconds = jit;
            } else {
                seconds = total == 0 ? 0 : javaCpu * count / total;
                if (category.equals(OTHER)) {
                    seconds += jfrNative;
                }
            }
            System.out.printf(Locale.ROOT, "| %s | %.2f | %.0f%% | %s |%n", category, seconds / n, 100 * seconds / cpu,
                    category.equals(GC) || category.equals(JIT) ? "(threads)" : Long.toString(count));
        }
        System.out.printf(Locale.ROOT, "| total | %.2f | 100%% | %d |%n", cpu / n, total);
        System.out.println("threads (CPU s over all windows): " + threads.entrySet().stream()
                .filter(t -> t.getValue() >= 0.05)
                .map(t -> String.format(Locale.ROOT, "%s=%.2f", t.getKey(), t.getValue())).toList());
        if (framesToList > 0) {
            System.out.println("commonest innermost frames by category:");
            otherLeaves.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .limit(framesToList).forEach(l -> System.out.println("  " + l.getValue() + "  " + l.getKey()));
        }
    }

    private static boolean inside(Instant t, List<Window> windows) {
        for (Window w : windows) {
            if (!t.isBefore(w.start()) && !t.isAfter(w.end())) {
                return true;
            }
        }
        return false;
    }

    /** The category of one CPU-time sample. */
    static String categoryOf(RecordedEvent sample) {
        RecordedStackTrace stack = sample.getStackTrace();
        if (stack == null || stack.getFrames().isEmpty()) {
            return OTHER;
        }
        List<RecordedFrame> frames = stack.getFrames();
        Op op = opOf(frames);
        for (RecordedFrame frame : frames) {
            String method = name(frame);
            for (var purpose : PURPOSES) {
                if (method.startsWith(purpose.getKey())) {
                    return purpose.getValue().apply(op);
                }
            }
        }
        return op == Op.COPY ? COPIES : OTHER;
    }

    private static final Set<String> COPY_LEAVES = Set.of("java.lang.System.arraycopy",
            "jdk.internal.misc.Unsafe.copyMemory", "jdk.internal.misc.Unsafe.copyMemory0",
            "jdk.internal.misc.ScopedMemoryAccess.copyMemory", "jdk.internal.misc.ScopedMemoryAccess.copyMemoryInternal",
            "java.lang.foreign.MemorySegment.copy", "jdk.internal.foreign.AbstractMemorySegmentImpl.copy",
            "java.nio.HeapByteBuffer.put", "java.nio.HeapByteBuffer.get", "java.nio.DirectByteBuffer.put",
            "java.nio.DirectByteBuffer.get", "java.nio.ByteBuffer.put", "java.util.Arrays.copyOf",
            "java.util.Arrays.copyOfRange", "jdk.internal.misc.Unsafe.copySwapMemory");

    /**
     * Innermost frames that stand for a stub the sampler cannot walk: the SHA-256 intrinsic and the array copy stubs
     * are not Java frames, so their samples show the compiled method that called them (with the digest update or the
     * buffer read inlined).
     */
    private static final Map<String, Op> STUB_CALLERS = Map.of(
            "java.io.InputStream.readNBytes", Op.HASH, // the DiffID's DigestInputStream, inlined
            "java.security.MessageDigest$Delegate.engineUpdate", Op.HASH,
            "dev.singlepull.content.local.LocalWriter.hashContiguousParts", Op.HASH,
            "dev.singlepull.content.local.LocalWriter.write", Op.HASH,
            "dev.singlepull.content.local.LocalWriter.writeAt", Op.HASH,
            "java.io.FilterInputStream.read", Op.COPY); // a pipe chunk or an inflate buffer copied out

    /** What the innermost frames of a sample do. */
    private static Op opOf(List<RecordedFrame> frames) {
        Op stub = STUB_CALLERS.get(name(frames.getFirst()));
        if (stub != null) {
            return stub;
        }
        for (int i = 0; i < Math.min(12, frames.size()); i++) {
            String method = name(frames.get(i));
            if (method.startsWith("sun.security.provider.SHA2") || method.startsWith("sun.security.provider.DigestBase")) {
                return Op.HASH;
            }
            if (method.startsWith("dev.singlepull.unpack.tar.IsalInflate") || method.startsWith("java.util.zip.Inflater")
                    || method.startsWith("com.github.luben.zstd")) {
                return Op.INFLATE;
            }
            if (COPY_LEAVES.contains(method)) {
                return Op.COPY;
            }
            if (method.startsWith("java.util.concurrent.locks.") || method.startsWith("jdk.internal.misc.Unsafe.park")
                    || method.startsWith("jdk.internal.misc.Unsafe.unpark")) {
                return Op.LOCK;
            }
        }
        return Op.OTHER;
    }

    private static String name(RecordedFrame frame) {
        return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
    }

    private static String leaves(RecordedStackTrace stack, int count) {
        if (stack == null) {
            return "(no stack)";
        }
        StringBuilder sb = new StringBuilder();
        List<RecordedFrame> frames = stack.getFrames();
        for (int i = 0; i < Math.min(count, frames.size()); i++) {
            if (i > 0) {
                sb.append(" < ");
            }
            sb.append(name(frames.get(i)));
        }
        return sb.toString();
    }
}

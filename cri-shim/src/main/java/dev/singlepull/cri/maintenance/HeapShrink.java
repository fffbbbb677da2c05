package dev.singlepull.cri.maintenance;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.function.LongSupplier;

/**
 * Hands the heap a burst of pulls grew back to the node: full collections under free ratios lowered for the moment.
 *
 * <p>A collection alone gives nothing back. The serial collector shrinks its old generation only when more than
 * {@code MaxHeapFreeRatio} (70% by default) of it is free after a full collection; a burst of pulls fills the
 * 32 MiB old generation of the launcher's 48 MiB heap, and the 12-13 MiB that stay live leave it 60-65% free, so it
 * keeps every page. Lowering the ratio for good would make every full collection during a pull shrink the heap, and
 * pulls then pay with more collections (measured: 1.35-1.66x walls). Both ratios are manageable flags, so this sets
 * them low only around its own collections and puts them back at once. The collector also damps shrinking over
 * successive collections (0, 10, 40, then 100% of the excess), so this collects until the committed heap stops
 * falling, at most {@value #MAX_COLLECTIONS} times. One shrink at a time per JVM.
 */
public final class HeapShrink implements Runnable {
    private static final System.Logger LOG = System.getLogger(HeapShrink.class.getName());
    static final int MAX_COLLECTIONS = 6;
    /** The free share the old generation keeps at most while shrinking: 10% above what is live. */
    private static final String SHRINK_MAX_FREE = "10";
    /**
     * The flags are the JVM's, one set per process: two shrinks at once (two nodes in one JVM, as in tests) would
     * otherwise read each other's lowered values as the ones to put back.
     */
    private static final Object JVM_FLAGS = new Object();

    /** Reads and sets a VM flag by name; a failure to set is an exception. */
    interface Flags {
        String get(String name);

        void set(String name, String value);
    }

    private final Flags flags;
    private final Runnable collect;
    private final LongSupplier committedHeap;

    HeapShrink(Flags flags, Runnable collect, LongSupplier committedHeap) {
        this.flags = flags;
        this.collect = collect;
        this.committedHeap = committedHeap;
    }

    /** The running JVM's: its diagnostic bean for the flags, {@link System#gc()}, its heap's committed bytes. */
    public static HeapShrink ofThisJvm() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        Flags flags = new Flags() {
            @Override
            public String get(String name) {
                return diagnostic().getVMOption(name).getValue();
            }

            @Override
            public void set(String name, String value) {
                diagnostic().setVMOption(name, value);
            }

            /** Looked up when used: a JVM without it (not HotSpot) then collects with its own ratios. */
            private HotSpotDiagnosticMXBean diagnostic() {
                return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            }
        };
        return new HeapShrink(flags, System::gc, () -> memory.getHeapMemoryUsage().getCommitted());
    }

    @Override
    public void run() {
        synchronized (JVM_FLAGS) {
            shrink();
        }
    }

    private void shrink() {
        long before = committedHeap.getAsLong();
        String minFree = null;
        String maxFree = null;
        boolean minSet = false;
        boolean maxSet = false;
        try {
            minFree = flags.get("MinHeapFreeRatio");
            maxFree = flags.get("MaxHeapFreeRatio");
            // MinHeapFreeRatio <= MaxHeapFreeRatio at every step: the minimum goes down first and back up last
            flags.set("MinHeapFreeRatio", "0");
            minSet = true;
            flags.set("MaxHeapFreeRatio", SHRINK_MAX_FREE);
            maxSet = true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "heap free ratios not adjustable; collecting with the JVM's", e);
        }
        try {
            long committed = before;
            for (int i = 0; i < MAX_COLLECTIONS; i++) {
                collect.run();
                long now = committedHeap.getAsLong();
                if (i > 0 && now >= committed) {
                    break; // the first collection may give nothing, damped; after that, no change means done
                }
                committed = now;
            }
        } finally {
            if (maxSet) {
                flags.set("MaxHeapFreeRatio", maxFree);
            }
            if (minSet) {
                flags.set("MinHeapFreeRatio", minFree);
            }
        }
        LOG.log(System.Logger.Level.DEBUG, "idle heap: {0} KiB committed, was {1} KiB",
                committedHeap.getAsLong() / 1024, before / 1024);
    }
}

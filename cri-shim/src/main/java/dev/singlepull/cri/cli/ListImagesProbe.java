package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.ImageServiceGrpc;
import dev.singlepull.api.cri.v1.ListImagesRequest;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Calls ListImages at a fixed period on a thread of its own while a load-test round runs, as kubelet's image
 * garbage collector and {@code crictl images} do beside pulls, and records each call's latency. A call that
 * overruns the period delays the next one rather than piling up. For one round: {@link #start}, then {@link #stop}.
 */
final class ListImagesProbe {
    private static final long CALL_DEADLINE_SECONDS = 60;

    private final ImageServiceGrpc.ImageServiceBlockingStub stub;
    private final long periodNanos;
    private final List<Double> latencies = new ArrayList<>();
    private int failures;
    private final Thread thread;
    private volatile boolean stopping;

    private ListImagesProbe(ImageServiceGrpc.ImageServiceBlockingStub stub, long periodMillis) {
        this.stub = stub;
        this.periodNanos = TimeUnit.MILLISECONDS.toNanos(periodMillis);
        this.thread = Thread.ofVirtual().name("list-images-probe").unstarted(this::run);
    }

    static ListImagesProbe start(ImageServiceGrpc.ImageServiceBlockingStub stub, long periodMillis) {
        var probe = new ListImagesProbe(stub, periodMillis);
        probe.thread.start();
        return probe;
    }

    private void run() {
        long next = System.nanoTime();
        while (!stopping) {
            long t0 = System.nanoTime();
            try {
                stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS)
                        .listImages(ListImagesRequest.getDefaultInstance());
                record((System.nanoTime() - t0) / 1e9, false);
            } catch (StatusRuntimeException e) {
                record((System.nanoTime() - t0) / 1e9, true);
            }
            next = Math.max(next + periodNanos, System.nanoTime());
            LockSupport.parkNanos(next - System.nanoTime());
        }
    }

    private synchronized void record(double seconds, boolean failed) {
        latencies.add(seconds);
        if (failed) {
            failures++;
        }
    }

    /** Stops the probe and summarizes: {@code list_images=CALLS p50=… p99=… max=… failures=…}. */
    String stop() throws InterruptedException {
        stopping = true;
        thread.join();
        synchronized (this) {
            double[] values = latencies.stream().mapToDouble(Double::doubleValue).toArray();
            return String.format(Locale.ROOT, "list_images=%d list_p50=%.4fs list_p99=%.4fs list_max=%.4fs"
                            + " list_failures=%d", values.length, LoadTestCommand.percentile(values, 50),
                    LoadTestCommand.percentile(values, 99), LoadTestCommand.percentile(values, 100), failures);
        }
    }
}

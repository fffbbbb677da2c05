package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.ImageServiceGrpc;
import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.PullImageRequest;
import dev.singlepull.api.cri.v1.RemoveImageRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Fires N concurrent PullImage calls at any CRI endpoint, R times, each time from cold: the image is removed first
 * (singlepull then collects its content and snapshots at once, so the next pull downloads and unpacks again).
 * Prints one summary line per repeat.
 */
@Command(name = "load-test", description = "N concurrent cold pulls of one image against a CRI endpoint.")
final class LoadTestCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = "--image", required = true, paramLabel = "REF", description = "image to pull")
    String image;

    @Option(names = "-n", paramLabel = "N", description = "concurrent PullImage calls (default: ${DEFAULT-VALUE})")
    int concurrency = 20;

    @Option(names = "--repeat", paramLabel = "R", description = "rounds, each from cold (default: ${DEFAULT-VALUE})")
    int repeat = 1;

    @Option(names = "--endpoint", paramLabel = "unix:///PATH",
            description = "CRI image endpoint (default: singlepull's socket)")
    String endpoint;

    @Option(names = "--socket", paramLabel = "PATH", hidden = true)
    String socket;

    @Option(names = "--keep-warm", description = "do not remove the image before each round")
    boolean keepWarm;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "per-call deadline (default: ${DEFAULT-VALUE})")
    long timeoutSeconds = 600;

    @Option(names = "--probe-list-images", paramLabel = "MS",
            description = "during each round, also call ListImages every MS milliseconds and report its latency "
                    + "(p50, p99, max): whether the service still answers while it pulls (0: off, the default)")
    long probeMillis;

    @Override
    public Integer call() throws Exception {
        String target = endpoint != null ? endpoint
                : socket != null ? socket : dev.singlepull.cri.config.DefaultPaths.socket().toString();
        int failedRounds = 0;
        try (CriClient cri = new CriClient(target)) {
            for (int round = 1; round <= repeat; round++) {
                if (!keepWarm) {
                    cri.images().removeImage(RemoveImageRequest.newBuilder()
                            .setImage(ImageSpec.newBuilder().setImage(image)).build());
                }
                ListImagesProbe probe = probeMillis > 0 ? ListImagesProbe.start(cri.images(), probeMillis) : null;
                Round result;
                String probed = "";
                try {
                    result = runRound(cri.images());
                } finally {
                    if (probe != null) {
                        probed = " " + probe.stop();
                    }
                }
                System.out.printf(Locale.ROOT,
                        "round %d/%d: n=%d wall=%.3fs p50=%.3fs p99=%.3fs max=%.3fs failures=%d%s%s%n",
                        round, repeat, concurrency, result.wallSeconds, result.percentile(50), result.percentile(99),
                        result.percentile(100), result.failures.size(), probed,
                        result.failures.isEmpty() ? "" : " first-error=" + result.failures.getFirst());
                if (!result.failures.isEmpty()) {
                    failedRounds++;
                }
            }
        }
        return failedRounds == 0 ? 0 : 1;
    }

    private record Round(double wallSeconds, double[] latencies, List<String> failures) {
        double percentile(int p) {
            return LoadTestCommand.percentile(latencies, p);
        }
    }

    /** The {@code p}th percentile (nearest rank) of {@code values}; 0 for none. */
    static double percentile(double[] values, int p) {
        if (values.length == 0) {
            return 0;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private Round runRound(ImageServiceGrpc.ImageServiceBlockingStub stub) throws InterruptedException {
        PullImageRequest request = PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(image)).build();
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Double>> calls = new ArrayList<>();
        long start;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < concurrency; i++) {
                calls.add(pool.submit(() -> {
                    go.await();
                    long t0 = System.nanoTime();
                    stub.withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS).pullImage(request);
                    return (System.nanoTime() - t0) / 1e9;
                }));
            }
            start = System.nanoTime();
            go.countDown();
        }
        double wall = (System.nanoTime() - start) / 1e9;
        List<Double> latencies = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (Future<Double> call : calls) {
            try {
                latencies.add(call.get());
            } catch (java.util.concurrent.ExecutionException e) {
                failures.add(Main.message(e.getCause()));
            }
        }
        return new Round(wall, latencies.stream().mapToDouble(Double::doubleValue).toArray(), failures);
    }
}

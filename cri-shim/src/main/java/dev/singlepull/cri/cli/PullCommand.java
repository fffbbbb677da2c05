package dev.singlepull.cri.cli;

import dev.singlepull.api.admin.v1.PullProgress;
import dev.singlepull.api.admin.v1.WatchPullRequest;
import dev.singlepull.api.cri.v1.AuthConfig;
import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.PullImageRequest;
import dev.singlepull.api.cri.v1.PullImageResponse;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Pulls an image through the service, as {@code crictl pull} does, showing each layer's progress while it runs. A
 * second {@code pull} of an image already in flight joins that pull and shows the same progress.
 */
@Command(name = "pull", description = "Pull an image through the service.")
final class PullCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "image reference, e.g. docker.io/library/redis:7")
    String image;

    @Option(names = "--creds", paramLabel = "USER[:PASSWORD]", description = "registry credentials")
    String creds;

    @Option(names = {"-q", "--quiet"}, description = "no progress, only the image id")
    boolean quiet;

    @Override
    public void run() {
        PullImageRequest.Builder request = PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(image));
        if (creds != null) {
            int colon = creds.indexOf(':');
            request.setAuth(AuthConfig.newBuilder()
                    .setUsername(colon < 0 ? creds : creds.substring(0, colon))
                    .setPassword(colon < 0 ? "" : creds.substring(colon + 1)));
        }
        try (CriClient cri = client.connect()) {
            CompletableFuture<PullImageResponse> pull = CompletableFuture.supplyAsync(
                    () -> cri.images().pullImage(request.build()), r -> Thread.ofVirtual().start(r));
            ProgressView view = ProgressView.forConsole(System.out);
            if (!quiet) {
                watch(cri, pull, view);
            }
            String imageRef = pull.get().getImageRef();
            if (!quiet) {
                view.complete();
            }
            System.out.println("Image is up to date for " + imageRef);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Shows progress until the pull call returns; re-attaches if the pull had not started yet when asked. */
    private void watch(CriClient cri, CompletableFuture<PullImageResponse> pull, ProgressView view)
            throws InterruptedException {
        while (!pull.isDone()) {
            try {
                Iterator<PullProgress> readings = cri.admin().watchPull(
                        WatchPullRequest.newBuilder().setImage(image).build());
                while (readings.hasNext()) {
                    PullProgress reading = readings.next();
                    if (reading.getDone()) {
                        break;
                    }
                    view.show(reading);
                }
            } catch (StatusRuntimeException e) {
                return; // progress is a courtesy; the pull's own answer says what happened
            }
            if (!pull.isDone()) {
                Thread.sleep(100); // the pull call has not reached the service yet, or is recording its result
            }
        }
    }
}

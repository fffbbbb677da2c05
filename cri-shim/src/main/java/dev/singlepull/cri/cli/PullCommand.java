package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.AuthConfig;
import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.PullImageRequest;
import dev.singlepull.api.cri.v1.PullImageResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Pulls an image through the service, as {@code crictl pull} does. */
@Command(name = "pull", description = "Pull an image through the service.")
final class PullCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "image reference, e.g. docker.io/library/redis:7")
    String image;

    @Option(names = "--creds", paramLabel = "USER[:PASSWORD]", description = "registry credentials")
    String creds;

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
            PullImageResponse response = cri.images().pullImage(request.build());
            System.out.println("Image is up to date for " + response.getImageRef());
        }
    }
}

package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.RemoveImageRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Removes images, with every tag of each. */
@Command(name = "rmi", description = "Remove images (every tag of each).")
final class RmiCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "image ids, tags or digest references")
    List<String> images;

    @Override
    public void run() {
        try (CriClient cri = client.connect()) {
            for (String image : images) {
                cri.images().removeImage(RemoveImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(image)).build());
                System.out.println("Deleted: " + image);
            }
        }
    }
}

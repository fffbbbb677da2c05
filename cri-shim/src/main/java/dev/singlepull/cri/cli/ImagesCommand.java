package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.Image;
import dev.singlepull.api.cri.v1.ImageFilter;
import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.ListImagesRequest;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Lists images in crictl's table layout. */
@Command(name = "images", description = "List images.")
final class ImagesCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE", description = "only this image")
    String filter;

    @Option(names = {"-q", "--quiet"}, description = "only image ids")
    boolean quiet;

    @Option(names = "--digests", description = "show repo digests")
    boolean digests;

    @Override
    public void run() {
        ListImagesRequest.Builder request = ListImagesRequest.newBuilder();
        if (filter != null) {
            request.setFilter(ImageFilter.newBuilder().setImage(ImageSpec.newBuilder().setImage(filter)));
        }
        List<Image> images;
        try (CriClient cri = client.connect()) {
            images = cri.images().listImages(request.build()).getImagesList();
        }
        if (quiet) {
            images.forEach(i -> System.out.println(i.getId()));
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(digests ? new String[] {"IMAGE", "TAG", "DIGEST", "IMAGE ID", "SIZE"}
                : new String[] {"IMAGE", "TAG", "IMAGE ID", "SIZE"});
        for (Image image : images) {
            String id = shortId(image.getId());
            String size = Sizes.human(image.getSize());
            String digest = image.getRepoDigestsCount() == 0 ? "<none>"
                    : shortId(image.getRepoDigests(0).substring(image.getRepoDigests(0).indexOf('@') + 1));
            List<String[]> names = new ArrayList<>();
            for (String tag : image.getRepoTagsList()) {
                int colon = tag.lastIndexOf(':');
                names.add(new String[] {tag.substring(0, colon), tag.substring(colon + 1)});
            }
            if (names.isEmpty()) {
                for (String repoDigest : image.getRepoDigestsList()) {
                    names.add(new String[] {repoDigest.substring(0, repoDigest.indexOf('@')), "<none>"});
                }
            }
            for (String[] n : names) {
                rows.add(digests ? new String[] {n[0], n[1], digest, id, size} : new String[] {n[0], n[1], id, size});
            }
        }
        Table.print(rows);
    }

    static String shortId(String id) {
        String hex = id.startsWith("sha256:") ? id.substring(7) : id;
        return hex.length() > 13 ? hex.substring(0, 13) : hex;
    }
}

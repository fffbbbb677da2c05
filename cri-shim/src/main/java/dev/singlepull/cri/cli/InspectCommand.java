package dev.singlepull.cri.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.util.JsonFormat;
import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.ImageStatusRequest;
import dev.singlepull.api.cri.v1.ImageStatusResponse;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** Prints an image's status and verbose info as JSON, as {@code crictl inspecti} does. */
@Command(name = "inspect", description = "Show an image's status as JSON.")
final class InspectCommand implements java.util.concurrent.Callable<Integer> {
    @Mixin
    ClientOptions client;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "image id, tag or digest reference")
    String image;

    @Override
    public Integer call() throws IOException {
        ImageStatusResponse response;
        try (CriClient cri = client.connect()) {
            response = cri.images().imageStatus(ImageStatusRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(image)).setVerbose(true).build());
        }
        if (!response.hasImage()) {
            System.err.println("singlepull: no such image \"" + image + "\" present");
            return 1;
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode out = json.createObjectNode();
        out.set("status", json.readTree(JsonFormat.printer().print(response.getImage())));
        String info = response.getInfoMap().get("info");
        if (info != null) {
            out.set("info", json.readTree(info));
        }
        System.out.println(json.writeValueAsString(out));
        return 0;
    }
}

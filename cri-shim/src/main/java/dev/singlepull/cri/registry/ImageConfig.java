package dev.singlepull.cri.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The parts of an OCI image config singlepull reads: the layers' DiffIDs and the user the image runs as. The raw
 * document is kept for verbose status.
 */
public record ImageConfig(List<Digest> diffIds, String user, JsonNode document) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ImageConfig {
        diffIds = List.copyOf(diffIds);
    }

    /** Parses a config blob; DATA_LOSS when it is not JSON, FAILED_PRECONDITION when it lacks rootfs.diff_ids. */
    public static ImageConfig parse(byte[] bytes, String what) {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw SinglepullException.dataLoss("config of " + what + " is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw SinglepullException.dataLoss("config of " + what + " is not a JSON object");
        }
        JsonNode ids = root.path("rootfs").path("diff_ids");
        if (!ids.isArray()) {
            throw SinglepullException.failedPrecondition("config of " + what + " has no rootfs.diff_ids");
        }
        List<Digest> diffIds = new ArrayList<>();
        for (JsonNode id : ids) {
            diffIds.add(Digest.parse(id.asText()));
        }
        return new ImageConfig(diffIds, root.path("config").path("User").asText(""), root);
    }

    /** The numeric user id the image runs as, when {@code User} names one ({@code 1000} or {@code 1000:1000}). */
    public OptionalLong uid() {
        String name = userPart();
        if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
            try {
                return OptionalLong.of(Long.parseLong(name));
            } catch (NumberFormatException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    /** The user name the image runs as, when {@code User} names one that is not a number; else empty. */
    public String username() {
        String name = userPart();
        return uid().isPresent() ? "" : name;
    }

    private String userPart() {
        int colon = user.indexOf(':');
        return (colon < 0 ? user : user.substring(0, colon)).strip();
    }
}

package dev.singlepull.cri.image;

import com.fasterxml.jackson.databind.JsonNode;
import dev.singlepull.content.Digest;
import java.util.List;
import java.util.OptionalLong;

/**
 * One image as CRI shows it: every name pointing at one config digest, gathered.
 *
 * @param id          the config digest
 * @param repoTags    {@code name:tag} names
 * @param repoDigests {@code name@sha256:...} names
 * @param size        compressed size, config plus layers
 * @param uid         the numeric user the image runs as, if its config names one
 * @param username    the user name it runs as, if its config names one that is not a number
 * @param chainId     the ChainID of its top layer (empty for an image without layers)
 * @param config      the image config document
 */
public record ImageView(Digest id, List<String> repoTags, List<String> repoDigests, long size, OptionalLong uid,
                        String username, String chainId, Digest targetDigest, JsonNode config) {
    public ImageView {
        repoTags = List.copyOf(repoTags);
        repoDigests = List.copyOf(repoDigests);
    }
}

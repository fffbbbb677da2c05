package dev.singlepull.cri.pull;

import dev.singlepull.content.Digest;
import java.util.List;

/**
 * The outcome of a pull.
 *
 * @param imageId        the config digest, which is what CRI calls the image id
 * @param targetDigest   the digest the reference resolved to: the index's when it named one, else the manifest's
 * @param manifestDigest the platform manifest
 * @param names          the image record names written (tag and digest forms)
 * @param size           compressed size, config plus layers
 * @param chainIds       the ChainID of every layer, bottom first
 */
public record PulledImage(Digest imageId, Digest targetDigest, Digest manifestDigest, List<String> names, long size,
                          List<String> chainIds) {
    public PulledImage {
        names = List.copyOf(names);
        chainIds = List.copyOf(chainIds);
    }
}

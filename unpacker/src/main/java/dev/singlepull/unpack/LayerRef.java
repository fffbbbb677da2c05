package dev.singlepull.unpack;

import dev.singlepull.content.Digest;
import java.util.Objects;

/**
 * One layer of an image manifest, as the unpacker needs it.
 *
 * @param blob      digest of the (compressed) blob in the content store
 * @param mediaType the manifest's media type for the blob; selects the decompression
 * @param size      compressed size in bytes, used as the progress total (-1 when unknown)
 * @param diffId    digest of the uncompressed tar, from the image config's {@code rootfs.diff_ids}
 */
public record LayerRef(Digest blob, String mediaType, long size, Digest diffId) {
    public LayerRef {
        Objects.requireNonNull(blob, "blob");
        Objects.requireNonNull(mediaType, "mediaType");
        Objects.requireNonNull(diffId, "diffId");
    }
}

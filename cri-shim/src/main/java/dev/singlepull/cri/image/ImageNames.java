package dev.singlepull.cri.image;

import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.ImageRecord;
import dev.singlepull.content.meta.ImageStore;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.cri.registry.ImageRef;
import dev.singlepull.errdefs.SinglepullException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a name a person types finds an image in the metadata database, for the service and for commands that read
 * the database directly ({@code export}). Stateless.
 */
public final class ImageNames {
    /** The label a pull writes on an image's config: the ChainID of its top layer's snapshot. */
    public static final String SNAPSHOT_LABEL = "containerd.io/gc.ref.snapshot.singlepull";
    private static final Pattern BARE_ID = Pattern.compile("[0-9a-f]{64}");

    private ImageNames() {
    }

    /**
     * The image id (config digest) that {@code ref} names: an image id, with or without {@code sha256:}, a repo tag,
     * a repo digest, or a name without tag, meaning {@code :latest}; empty if there is no such image.
     * INVALID_ARGUMENT when {@code ref} is none of these.
     */
    public static Optional<Digest> idOf(ImageStore images, String ref) {
        if (ref == null || ref.isBlank()) {
            throw SinglepullException.invalidArgument("image reference is empty");
        }
        String text = ref.strip();
        if (BARE_ID.matcher(text).matches()) {
            text = "sha256:" + text;
        }
        if (text.startsWith("sha256:") && Digest.isDigest(text)) {
            Digest id = Digest.parse(text);
            return images.byConfig(id).isEmpty() ? Optional.empty() : Optional.of(id);
        }
        ImageRef parsed = ImageRef.parse(text);
        String name = parsed.digest().map(parsed::withDigest).orElseGet(() -> parsed.tagged().orElseThrow());
        return images.get(name).map(ImageRecord::configDigest);
    }

    /** The ChainID of the top layer's snapshot of image {@code id}, as its pull recorded it; empty if none. */
    public static Optional<String> topChainId(MetadataDb db, Digest id) {
        return Optional.ofNullable(db.labels(id).get(SNAPSHOT_LABEL));
    }
}

package dev.singlepull.content;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Inspects, labels and deletes committed blobs. */
public interface ContentManager {
    /** The committed blob's info, or empty if it is not committed. */
    Optional<ContentInfo> info(Digest digest);

    /** Every committed blob. */
    List<ContentInfo> list();

    /**
     * Sets labels on a committed blob (a null value removes that label). Garbage collection follows labels named
     * {@code containerd.io/gc.ref.content.*} (value: a digest) and {@code containerd.io/gc.ref.snapshot.*}
     * (value: a snapshot key). NOT_FOUND if the blob is not committed.
     */
    void label(Digest digest, Map<String, String> labels);

    /** Deletes a committed blob and its labels; deleting an absent blob is not an error. */
    void delete(Digest digest);
}

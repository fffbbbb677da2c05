package dev.singlepull.unpack;

import dev.singlepull.content.Digest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The identity of a layer stack, as the OCI image spec defines it: {@code ChainID(L0) = DiffID(L0)} and
 * {@code ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln))}, both operands in their
 * {@code sha256:<hex>} text form. A snapshot is keyed by the ChainID of the stack it ends. Immutable; value equality.
 */
public record ChainId(Digest digest) {

    public ChainId {
        Objects.requireNonNull(digest, "digest");
    }

    /** Parses {@code sha256:<hex>}; INVALID_ARGUMENT otherwise. */
    public static ChainId parse(String text) {
        return new ChainId(Digest.parse(text));
    }

    /** The ChainIDs of every prefix of {@code diffIds}: element {@code i} identifies layers {@code 0..i}. */
    public static List<ChainId> chain(List<Digest> diffIds) {
        List<ChainId> out = new ArrayList<>(diffIds.size());
        ChainId previous = null;
        for (Digest diffId : diffIds) {
            previous = previous == null ? new ChainId(diffId) : previous.child(diffId);
            out.add(previous);
        }
        return List.copyOf(out);
    }

    /** The ChainID of this stack with {@code diffId} applied on top. */
    public ChainId child(Digest diffId) {
        MessageDigest sha = Digest.newSha256();
        byte[] text = (digest + " " + diffId).getBytes(StandardCharsets.US_ASCII);
        return new ChainId(Digest.fromHash("sha256", sha.digest(text)));
    }

    /** {@code sha256:<hex>} */
    @Override
    public String toString() {
        return digest.toString();
    }
}

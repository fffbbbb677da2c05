package dev.singlepull.content;

import dev.singlepull.errdefs.SinglepullException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest, {@code algorithm:hex}, as the OCI image spec writes it. Only sha256 and sha512 are accepted.
 * Immutable; value equality.
 */
public record Digest(String algorithm, String hex) {
    private static final Pattern HEX = Pattern.compile("[0-9a-f]+");

    public Digest {
        int expected = switch (algorithm) {
            case "sha256" -> 64;
            case "sha512" -> 128;
            default -> throw SinglepullException.invalidArgument("unsupported digest algorithm '" + algorithm + "'");
        };
        if (hex == null || hex.length() != expected || !HEX.matcher(hex).matches()) {
            throw SinglepullException.invalidArgument("malformed " + algorithm + " digest '" + hex + "'");
        }
    }

    /** Parses {@code sha256:<64 lowercase hex>}; INVALID_ARGUMENT otherwise. */
    public static Digest parse(String text) {
        if (text == null) {
            throw SinglepullException.invalidArgument("missing digest");
        }
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw SinglepullException.invalidArgument("malformed digest '" + text + "'");
        }
        return new Digest(text.substring(0, colon), text.substring(colon + 1));
    }

    /** True if {@code text} parses as a digest. */
    public static boolean isDigest(String text) {
        try {
            parse(text);
            return true;
        } catch (SinglepullException e) {
            return false;
        }
    }

    /** The sha256 digest of {@code data}. */
    public static Digest sha256(byte[] data) {
        return fromHash("sha256", newSha256().digest(data));
    }

    /** The digest whose hash bytes are {@code hash}. */
    public static Digest fromHash(String algorithm, byte[] hash) {
        return new Digest(algorithm, HexFormat.of().formatHex(hash));
    }

    /** A fresh hasher for this digest's algorithm. */
    public MessageDigest newHasher() {
        try {
            return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fresh SHA-256 hasher. */
    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code algorithm:hex} */
    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }
}

package dev.singlepull.content.local;

import dev.singlepull.content.Digest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Every path rule of the local store, and nothing else:
 *
 * <pre>
 * content/blobs/&lt;alg&gt;/&lt;hex&gt;          a committed blob (read-only)
 * content/ingest/&lt;sha256(ref)&gt;/       one ingest, named by the hash of its ref so every path has the same length
 *     data  ref  expected  total  startedat  [extents: which bytes of data are written, once written out of order]
 * </pre>
 *
 * Immutable; thread-safe.
 */
final class IngestLayout {
    static final String DATA = "data";
    static final String REF = "ref";
    static final String EXPECTED = "expected";
    static final String TOTAL = "total";
    static final String STARTED_AT = "startedat";
    static final String EXTENTS = "extents";

    private final Path content;
    private final Path blobs;
    private final Path ingest;

    IngestLayout(Path root) {
        this.content = root.resolve("content");
        this.blobs = content.resolve("blobs");
        this.ingest = content.resolve("ingest");
    }

    /** {@code content/}: everything the store owns. */
    Path contentDir() {
        return content;
    }

    /** {@code content/blobs/}: one directory per digest algorithm. */
    Path blobsDir() {
        return blobs;
    }

    /** {@code content/blobs/<alg>/} */
    Path blobDir(String algorithm) {
        return blobs.resolve(algorithm);
    }

    /** {@code content/blobs/<alg>/<hex>} */
    Path blob(Digest digest) {
        return blobDir(digest.algorithm()).resolve(digest.hex());
    }

    /** The digest a file under {@code content/blobs/} stands for, or empty if its path is not a blob path. */
    Optional<Digest> digestOf(Path blobFile) {
        Path dir = blobFile.getParent();
        if (dir == null || !blobs.equals(dir.getParent())) {
            return Optional.empty();
        }
        String text = dir.getFileName() + ":" + blobFile.getFileName();
        return Digest.isDigest(text) ? Optional.of(Digest.parse(text)) : Optional.empty();
    }

    /** {@code content/ingest/}: one directory per ingest. */
    Path ingestRoot() {
        return ingest;
    }

    /** {@code content/ingest/<sha256(ref)>/} */
    Path ingestDir(String ref) {
        byte[] hash = Digest.newSha256().digest(ref.getBytes(StandardCharsets.UTF_8));
        return ingest.resolve(HexFormat.of().formatHex(hash));
    }
}

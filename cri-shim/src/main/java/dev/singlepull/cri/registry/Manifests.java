package dev.singlepull.cri.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Parses manifests and indexes (Docker schema 2 and OCI). Schema 1 is refused. Stateless. */
public final class Manifests {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An image manifest: one config and its layers, bottom first. */
    public record ImageManifest(String mediaType, Descriptor config, List<Descriptor> layers) {
        /** Compressed size as kubelet and containerd report it: config plus layers. */
        public long size() {
            return config.size() + layers.stream().mapToLong(Descriptor::size).sum();
        }
    }

    /** An index (manifest list): platform manifests. */
    public record Index(String mediaType, List<Descriptor> manifests) {
        /**
         * The manifest for {@code wanted}: the best that {@link Platform#accepts} it (the same platform first, then
         * the newest variant that runs; the first in the index on a tie). FAILED_PRECONDITION naming the platforms
         * present when none matches.
         */
        public Descriptor select(Platform wanted, String ref) {
            Descriptor best = null;
            int bestRank = -1;
            for (Descriptor d : manifests) {
                int rank = d.platform().map(wanted::rank).orElse(-1);
                if (rank > bestRank) {
                    best = d;
                    bestRank = rank;
                }
            }
            if (best == null) {
                throw SinglepullException.failedPrecondition("no manifest for platform " + wanted + " in " + ref
                        + "; present: " + manifests.stream()
                        .map(d -> d.platform().map(Platform::toString).orElse("unknown")).toList());
            }
            return best;
        }
    }

    private Manifests() {
    }

    /** True if {@code mediaType} names an index or manifest list. */
    public static boolean isIndex(String mediaType) {
        return MediaTypes.INDEXES.contains(mediaType);
    }

    /**
     * FAILED_PRECONDITION if {@code document} is a Docker schema 1 manifest (by Content-Type or shape). Called before
     * the digest check: a signed schema 1 manifest's digest covers its payload without the signatures, so it would
     * otherwise look corrupt.
     */
    public static void refuseSchema1(byte[] document, String contentType, String ref) {
        String declared = contentType == null ? "" : contentType.split(";")[0].strip();
        boolean schema1 = MediaTypes.SCHEMA1.contains(declared);
        if (!schema1) {
            try {
                JsonNode root = JSON.readTree(document);
                schema1 = root != null && root.path("schemaVersion").asInt() == 1;
            } catch (IOException e) {
                schema1 = false; // not JSON: the digest check or the parser will say so
            }
        }
        if (schema1) {
            throw schema1(ref);
        }
    }

    private static SinglepullException schema1(String ref) {
        return SinglepullException.failedPrecondition("manifest of " + ref
                + " is Docker schema 1, which is no longer supported; push it again as schema 2 or OCI");
    }

    /**
     * The media type of a manifest document: the registry's Content-Type when it is a known one, else the
     * document's own {@code mediaType} field, else inferred from its shape (an OCI manifest may omit the field).
     */
    public static String mediaTypeOf(byte[] document, String contentType, String ref) {
        String declared = contentType == null ? "" : contentType.split(";")[0].strip();
        JsonNode root = read(document, ref);
        String field = root.path("mediaType").asText("");
        String type = !field.isEmpty() ? field : declared;
        if (MediaTypes.SCHEMA1.contains(type) || root.path("schemaVersion").asInt() == 1) {
            throw schema1(ref);
        }
        if (isIndex(type) || MediaTypes.MANIFESTS.contains(type)) {
            return type;
        }
        if (root.has("manifests")) {
            return MediaTypes.OCI_INDEX;
        }
        if (root.has("config") && root.has("layers")) {
            return MediaTypes.OCI_MANIFEST;
        }
        throw SinglepullException.failedPrecondition("unsupported manifest media type '" + type + "' for " + ref);
    }

    public static ImageManifest parseManifest(byte[] document, String mediaType, String ref) {
        JsonNode root = read(document, ref);
        JsonNode config = root.path("config");
        if (!config.isObject()) {
            throw SinglepullException.failedPrecondition("manifest of " + ref + " has no config");
        }
        List<Descriptor> layers = new ArrayList<>();
        for (JsonNode layer : root.path("layers")) {
            layers.add(descriptor(layer, ref));
        }
        return new ImageManifest(mediaType, descriptor(config, ref), List.copyOf(layers));
    }

    public static Index parseIndex(byte[] document, String mediaType, String ref) {
        JsonNode root = read(document, ref);
        List<Descriptor> manifests = new ArrayList<>();
        for (JsonNode m : root.path("manifests")) {
            manifests.add(descriptor(m, ref));
        }
        return new Index(mediaType, List.copyOf(manifests));
    }

    static Descriptor descriptor(JsonNode node, String ref) {
        String mediaType = node.path("mediaType").asText("");
        String digestText = node.path("digest").asText("");
        long size = node.path("size").asLong(-1);
        if (digestText.isEmpty() || size < 0) {
            throw SinglepullException.failedPrecondition("manifest of " + ref + " has a descriptor without digest or size");
        }
        Digest digest;
        try {
            digest = Digest.parse(digestText);
        } catch (SinglepullException e) {
            throw SinglepullException.failedPrecondition("manifest of " + ref + ": " + e.getMessage());
        }
        Optional<Platform> platform = Optional.empty();
        JsonNode p = node.path("platform");
        if (p.isObject()) {
            String variant = p.path("variant").asText("");
            platform = Optional.of(new Platform(p.path("os").asText(""), p.path("architecture").asText(""),
                    variant.isEmpty() ? Optional.empty() : Optional.of(variant)));
        }
        List<String> urls = new ArrayList<>();
        node.path("urls").forEach(u -> urls.add(u.asText()));
        return new Descriptor(mediaType, digest, size, platform, urls);
    }

    private static JsonNode read(byte[] document, String ref) {
        try {
            JsonNode root = JSON.readTree(document);
            if (root == null || !root.isObject()) {
                throw SinglepullException.failedPrecondition("manifest of " + ref + " is not a JSON object");
            }
            return root;
        } catch (IOException e) {
            throw new SinglepullException(dev.singlepull.errdefs.ErrorKind.DATA_LOSS,
                    "manifest of " + ref + " is not valid JSON: " + e.getMessage());
        }
    }
}

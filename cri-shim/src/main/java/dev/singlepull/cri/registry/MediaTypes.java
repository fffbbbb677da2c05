package dev.singlepull.cri.registry;

import java.util.Set;

/** The manifest, index, config and layer media types singlepull understands. */
public final class MediaTypes {
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    public static final String DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";
    public static final String DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    /** Docker's foreign layer: the registry may not hold it; its descriptor lists the URLs it is published at. */
    public static final String DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /** The prefix of OCI's non-distributable layer types ({@code ...nondistributable.v1.tar[+gzip|+zstd]}). */
    public static final String OCI_NONDISTRIBUTABLE_PREFIX = "application/vnd.oci.image.layer.nondistributable.";

    /** Every manifest and index type, for the Accept header: a registry serves schema 1 to clients that omit them. */
    public static final String MANIFEST_ACCEPT = String.join(", ", OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST,
            DOCKER_MANIFEST);

    static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);
    static final Set<String> MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
    static final Set<String> SCHEMA1 = Set.of(DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED);

    /** True for a layer type whose content may live only at its descriptor's URLs (Docker foreign, OCI non-distributable). */
    public static boolean isNonDistributable(String mediaType) {
        return mediaType.equals(DOCKER_FOREIGN_LAYER) || mediaType.startsWith(OCI_NONDISTRIBUTABLE_PREFIX);
    }

    private MediaTypes() {
    }
}

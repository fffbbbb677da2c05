package dev.singlepull.cri.registry;

import dev.singlepull.content.Digest;
import java.util.List;
import java.util.Optional;

/** An OCI content descriptor: what a manifest or index says about one blob. */
public record Descriptor(String mediaType, Digest digest, long size, Optional<Platform> platform, List<String> urls) {
    public Descriptor {
        urls = List.copyOf(urls);
    }

    public static Descriptor of(String mediaType, Digest digest, long size) {
        return new Descriptor(mediaType, digest, size, Optional.empty(), List.of());
    }
}

package dev.singlepull.cri.registry;

import java.nio.file.Path;
import java.util.Optional;

/** How to check one host's TLS certificate: the system's CAs, plus a CA file, or not at all. Immutable. */
record TlsSettings(Optional<Path> ca, boolean skipVerify) {
    static final TlsSettings SYSTEM = new TlsSettings(Optional.empty(), false);

    static TlsSettings of(HostConfig config) {
        return config.hasTlsSettings() ? new TlsSettings(config.ca(), config.skipVerify()) : SYSTEM;
    }
}

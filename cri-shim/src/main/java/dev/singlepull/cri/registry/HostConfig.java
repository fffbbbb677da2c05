package dev.singlepull.cri.registry;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What the config file says about one registry host, in the spirit of containerd's {@code hosts.toml}: where pulls of
 * the registry go first (mirrors, tried in order, then the registry itself), and how the host is spoken to. Immutable.
 *
 * @param mirrors    base URLs tried in order before the registry itself ({@code http://127.0.0.1:5000},
 *                   {@code https://mirror.example.com/some/prefix}); a mirror without scheme follows the host rules
 * @param server     where the registry itself is reached, instead of {@code https://<name>} (Docker Hub's default is
 *                   {@code https://registry-1.docker.io})
 * @param insecure   speak plain http to this host
 * @param ca         a PEM file of CA certificates trusted for this host, in addition to the system's
 * @param skipVerify accept any TLS certificate from this host (for tests and emergencies)
 */
public record HostConfig(List<URI> mirrors, Optional<URI> server, boolean insecure, Optional<Path> ca,
                         boolean skipVerify) {
    public static final HostConfig DEFAULT = new HostConfig(List.of(), Optional.empty(), false, Optional.empty(), false);

    public HostConfig {
        mirrors = List.copyOf(mirrors);
    }

    /**
     * Parses a mirror or server location: a URL ({@code http://127.0.0.1:5000}, {@code https://mirror/prefix}) or a
     * bare {@code host[:port]}, whose scheme the host rules decide. INVALID_ARGUMENT when it is neither.
     */
    public static URI parseLocation(String text) {
        String t = text == null ? "" : text.strip();
        try {
            URI uri = URI.create(t.contains("://") ? t : "//" + t);
            if (t.isEmpty() || uri.getRawAuthority() == null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
                throw new IllegalArgumentException("no host");
            }
            return uri;
        } catch (IllegalArgumentException e) {
            throw dev.singlepull.errdefs.SinglepullException.invalidArgument(
                    "'" + t + "' is not a registry location (http[s]://host[:port][/path] or host[:port])");
        }
    }

    /** True when this host is to be spoken to over TLS with settings of its own: a CA file or skip_verify. */
    public boolean hasTlsSettings() {
        return ca.isPresent() || skipVerify;
    }

    /** This configuration with {@code more} mirrors tried first. */
    public HostConfig withMirrorsFirst(List<URI> more) {
        List<URI> all = new java.util.ArrayList<>(more);
        mirrors.stream().filter(m -> !all.contains(m)).forEach(all::add);
        return new HostConfig(all, server, insecure, ca, skipVerify);
    }

    /** This configuration marked insecure (plain http). */
    public HostConfig asInsecure() {
        return new HostConfig(mirrors, server, true, ca, skipVerify);
    }
}

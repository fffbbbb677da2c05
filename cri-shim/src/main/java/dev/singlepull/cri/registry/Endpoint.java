package dev.singlepull.cri.registry;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * One place a registry's content can be fetched from: a mirror or the registry itself. Immutable.
 *
 * @param base      scheme, authority and optional path prefix, without a trailing slash
 * @param registry  the registry name the reference used ({@code docker.io}), sent to mirrors as {@code ns}
 * @param mirror    true for a mirror: reached without the caller's credentials, tried once, then the next endpoint
 * @param tls       how this endpoint's certificate is checked
 */
record Endpoint(URI base, String registry, boolean mirror, TlsSettings tls) {

    /** The host (and port) requests go to, as messages and metrics name it. */
    String authority() {
        return base.getRawAuthority();
    }

    /** {@code <base>/v2/<repository><suffix>}; a mirror's URL carries {@code ?ns=<registry>} as containerd sends it. */
    URI uri(String repository, String suffix) {
        String uri = base + "/v2/" + repository + suffix;
        if (mirror) {
            uri += "?ns=" + URLEncoder.encode(registry, StandardCharsets.UTF_8);
        }
        return URI.create(uri);
    }

    @Override
    public String toString() {
        return (mirror ? "mirror " : "registry ") + base;
    }
}

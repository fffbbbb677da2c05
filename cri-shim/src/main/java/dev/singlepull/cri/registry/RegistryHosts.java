package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.SinglepullException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where a registry named in references is reached, and how. Each registry has an ordered list of endpoints: its
 * mirrors, then the registry itself ({@code docker.io} is {@code https://registry-1.docker.io} unless a
 * {@code server} says otherwise). A host is spoken to over plain http when it is configured {@code insecure}, or when
 * it is a loopback address ({@code localhost}, {@code 127.0.0.0/8}, {@code ::1}) and has no TLS settings of its own
 * ({@code ca}, {@code skip_verify}); every other host over https. An explicit {@code http://} mirror or server must
 * be loopback or insecure. Host settings are looked up by {@code host:port}, then by {@code host}. Immutable.
 */
public final class RegistryHosts {
    private static final String DOCKER_HUB_API = "registry-1.docker.io";
    private final Map<String, HostConfig> hosts;

    /** @param insecure hosts ({@code host} or {@code host:port}) to reach over plain http */
    public RegistryHosts(Set<String> insecure) {
        this(Map.of(), insecure);
    }

    /**
     * @param hosts    settings per registry or mirror host, keyed {@code host[:port]} as references write it
     * @param insecure more hosts to reach over plain http
     * @throws SinglepullException INVALID_ARGUMENT for a plain-http mirror or server that is neither loopback nor
     *                             insecure, a URL that is not http(s), or a CA file that cannot be read
     */
    public RegistryHosts(Map<String, HostConfig> hosts, Set<String> insecure) {
        Map<String, HostConfig> all = new HashMap<>();
        hosts.forEach((name, config) -> all.put(name.toLowerCase(Locale.ROOT), config));
        for (String host : insecure) {
            all.merge(host.toLowerCase(Locale.ROOT), HostConfig.DEFAULT.asInsecure(), (old, x) -> old.asInsecure());
        }
        this.hosts = Map.copyOf(all);
        this.hosts.forEach(this::validate);
    }

    /** The mirrors of {@code domain} in order, then the registry itself. */
    List<Endpoint> endpoints(String domain) {
        HostConfig config = config(domain);
        List<Endpoint> endpoints = new ArrayList<>();
        for (URI mirror : config.mirrors()) {
            URI base = withScheme(mirror);
            endpoints.add(new Endpoint(trimSlash(base), domain, true, tlsFor(base.getRawAuthority())));
        }
        endpoints.add(upstream(domain));
        return List.copyOf(endpoints);
    }

    /** The registry itself, without mirrors. */
    Endpoint upstream(String domain) {
        HostConfig config = config(domain);
        URI base = config.server().map(this::withScheme).orElseGet(() -> {
            String host = domain.equals(ImageRef.DOCKER_HUB) ? DOCKER_HUB_API : domain;
            return URI.create((isPlainHttp(domain) ? "http" : "https") + "://" + host);
        });
        TlsSettings tls = config.hasTlsSettings() ? TlsSettings.of(config) : tlsFor(base.getRawAuthority());
        return new Endpoint(trimSlash(base), domain, false, tls);
    }

    /** How the certificate of {@code authority} is checked (for redirects and foreign URLs too). */
    TlsSettings tlsFor(String authority) {
        return TlsSettings.of(config(authority));
    }

    /** Every distinct TLS setting configured, so that a bad CA file fails at start-up rather than at a pull. */
    List<TlsSettings> configuredTls() {
        return hosts.values().stream().filter(HostConfig::hasTlsSettings).map(TlsSettings::of).distinct().toList();
    }

    /** The base URI of the registry API for a reference's domain, for example {@code https://registry-1.docker.io}. */
    public URI endpoint(String domain) {
        return upstream(domain).base();
    }

    /** True when {@code domain} (a registry name or {@code host:port}) is reached over plain http. */
    public boolean isPlainHttp(String domain) {
        HostConfig config = config(domain);
        if (config.insecure()) {
            return true;
        }
        return !config.hasTlsSettings() && isLoopback(hostOf(domain.toLowerCase(Locale.ROOT)));
    }

    private HostConfig config(String authority) {
        String key = authority.toLowerCase(Locale.ROOT);
        HostConfig exact = hosts.get(key);
        if (exact != null) {
            return exact;
        }
        return hosts.getOrDefault(hostOf(key), HostConfig.DEFAULT);
    }

    /** A URL written without scheme ({@code //host:port/path}) gets the one the host rules give. */
    private URI withScheme(URI uri) {
        if (uri.getScheme() != null) {
            return uri;
        }
        String scheme = isPlainHttp(uri.getRawAuthority()) ? "http" : "https";
        return URI.create(scheme + ":" + uri);
    }

    private void validate(String name, HostConfig config) {
        List<URI> urls = new ArrayList<>(config.mirrors());
        config.server().ifPresent(urls::add);
        for (URI url : urls) {
            String what = (config.mirrors().contains(url) ? "mirror " : "server ") + url + " of " + name;
            if (url.getRawAuthority() == null || url.getRawAuthority().isBlank()) {
                throw SinglepullException.invalidArgument(what + " has no host");
            }
            String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.isEmpty() && !scheme.equals("http") && !scheme.equals("https")) {
                throw SinglepullException.invalidArgument(what + " is not an http or https URL");
            }
            if (scheme.equals("http") && !isPlainHttp(url.getRawAuthority())) {
                throw SinglepullException.invalidArgument(what + " uses plain http, but " + url.getRawAuthority()
                        + " is not marked insecure: set insecure = true for it, or use https");
            }
        }
        Optional<java.nio.file.Path> ca = config.ca();
        if (ca.isPresent() && !Files.isReadable(ca.get())) {
            throw SinglepullException.invalidArgument("ca file " + ca.get() + " of " + name + " cannot be read");
        }
    }

    private static URI trimSlash(URI uri) {
        String text = uri.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return URI.create(text);
    }

    static String hostOf(String authority) {
        if (authority.startsWith("[")) {
            int end = authority.indexOf(']');
            return end < 0 ? authority : authority.substring(1, end);
        }
        int colon = authority.lastIndexOf(':');
        return colon < 0 || authority.indexOf(':') != colon ? authority : authority.substring(0, colon);
    }

    static boolean isLoopback(String host) {
        if (host.equals("localhost")) {
            return true;
        }
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            return false; // a name other than localhost: never resolved here
        }
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}

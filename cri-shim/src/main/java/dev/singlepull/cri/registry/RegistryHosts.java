package dev.singlepull.cri.registry;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Set;

/**
 * Where a registry named in references is reached: Docker Hub's name maps to its API host; loopback registries
 * (localhost, 127.0.0.0/8, ::1) and hosts configured as insecure are spoken to over plain http, every other over
 * https. Immutable.
 */
public final class RegistryHosts {
    private static final String DOCKER_HUB_API = "registry-1.docker.io";
    private final Set<String> insecure;

    /** @param insecure hosts ({@code host} or {@code host:port}) to reach over plain http */
    public RegistryHosts(Set<String> insecure) {
        this.insecure = Set.copyOf(insecure.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList());
    }

    /** The base URI of the registry API for a reference's domain, for example {@code https://registry-1.docker.io}. */
    public URI endpoint(String domain) {
        String host = domain.equals(ImageRef.DOCKER_HUB) ? DOCKER_HUB_API : domain;
        String scheme = isPlainHttp(domain) ? "http" : "https";
        return URI.create(scheme + "://" + host);
    }

    /** True when the registry is reached over plain http. */
    public boolean isPlainHttp(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        return insecure.contains(d) || insecure.contains(hostOf(d)) || isLoopback(hostOf(d));
    }

    private static String hostOf(String domain) {
        if (domain.startsWith("[")) {
            int end = domain.indexOf(']');
            return domain.substring(1, end);
        }
        int colon = domain.lastIndexOf(':');
        return colon < 0 ? domain : domain.substring(0, colon);
    }

    private static boolean isLoopback(String host) {
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

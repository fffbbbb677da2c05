package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryHostsTest {
    private static HostConfig mirrors(String... urls) {
        return new HostConfig(List.of(urls).stream().map(HostConfig::parseLocation).toList(), Optional.empty(), false,
                Optional.empty(), false);
    }

    @Test
    void loopbackIsPlainHttpAndEverythingElseHttps() {
        RegistryHosts hosts = new RegistryHosts(Set.of());
        assertEquals(URI.create("http://127.0.0.1:5000"), hosts.endpoint("127.0.0.1:5000"));
        assertEquals(URI.create("http://localhost:5000"), hosts.endpoint("localhost:5000"));
        assertEquals(URI.create("http://[::1]:5000"), hosts.endpoint("[::1]:5000"));
        assertEquals(URI.create("https://registry.example.com"), hosts.endpoint("registry.example.com"));
        assertEquals(URI.create("https://registry-1.docker.io"), hosts.endpoint("docker.io"));
    }

    @Test
    void insecureHostsArePlainHttpByHostOrHostAndPort() {
        RegistryHosts hosts = new RegistryHosts(Set.of("registry.internal:5000", "other.internal"));
        assertTrue(hosts.isPlainHttp("registry.internal:5000"));
        assertFalse(hosts.isPlainHttp("registry.internal:6000"));
        assertTrue(hosts.isPlainHttp("other.internal:6000"));
    }

    @Test
    void aLoopbackHostWithTlsSettingsIsHttps() {
        RegistryHosts hosts = new RegistryHosts(Map.of("127.0.0.1:5443",
                new HostConfig(List.of(), Optional.empty(), false, Optional.empty(), true)), Set.of());
        assertEquals(URI.create("https://127.0.0.1:5443"), hosts.endpoint("127.0.0.1:5443"));
        assertTrue(hosts.upstream("127.0.0.1:5443").tls().skipVerify());
        assertEquals(URI.create("http://127.0.0.1:5000"), hosts.endpoint("127.0.0.1:5000"));
    }

    @Test
    void mirrorsComeFirstThenTheRegistryItself() {
        RegistryHosts hosts = new RegistryHosts(Map.of("docker.io",
                mirrors("http://127.0.0.1:5000/", "mirror.example.com/prefix", "127.0.0.1:6000")), Set.of());
        List<Endpoint> endpoints = hosts.endpoints("docker.io");
        assertEquals(List.of("http://127.0.0.1:5000", "https://mirror.example.com/prefix", "http://127.0.0.1:6000",
                "https://registry-1.docker.io"), endpoints.stream().map(e -> e.base().toString()).toList());
        assertEquals(List.of(true, true, true, false), endpoints.stream().map(Endpoint::mirror).toList());
        assertEquals(URI.create("https://mirror.example.com/prefix/v2/library/redis/manifests/7?ns=docker.io"),
                endpoints.get(1).uri("library/redis", "/manifests/7"));
        assertEquals(URI.create("https://registry-1.docker.io/v2/library/redis/blobs/x"),
                endpoints.get(3).uri("library/redis", "/blobs/x"));
        assertEquals(1, hosts.endpoints("quay.io").size());
    }

    @Test
    void aServerReplacesTheRegistrysOwnAddress() {
        RegistryHosts hosts = new RegistryHosts(Map.of("docker.io",
                new HostConfig(List.of(), Optional.of(HostConfig.parseLocation("http://127.0.0.1:7000")), false,
                        Optional.empty(), false)), Set.of());
        assertEquals(URI.create("http://127.0.0.1:7000"), hosts.endpoint("docker.io"));
    }

    @Test
    void plainHttpMirrorsMustBeLoopbackOrInsecure() {
        SinglepullException e = assertThrows(SinglepullException.class, () -> new RegistryHosts(
                Map.of("docker.io", mirrors("http://mirror.internal:5000")), Set.of()));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("mirror.internal:5000") && e.getMessage().contains("insecure"),
                e.getMessage());
        RegistryHosts ok = new RegistryHosts(Map.of("docker.io", mirrors("http://mirror.internal:5000")),
                Set.of("mirror.internal:5000"));
        assertEquals(URI.create("http://mirror.internal:5000"), ok.endpoints("docker.io").getFirst().base());
        assertThrows(SinglepullException.class, () -> new RegistryHosts(
                Map.of("docker.io", mirrors("ftp://mirror.internal")), Set.of()));
        assertThrows(SinglepullException.class, () -> HostConfig.parseLocation("http://"));
    }

    @Test
    void tlsSettingsOfAMirrorComeFromItsOwnEntry(@TempDir Path dir) throws IOException {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "not really");
        RegistryHosts hosts = new RegistryHosts(Map.of(
                "docker.io", mirrors("mirror.example.com"),
                "mirror.example.com", new HostConfig(List.of(), Optional.empty(), false, Optional.of(ca), false)),
                Set.of());
        assertEquals(Optional.of(ca), hosts.endpoints("docker.io").getFirst().tls().ca());
        assertEquals(TlsSettings.SYSTEM, hosts.upstream("docker.io").tls());
        assertEquals(1, hosts.configuredTls().size());
        SinglepullException bad = assertThrows(SinglepullException.class, () -> new HttpClients(hosts.configuredTls()));
        assertEquals(ErrorKind.INVALID_ARGUMENT, bad.kind());
        assertTrue(bad.getMessage().contains(ca.toString()), bad.getMessage());
    }

    @Test
    void anUnreadableCaFileIsRefusedAtOnce(@TempDir Path dir) {
        SinglepullException e = assertThrows(SinglepullException.class, () -> new RegistryHosts(Map.of("r.example",
                new HostConfig(List.of(), Optional.empty(), false, Optional.of(dir.resolve("missing.pem")), false)),
                Set.of()));
        assertTrue(e.getMessage().contains("missing.pem"), e.getMessage());
    }
}

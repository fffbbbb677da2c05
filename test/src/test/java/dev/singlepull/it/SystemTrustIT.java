package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.ServiceProcess;
import dev.singlepull.it.fixture.TestCerts;
import dev.singlepull.it.fixture.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registry served over https and trusted through the system's trust store alone: no {@code ca}, no
 * {@code skip_verify}. The registry client sets the JDK's default TLS context up only on the first TLS connection
 * (plain-HTTP registries never load it), so this checks that the deferred context is the JDK's own: it trusts what
 * the JVM's trust store holds, here a test CA given to the launched service by {@code javax.net.ssl.trustStore}.
 * (A certificate no trusted CA signed is refused: {@code HostsConfigIT}.)
 */
@Timeout(300)
class SystemTrustIT {
    /** A name never resolved: the config sends it to the TLS registry, by a name its certificate holds. */
    private static final String TRUSTED_NAME = "trusted.test";

    @TempDir
    static Path dir;
    private static RegistryProcess store;
    private static RegistryProcess tlsRegistry;
    private static ServiceProcess service;

    @BeforeAll
    static void start() throws Exception {
        store = RegistryProcess.start();
        TestCerts.ServerTls tls = TestCerts.serverTls(dir, "system-ca");
        tlsRegistry = RegistryProcess.start(RegistryProcess.Options.anonymous().withStorageOf(store)
                .withTls(tls.server()));
        Path trustStore = dir.resolve("truststore.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-importcert", "-noprompt", "-alias", "system-ca", "-file", tls.caCert().toString(), "-keystore",
                trustStore.toString(), "-storetype", "PKCS12", "-storepass", "changeit")
                .redirectErrorStream(true).start();
        String keytoolOut = new String(keytool.getInputStream().readAllBytes());
        assertEquals(0, keytool.waitFor(), keytoolOut);
        int port = tlsRegistry.port();
        Path config = Files.writeString(dir.resolve("config.toml"), """
                [registries."%s"]
                server = "https://localhost:%d"
                """.formatted(TRUSTED_NAME, port));
        service = ServiceProcess.start(dir.resolve("root"), dir.resolve("cri.sock"), dir.resolve("service.log"),
                Map.of("SINGLEPULL_JAVA_OPTS", "-Djavax.net.ssl.trustStore=" + trustStore
                        + " -Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStoreType=PKCS12"),
                "--config", config.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {service, tlsRegistry, store}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @Test
    void aRegistryTheTrustStoreVouchesForIsPulledOverHttps() {
        PushedImage image = TestImages.push(store, SmallImages.of("team/system-trust", "v1", 601));
        try (CriClient cri = service.client()) {
            String ref = TRUSTED_NAME + "/team/system-trust:v1";
            assertEquals(image.imageId(), cri.images().pullImage(Cri.pull(ref)).getImageRef());
        }
        tlsRegistry.awaitLogQuiet();
        for (String digest : image.layerDigests()) {
            assertEquals(1, tlsRegistry.blobGets(digest), "over https from the TLS registry: " + digest);
        }
    }
}

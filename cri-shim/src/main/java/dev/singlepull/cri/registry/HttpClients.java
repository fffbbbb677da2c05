package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * One {@link HttpClient} per TLS setting: the JDK client fixes its SSL context at build time. A CA file is trusted in
 * addition to the system's CAs, as containerd does; {@code skip_verify} accepts any certificate for any name. Redirects
 * are never followed by the client (the registry client follows blob redirects itself). The system's TLS is set up on
 * the first TLS connection ({@link LazySystemTls}), so plain-HTTP registries never load it. Thread-safe.
 */
final class HttpClients {
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentHashMap<TlsSettings, HttpClient> clients = new ConcurrentHashMap<>();

    /** Builds the clients of every configured setting now; INVALID_ARGUMENT when a CA file is not PEM certificates. */
    HttpClients(Iterable<TlsSettings> configured) {
        configured.forEach(this::client);
    }

    HttpClient client(TlsSettings tls) {
        return clients.computeIfAbsent(tls, this::build);
    }

    private HttpClient build(TlsSettings tls) {
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(15))
                .executor(executor);
        if (tls.equals(TlsSettings.SYSTEM)) {
            builder.sslContext(LazySystemTls.context()).sslParameters(LazySystemTls.parameters());
        } else {
            builder.sslContext(sslContext(tls));
        }
        return builder.build();
    }

    private static SSLContext sslContext(TlsSettings tls) {
        try {
            TrustManager trust = tls.skipVerify() ? new TrustEverything() : withExtraCas(tls);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw SinglepullException.invalidArgument("cannot use ca file " + tls.ca().map(Object::toString).orElse("")
                    + ": " + e.getMessage());
        }
    }

    private static X509TrustManager withExtraCas(TlsSettings tls) throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        int n = 0;
        for (X509Certificate system : defaultTrustManager(null).getAcceptedIssuers()) {
            store.setCertificateEntry("system-" + n++, system);
        }
        Collection<? extends Certificate> extra;
        try (InputStream in = Files.newInputStream(tls.ca().orElseThrow())) {
            extra = CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
        if (extra.isEmpty()) {
            throw new GeneralSecurityException("no certificate in it");
        }
        for (Certificate cert : extra) {
            store.setCertificateEntry("configured-" + n++, cert);
        }
        return defaultTrustManager(store);
    }

    private static X509TrustManager defaultTrustManager(KeyStore store) throws GeneralSecurityException {
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(store);
        for (TrustManager manager : factory.getTrustManagers()) {
            if (manager instanceof X509TrustManager x509) {
                return x509;
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager");
    }

    /** skip_verify: an extended trust manager, so that the JDK does not add its own host name check. */
    private static final class TrustEverything extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}

package dev.singlepull.cri.registry;

import java.security.KeyManagementException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * The JDK's default TLS context, set up on the first TLS connection instead of when the HTTP client is built.
 *
 * <p>The JDK client takes {@link SSLContext#getDefault()} and its default parameters when it is built, whatever the
 * registry speaks. That loads the TLS stack (about 400 classes) and parses the system's CA store: measured, about
 * 5 MB of the service's idle resident memory after a pull from a plain-HTTP registry. A node that pulls only from
 * plain-HTTP registries (a mirror on the node's network, say) never needs it. This context hands every call to the default context, which it asks for only when a
 * connection first needs an engine.
 *
 * <p>Build the client with {@link #parameters()} too: the client otherwise asks the context for its default
 * parameters at build time. Those parameters name no protocols and no cipher suites, which an engine reads as "keep
 * your own defaults", the default context's, so connections get the same protocols, suites and host name check as
 * with the JDK's own default.
 */
final class LazySystemTls {
    private LazySystemTls() {
    }

    static SSLContext context() {
        return new Context();
    }

    /** No protocols or suites named: each engine keeps the default context's. */
    static SSLParameters parameters() {
        return new SSLParameters();
    }

    private static final class Context extends SSLContext {
        Context() {
            super(new Spi(), null, "Default");
        }
    }

    private static final class Spi extends SSLContextSpi {
        private static SSLContext system() {
            try {
                return SSLContext.getDefault();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("no default TLS context: " + e.getMessage(), e);
            }
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random)
                throws KeyManagementException {
            throw new KeyManagementException("the default TLS context is initialized already");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return system().getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return system().getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return system().createSSLEngine();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return system().createSSLEngine(host, port);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return system().getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return system().getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return system().getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return system().getSupportedSSLParameters();
        }
    }
}

package dev.singlepull.cri.metrics;

import com.sun.net.httpserver.HttpServer;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/** Serves {@code GET /metrics} in the Prometheus text format on one {@code host:port}. */
public final class MetricsEndpoint implements AutoCloseable {
    private final HttpServer server;

    private MetricsEndpoint(HttpServer server) {
        this.server = server;
    }

    /** Binds and starts; INVALID_ARGUMENT for a malformed address, UNAVAILABLE naming it when it is in use. */
    public static MetricsEndpoint start(String address, PrometheusMeterRegistry registry) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw SinglepullException.invalidArgument("metrics address '" + address + "' is not HOST:PORT");
        }
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw SinglepullException.invalidArgument("metrics address '" + address + "' has no valid port");
        }
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
            server.createContext("/metrics", exchange -> {
                byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.start();
            return new MetricsEndpoint(server);
        } catch (BindException e) {
            throw new SinglepullException(ErrorKind.UNAVAILABLE, "metrics address " + address
                    + " is in use (choose another with --metrics-address, or \"\" to disable)", e);
        } catch (IOException e) {
            throw new SinglepullException(ErrorKind.UNAVAILABLE, "cannot serve metrics on " + address + ": "
                    + e.getMessage(), e);
        }
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

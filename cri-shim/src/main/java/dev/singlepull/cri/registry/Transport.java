package dev.singlepull.cri.registry;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * Sends requests to registry endpoints: with the caller's authorization to the registry itself, anonymously to a
 * mirror (a caller's credentials are for the registry it named, not for whoever mirrors it), and without any
 * Authorization to other hosts (redirect targets, foreign URLs). A 401 is answered once through the
 * {@link Authorizer}; a second 401 is returned for the caller to map to UNAUTHENTICATED. Thread-safe.
 */
final class Transport {
    private final HttpClients clients;
    private final HostGuards guards;
    private final Authorizer authorizer;
    private final RegistryHosts hosts;

    Transport(HttpClients clients, HostGuards guards, Authorizer authorizer, RegistryHosts hosts) {
        this.clients = clients;
        this.guards = guards;
        this.authorizer = authorizer;
        this.hosts = hosts;
    }

    /** The credentials that go to {@code endpoint}: the caller's for the registry itself, none for a mirror. */
    static Credentials credentialsFor(Endpoint endpoint, Credentials credentials) {
        return endpoint.mirror() ? Credentials.ANONYMOUS : credentials;
    }

    /**
     * Sends {@code request} to {@code endpoint} (retried there unless it is a mirror), answering one 401 challenge.
     * UNAUTHENTICATED / PERMISSION_DENIED when the challenge cannot be met; UNAVAILABLE, DEADLINE_EXCEEDED as
     * {@link HostGuards} says.
     */
    <T> HttpResponse<T> send(Endpoint endpoint, String repository, HttpRequest.Builder request,
                             HttpResponse.BodyHandler<T> handler, Credentials credentials) {
        Credentials creds = credentialsFor(endpoint, credentials);
        String host = endpoint.authority();
        authorizer.header(host, repository, creds).ifPresent(h -> request.setHeader("Authorization", h));
        HttpResponse<T> response = exchange(endpoint, request.build(), handler);
        if (response.statusCode() != 401) {
            return response;
        }
        String challenge = response.headers().firstValue("WWW-Authenticate").orElse(null);
        HostGuards.discard(response);
        request.setHeader("Authorization", authorizer.answer(host, repository, creds, challenge));
        response = exchange(endpoint, request.build(), handler);
        if (response.statusCode() == 401) {
            authorizer.rejected(host, repository, creds);
        }
        return response;
    }

    /** Sends {@code request} to a host that is not the registry: no Authorization, TLS as configured for it. */
    <T> HttpResponse<T> sendAnonymously(URI uri, HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                        boolean retry) {
        String host = uri.getRawAuthority();
        return guards.exchange(clients.client(hosts.tlsFor(host)), request, handler, host, retry);
    }

    private <T> HttpResponse<T> exchange(Endpoint endpoint, HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        return guards.exchange(clients.client(endpoint.tls()), request, handler, endpoint.authority(),
                !endpoint.mirror());
    }
}

package dev.singlepull.cri.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns credentials into an {@code Authorization} header for one registry host and repository scope. It learns each
 * host's scheme from its first 401 challenge: Basic sends the credentials; Bearer fetches a token from the challenge's
 * realm and caches it per host, scope and credential identity until shortly before it expires, so later requests of
 * that scope carry it at once. How the token is asked for depends on the credentials: an identity token (OAuth2
 * refresh token) is POSTed to the realm as {@code grant_type=refresh_token}; a user name and password go as Basic
 * auth on a GET; no credentials ask anonymously. A CRI registry token is sent to the registry as it is.
 *
 * <p>Errors: UNAUTHENTICATED when a challenge cannot be met or the token service refuses (401), PERMISSION_DENIED when
 * it forbids (403), UNAVAILABLE when it cannot be reached. Messages name host and scope, never a secret. Thread-safe;
 * concurrent callers of one key wait for one token request (Caffeine computes each key once).
 */
final class Authorizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEFAULT_TOKEN_LIFETIME = Duration.ofSeconds(60);
    private static final String CLIENT_ID = "singlepull";

    private record TokenKey(String host, String scope, String identity) { }

    private record Token(String value, Duration lifetime) { }

    private final HttpClients clients;
    private final HostGuards guards;
    private final RegistryHosts hosts;
    private final ConcurrentHashMap<String, AuthChallenge> challenges = new ConcurrentHashMap<>();
    private final Cache<TokenKey, Token> tokens = Caffeine.newBuilder()
            .maximumSize(10_000)
            .expireAfter(new Expiry<TokenKey, Token>() {
                @Override
                public long expireAfterCreate(TokenKey key, Token token, long now) {
                    // refresh a little before the registry's expiry, so a request never carries a dying token
                    return token.lifetime().minusSeconds(Math.min(10, token.lifetime().toSeconds() / 4)).toNanos();
                }

                @Override
                public long expireAfterUpdate(TokenKey key, Token token, long now, long current) {
                    return expireAfterCreate(key, token, now);
                }

                @Override
                public long expireAfterRead(TokenKey key, Token token, long now, long current) {
                    return current;
                }
            })
            .build();

    Authorizer(HttpClients clients, HostGuards guards, RegistryHosts hosts) {
        this.clients = clients;
        this.guards = guards;
        this.hosts = hosts;
    }

    /**
     * The header to send before the host challenges this request: a CRI registry token; Basic credentials for a
     * host known to want them; a bearer token for a host known to want one (fetched now if none is cached for this
     * scope, which saves the round trip of a 401). Empty for a host not yet heard from.
     */
    Optional<String> header(String host, String repository, Credentials credentials) {
        if (!credentials.registryToken().isEmpty()) {
            return Optional.of("Bearer " + credentials.registryToken());
        }
        AuthChallenge challenge = challenges.get(host);
        if (challenge == null) {
            return Optional.empty();
        }
        if (challenge.isBasic()) {
            return credentials.hasBasic() ? Optional.of(basic(credentials)) : Optional.empty();
        }
        if (!challenge.isBearer()) {
            return Optional.empty();
        }
        String scope = scope(repository);
        Token token = tokens.get(new TokenKey(host, scope, credentials.identity()),
                k -> fetchToken(host, challenge, scope, credentials));
        return Optional.of("Bearer " + token.value());
    }

    /**
     * Answers a 401: remembers the challenge and returns the header to retry with. UNAUTHENTICATED when the
     * challenge cannot be met (Basic without credentials, an unknown scheme, a token service that refuses).
     */
    String answer(String host, String repository, Credentials credentials, String wwwAuthenticate) {
        AuthChallenge challenge = AuthChallenge.parse(wwwAuthenticate).orElseThrow(() -> new SinglepullException(
                ErrorKind.UNAUTHENTICATED, "registry " + host + " refused the request without saying how to authenticate"));
        challenges.put(host, challenge);
        if (!credentials.registryToken().isEmpty()) {
            throw new SinglepullException(ErrorKind.UNAUTHENTICATED,
                    "registry " + host + " refused the registry token given for " + repository);
        }
        if (challenge.isBasic()) {
            if (!credentials.hasBasic()) {
                throw new SinglepullException(ErrorKind.UNAUTHENTICATED,
                        "registry " + host + " requires credentials for " + repository);
            }
            return basic(credentials);
        }
        if (!challenge.isBearer()) {
            throw new SinglepullException(ErrorKind.UNAUTHENTICATED,
                    "registry " + host + " asks for unsupported authentication scheme '" + challenge.scheme() + "'");
        }
        String scope = challenge.params().getOrDefault("scope", scope(repository));
        TokenKey key = new TokenKey(host, scope(repository), credentials.identity());
        Token token = tokens.get(key, k -> fetchToken(host, challenge, scope, credentials));
        return "Bearer " + token.value();
    }

    /** Forgets a token the registry rejected, so the next attempt fetches a new one. */
    void rejected(String host, String repository, Credentials credentials) {
        tokens.invalidate(new TokenKey(host, scope(repository), credentials.identity()));
    }

    private Token fetchToken(String host, AuthChallenge challenge, String scope, Credentials credentials) {
        String realm = challenge.params().get("realm");
        if (realm == null || realm.isBlank()) {
            throw new SinglepullException(ErrorKind.UNAUTHENTICATED, "registry " + host + " sent a bearer challenge without realm");
        }
        URI realmUri;
        try {
            realmUri = URI.create(realm);
        } catch (IllegalArgumentException e) {
            throw new SinglepullException(ErrorKind.UNAUTHENTICATED, "registry " + host + " sent a bad realm");
        }
        if (realmUri.getRawAuthority() == null
                || !("https".equalsIgnoreCase(realmUri.getScheme()) || "http".equalsIgnoreCase(realmUri.getScheme()))) {
            throw new SinglepullException(ErrorKind.UNAUTHENTICATED, "registry " + host + " sent a bad realm");
        }
        String service = challenge.params().get("service");
        HttpRequest request = credentials.identityToken().isEmpty()
                ? getRequest(realmUri, service, scope, credentials)
                : refreshRequest(realmUri, service, scope, credentials);
        String realmHost = realmUri.getRawAuthority();
        HttpResponse<byte[]> response = guards.exchange(clients.client(hosts.tlsFor(realmHost)), request,
                HttpResponse.BodyHandlers.ofByteArray(), realmHost, true);
        int status = response.statusCode();
        if (status == 401 || status == 403) {
            throw new SinglepullException(status == 401 ? ErrorKind.UNAUTHENTICATED : ErrorKind.PERMISSION_DENIED,
                    "token service " + realmHost + " of registry " + host + " refused "
                            + (credentials.isAnonymous() ? "anonymous access" : "the credentials") + " for " + scope
                            + " (HTTP " + status + ")");
        }
        if (status != 200) {
            throw SinglepullException.unavailable("token service " + realmHost + " of registry " + host
                    + " answered HTTP " + status + " for " + scope, null);
        }
        JsonNode body;
        try {
            body = JSON.readTree(response.body());
        } catch (IOException e) {
            throw SinglepullException.unavailable("token service " + realmHost + " of registry " + host
                    + " sent no JSON", null);
        }
        String token = body == null ? "" : body.path("token").asText(body.path("access_token").asText(""));
        if (token.isEmpty()) {
            throw new SinglepullException(ErrorKind.UNAUTHENTICATED, "token service " + realmHost + " of registry "
                    + host + " returned no token for " + scope);
        }
        long expiresIn = body.path("expires_in").asLong(0);
        return new Token(token, expiresIn > 0 ? Duration.ofSeconds(expiresIn) : DEFAULT_TOKEN_LIFETIME);
    }

    /** The token spec's GET: {@code ?service=...&scope=...}, with Basic auth when there are credentials. */
    private static HttpRequest getRequest(URI realm, String service, String scope, Credentials credentials) {
        StringBuilder query = new StringBuilder();
        if (service != null) {
            query.append("service=").append(encode(service)).append('&');
        }
        query.append("scope=").append(encode(scope));
        String base = realm.toString();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + (base.contains("?") ? "&" : "?") + query))
                .timeout(Duration.ofSeconds(30)).GET();
        if (credentials.hasBasic()) {
            request.header("Authorization", basic(credentials));
        }
        return request.build();
    }

    /** The OAuth2 refresh-token grant of the token spec: a form POST with the identity token. */
    private static HttpRequest refreshRequest(URI realm, String service, String scope, Credentials credentials) {
        StringBuilder form = new StringBuilder("grant_type=refresh_token")
                .append("&refresh_token=").append(encode(credentials.identityToken()))
                .append("&client_id=").append(CLIENT_ID)
                .append("&scope=").append(encode(scope));
        if (service != null) {
            form.append("&service=").append(encode(service));
        }
        return HttpRequest.newBuilder(realm).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form.toString(), StandardCharsets.UTF_8)).build();
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static String scope(String repository) {
        return "repository:" + repository + ":pull";
    }

    private static String basic(Credentials credentials) {
        String pair = credentials.username() + ":" + credentials.password();
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }
}

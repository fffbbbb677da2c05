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
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns credentials into an {@code Authorization} header for one registry and repository scope. It learns each
 * registry's scheme from its first 401 challenge: Basic sends the credentials; Bearer fetches a token from the
 * challenge's realm (with the credentials, if any) and caches it per registry, scope and credential identity until
 * it expires. A CRI registry token is sent as a bearer token as it is. Thread-safe.
 */
final class Authorizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEFAULT_TOKEN_LIFETIME = Duration.ofSeconds(60);

    private record TokenKey(String host, String scope, String identity) { }

    private record Token(String value, Duration lifetime) { }

    private final HttpClient http;
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

    Authorizer(HttpClient http) {
        this.http = http;
    }

    /** The header to send before any challenge was seen for this host: known scheme, or a CRI registry token. */
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
        Token token = tokens.getIfPresent(new TokenKey(host, scope(repository), credentials.identity()));
        return Optional.ofNullable(token).map(t -> "Bearer " + t.value());
    }

    /**
     * Answers a 401: remembers the challenge and returns the header to retry with. UNAUTHENTICATED when the
     * challenge cannot be met (Basic without credentials, a token service that refuses).
     */
    String answer(String host, String repository, Credentials credentials, String wwwAuthenticate) {
        AuthChallenge challenge = AuthChallenge.parse(wwwAuthenticate).orElseThrow(() -> new SinglepullException(
                ErrorKind.UNAUTHENTICATED, "registry " + host + " refused the request without saying how to authenticate"));
        challenges.put(host, challenge);
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
        TokenKey key = new TokenKey(host, scope(repository), credentials.identity());
        Token token = tokens.get(key, k -> fetchToken(host, challenge, k.scope(), credentials));
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
        StringBuilder query = new StringBuilder();
        String service = challenge.params().get("service");
        if (service != null) {
            query.append("service=").append(URLEncoder.encode(service, StandardCharsets.UTF_8));
        }
        String wantedScope = challenge.params().getOrDefault("scope", scope);
        query.append(query.isEmpty() ? "" : "&").append("scope=").append(URLEncoder.encode(wantedScope, StandardCharsets.UTF_8));
        URI uri = URI.create(realm + (realm.contains("?") ? "&" : "?") + query);
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (credentials.hasBasic()) {
            request.header("Authorization", basic(credentials));
        }
        try {
            HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() == 401 || response.statusCode() == 403) {
                throw new SinglepullException(response.statusCode() == 401 ? ErrorKind.UNAUTHENTICATED
                        : ErrorKind.PERMISSION_DENIED, "token service of " + host + " refused the credentials for "
                        + wantedScope + " (HTTP " + response.statusCode() + ")");
            }
            if (response.statusCode() != 200) {
                throw SinglepullException.unavailable("token service of " + host + " answered HTTP "
                        + response.statusCode(), null);
            }
            JsonNode body = JSON.readTree(response.body());
            String token = body.path("token").asText(body.path("access_token").asText(""));
            if (token.isEmpty()) {
                throw new SinglepullException(ErrorKind.UNAUTHENTICATED, "token service of " + host + " returned no token");
            }
            long expiresIn = body.path("expires_in").asLong(0);
            return new Token(token, expiresIn > 0 ? Duration.ofSeconds(expiresIn) : DEFAULT_TOKEN_LIFETIME);
        } catch (IOException e) {
            throw SinglepullException.unavailable("token service of " + host + " unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while fetching a token from " + host, e);
        }
    }

    private static String scope(String repository) {
        return "repository:" + repository + ":pull";
    }

    private static String basic(Credentials credentials) {
        String pair = credentials.username() + ":" + credentials.password();
        return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
    }
}

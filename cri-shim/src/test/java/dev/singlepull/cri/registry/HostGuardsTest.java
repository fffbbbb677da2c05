package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;

class HostGuardsTest {
    private static HttpResponse<Void> response(Map<String, List<String>> headers) {
        return new HttpResponse<>() {
            @Override
            public int statusCode() {
                return 429;
            }

            @Override
            public HttpRequest request() {
                return HttpRequest.newBuilder(URI.create("http://x")).build();
            }

            @Override
            public Optional<HttpResponse<Void>> previousResponse() {
                return Optional.empty();
            }

            @Override
            public HttpHeaders headers() {
                return HttpHeaders.of(headers, (a, b) -> true);
            }

            @Override
            public Void body() {
                return null;
            }

            @Override
            public Optional<SSLSession> sslSession() {
                return Optional.empty();
            }

            @Override
            public URI uri() {
                return URI.create("http://x");
            }

            @Override
            public HttpClient.Version version() {
                return HttpClient.Version.HTTP_1_1;
            }
        };
    }

    @Test
    void retryAfterIsReadAsSecondsOrAsADate() {
        assertEquals(Optional.of(Duration.ofSeconds(3)),
                HostGuards.retryAfter(response(Map.of("Retry-After", List.of("3")))));
        assertEquals(Optional.empty(), HostGuards.retryAfter(response(Map.of())));
        assertEquals(Optional.empty(), HostGuards.retryAfter(response(Map.of("Retry-After", List.of("soon")))));
        String inTenSeconds = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now().plusSeconds(10));
        Duration wait = HostGuards.retryAfter(response(Map.of("Retry-After", List.of(inTenSeconds)))).orElseThrow();
        assertTrue(wait.toSeconds() >= 8 && wait.toSeconds() <= 10, wait.toString());
        String past = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now().minusSeconds(10));
        assertEquals(Optional.of(Duration.ZERO), HostGuards.retryAfter(response(Map.of("Retry-After", List.of(past)))));
    }
}

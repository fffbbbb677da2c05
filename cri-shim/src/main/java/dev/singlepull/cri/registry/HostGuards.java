package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalBiFunction;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.core.functions.CheckedSupplier;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;

/**
 * Guards every HTTP exchange with one host: a Resilience4j circuit breaker per host (opened by
 * {@link RegistrySettings#breakerFailures()} failed exchanges in a row: connection errors, timeouts, 5xx; while open,
 * exchanges fail fast with UNAVAILABLE naming the host) inside a retry (jittered exponential back-off on connection
 * errors, 429 and 5xx, honouring {@code Retry-After} in seconds or as a date). Failures leave as
 * {@link SinglepullException}s: UNAVAILABLE, DEADLINE_EXCEEDED (no answer in time) or CANCELLED (interrupted); an
 * HTTP status is returned, not thrown. Thread-safe.
 */
final class HostGuards {
    private record Guard(CircuitBreaker breaker, Retry retry) { }

    private final RegistrySettings settings;
    private final RegistryListener listener;
    private final CircuitBreakerConfig breakerConfig;
    private final RetryConfig retryConfig;
    private final ConcurrentHashMap<String, Guard> guards = new ConcurrentHashMap<>();

    HostGuards(RegistrySettings settings, RegistryListener listener) {
        this.settings = settings;
        this.listener = listener;
        this.breakerConfig = CircuitBreakerConfig.custom()
                .slidingWindow(settings.breakerFailures(), settings.breakerFailures(),
                        CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .failureRateThreshold(100)
                .waitDurationInOpenState(settings.breakerOpen())
                .permittedNumberOfCallsInHalfOpenState(1)
                .recordException(e -> e instanceof IOException)
                .recordResult(r -> r instanceof HttpResponse<?> response && response.statusCode() >= 500)
                .build();
        IntervalFunction backoff = IntervalFunction.ofExponentialRandomBackoff(
                settings.backoff().isZero() ? Duration.ofMillis(1) : settings.backoff(), 2.0, 0.5);
        IntervalBiFunction<HttpResponse<?>> interval = (attempt, outcome) -> outcome.isRight()
                ? retryAfter(outcome.get()).map(d -> Math.min(d.toMillis(), settings.maxRetryAfter().toMillis()))
                        .orElseGet(() -> backoff.apply(attempt))
                : backoff.apply(attempt);
        this.retryConfig = RetryConfig.<HttpResponse<?>>custom()
                .maxAttempts(settings.attempts())
                .intervalBiFunction(interval)
                .retryOnResult(r -> r.statusCode() == 429 || r.statusCode() >= 500)
                .retryOnException(HostGuards::isTransient)
                .consumeResultBeforeRetryAttempt((attempt, response) -> discard(response))
                .failAfterMaxAttempts(false)
                .build();
    }

    /**
     * Sends {@code request} to {@code host} through its circuit breaker; with {@code retry}, transient failures are
     * retried as configured, else the first outcome counts (mirrors: the next endpoint is the fallback).
     */
    <T> HttpResponse<T> exchange(HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                 String host, boolean retry) {
        Guard guard = guard(host);
        CheckedSupplier<HttpResponse<T>> once = CircuitBreaker.decorateCheckedSupplier(guard.breaker(),
                () -> client.send(request, handler));
        try {
            return retry ? guard.retry().executeCheckedSupplier(once) : once.get();
        } catch (CallNotPermittedException e) {
            throw SinglepullException.unavailable("registry " + host + " is failing: its circuit breaker opened after "
                    + settings.breakerFailures() + " failed requests in a row, and requests to it fail fast for "
                    + settings.breakerOpen().toSeconds() + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while talking to " + host, e);
        } catch (HttpTimeoutException e) {
            throw new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "registry " + host + " did not answer in time", e);
        } catch (ConnectException e) {
            throw SinglepullException.unavailable("registry " + host + " is unreachable: " + describe(e), e);
        } catch (SSLException e) {
            throw SinglepullException.unavailable("TLS with " + host + " failed: " + describe(e), e);
        } catch (IOException e) {
            throw SinglepullException.unavailable("talking to registry " + host + " failed: " + describe(e), e);
        } catch (SinglepullException e) {
            throw e;
        } catch (Throwable t) {
            throw SinglepullException.internal("request to " + host + " failed: " + t, t);
        }
    }

    private Guard guard(String host) {
        return guards.computeIfAbsent(host, h -> {
            CircuitBreaker breaker = CircuitBreaker.of(h, breakerConfig);
            breaker.getEventPublisher().onStateTransition(event -> {
                if (event.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                    listener.circuitOpened(h);
                }
            });
            Retry retry = Retry.of(h, retryConfig);
            retry.getEventPublisher().onRetry(event -> listener.retried(h));
            return new Guard(breaker, retry);
        });
    }

    /** Connection errors and broken exchanges are worth another try; timeouts and TLS failures are not. */
    private static boolean isTransient(Throwable e) {
        return e instanceof IOException && !(e instanceof HttpTimeoutException) && !(e instanceof SSLException);
    }

    /** {@code Retry-After} as delay-seconds or an HTTP date. */
    static Optional<Duration> retryAfter(HttpResponse<?> response) {
        return response.headers().firstValue("Retry-After").map(String::strip).flatMap(value -> {
            if (value.matches("[0-9]{1,9}")) {
                return Optional.of(Duration.ofSeconds(Long.parseLong(value)));
            }
            try {
                Duration wait = Duration.between(ZonedDateTime.now(),
                        ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME));
                return Optional.of(wait.isNegative() ? Duration.ZERO : wait);
            } catch (DateTimeParseException e) {
                return Optional.empty();
            }
        });
    }

    private static String describe(Throwable e) {
        return e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
    }

    static void discard(HttpResponse<?> response) {
        if (response.body() instanceof InputStream in) {
            try {
                in.close();
            } catch (IOException ignored) {
                // the connection is dropped either way
            }
        }
    }
}

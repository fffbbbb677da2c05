package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLException;

/**
 * Guards every HTTP exchange with one host: a {@link HostBreaker} per host (failed attempts counted per time slice,
 * {@link RegistrySettings#breakerFailures()} of them in a row open it for {@link RegistrySettings#breakerOpen()}, then
 * one probe is let through) inside a retry loop with jittered exponential back-off. A host that answers 429 or 5xx
 * gets {@link RegistrySettings#attempts()} tries, honouring {@code Retry-After} in seconds or as a date. A host that
 * has answered before and now cannot be reached (connection refused or reset: a restart) is retried for up to
 * {@link RegistrySettings#outageWindow()}, waiting through its open circuit for the probe; a host that never answered
 * gets {@code attempts} tries, and its open circuit fails requests at once. Failures leave as
 * {@link SinglepullException}s: UNAVAILABLE, DEADLINE_EXCEEDED (no answer in time) or CANCELLED (interrupted); an
 * HTTP status is returned, not thrown. Thread-safe.
 */
final class HostGuards {
    /** The longest back-off between two tries, unless the first back-off is longer. */
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);

    private final RegistrySettings settings;
    private final RegistryListener listener;
    private final LongSupplier clock = System::nanoTime;
    private final ConcurrentHashMap<String, HostBreaker> breakers = new ConcurrentHashMap<>();

    HostGuards(RegistrySettings settings, RegistryListener listener) {
        this.settings = settings;
        this.listener = listener;
    }

    /**
     * Sends {@code request} to {@code host} through its circuit breaker; with {@code retry}, transient failures are
     * retried as configured, else the first outcome counts (mirrors: the next endpoint is the fallback).
     */
    <T> HttpResponse<T> exchange(HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                 String host, boolean retry) {
        HostBreaker breaker = breaker(host);
        long start = clock.getAsLong();
        int tries = 0;
        int answeredTries = 0;
        while (true) {
            HostBreaker.Permit permit = breaker.acquire();
            if (!permit.granted()) {
                if (!retry || !breaker.answered() || !withinOutage(start, permit.waitNanos())) {
                    throw SinglepullException.unavailable("registry " + host + " is failing: its circuit breaker "
                            + "opened after " + settings.breakerFailures() + " failed attempts in a row (at least "
                            + settings.breakerSlice().toMillis() + " ms apart), and it lets one request through to "
                            + "probe every " + settings.breakerOpen().toMillis() + " ms", null);
                }
                pause(permit.waitNanos(), host);
                continue;
            }
            tries++;
            HttpResponse<T> response;
            try {
                response = client.send(request, handler);
            } catch (IOException e) {
                if (breaker.failure(permit)) {
                    listener.circuitOpened(host);
                }
                long delay = backoffNanos(tries - 1);
                boolean outage = breaker.answered();
                if (outage) {
                    delay = Math.min(delay, outageLeft(start)); // the last try falls at the window's end
                }
                boolean again = retry && isTransient(e) && (outage ? delay > 0 : tries < settings.attempts());
                if (!again) {
                    throw failed(e, host, breaker.answered() && retry && isTransient(e) ? start : -1);
                }
                listener.retried(host);
                pause(delay, host);
                continue;
            } catch (InterruptedException e) {
                breaker.abandon(permit);
                Thread.currentThread().interrupt();
                throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while talking to " + host, e);
            } catch (RuntimeException | Error e) {
                breaker.abandon(permit);
                throw SinglepullException.internal("request to " + host + " failed: " + e, e);
            }
            int status = response.statusCode();
            if (status >= 500) {
                if (breaker.failure(permit)) {
                    listener.circuitOpened(host);
                }
            } else {
                breaker.success();
            }
            if (retry && (status == 429 || status >= 500) && ++answeredTries < settings.attempts()) {
                long backoff = backoffNanos(answeredTries - 1);
                long delay = retryAfter(response).map(d -> Math.min(d.toNanos(), settings.maxRetryAfter().toNanos()))
                        .orElse(backoff);
                discard(response);
                listener.retried(host);
                pause(delay, host);
                continue;
            }
            return response;
        }
    }

    private HostBreaker breaker(String host) {
        return breakers.computeIfAbsent(host, h -> new HostBreaker(settings.breakerFailures(),
                settings.breakerSlice(), settings.breakerOpen(), clock));
    }

    /** Whether waiting {@code nanos} more still ends inside the outage window of a request begun at {@code start}. */
    private boolean withinOutage(long start, long nanos) {
        return nanos <= outageLeft(start);
    }

    /** What is left of the outage window of a request begun at {@code start}; 0 once it is spent. */
    private long outageLeft(long start) {
        return Math.max(0, settings.outageWindow().toNanos() - (clock.getAsLong() - start));
    }

    /** The back-off before retry {@code n} (0 = the first): doubled each time up to a cap, with +-50% jitter. */
    private long backoffNanos(int n) {
        long first = Math.max(settings.backoff().toNanos(), 1_000_000);
        long cap = Math.max(first, MAX_BACKOFF.toNanos());
        long base = n >= 30 ? cap : Math.min(cap, first << n);
        return (long) (base * (0.5 + ThreadLocalRandom.current().nextDouble()));
    }

    private static void pause(long nanos, String host) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while waiting to retry " + host, e);
        }
    }

    /** {@code e} as the caller sees it; {@code since}, when not -1, is when the outage retries began. */
    private SinglepullException failed(IOException e, String host, long since) {
        String retried = since == -1 ? "" : " (retried for "
                + TimeUnit.NANOSECONDS.toMillis(clock.getAsLong() - since) + " ms)";
        if (e instanceof HttpTimeoutException) {
            return new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "registry " + host + " did not answer in time",
                    e);
        }
        if (e instanceof ConnectException) {
            return SinglepullException.unavailable("registry " + host + " is unreachable: " + describe(e) + retried, e);
        }
        if (e instanceof SSLException) {
            return SinglepullException.unavailable("TLS with " + host + " failed: " + describe(e), e);
        }
        return SinglepullException.unavailable("talking to registry " + host + " failed: " + describe(e) + retried, e);
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

package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.SinglepullException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * How the registry client reaches registries and how hard it tries. Immutable.
 *
 * @param hosts               per registry or mirror host: mirrors, server, insecure, CA file, skip_verify
 * @param insecure            more hosts reached over plain http
 * @param attempts            tries per request to a registry itself when it answers 429 or 5xx, and when a host that
 *                            has never answered refuses connections (a mirror gets one before the next endpoint)
 * @param backoff             the wait before the first retry; doubled for each further one, with +-50% jitter
 * @param maxRetryAfter       the longest {@code Retry-After} honoured; a longer one is waited for this long
 * @param outageWindow        how long one request to a registry that has answered before keeps retrying while it
 *                            cannot be reached (connection refused or reset: a restart), before UNAVAILABLE
 * @param breakerFailures     failed attempts (connection errors, timeouts, 5xx), each a slice apart, that open a
 *                            host's circuit; failures within one slice of the last counted one share its cause
 * @param breakerSlice        the time slice of the circuit breaker's count
 * @param breakerOpen         how long an open circuit holds requests back before letting one through to probe
 * @param downloadsPerHost    blob downloads at once from one registry (its mirrors included)
 * @param allowForeignUrls    fetch non-distributable (foreign) layers from the URLs their descriptors list
 * @param maxBlobResumes      how often one blob download is resumed with a range after its streams broke (streams of
 *                            one download that break together count once)
 */
public record RegistrySettings(Map<String, HostConfig> hosts, Set<String> insecure, int attempts, Duration backoff,
                               Duration maxRetryAfter, Duration outageWindow, int breakerFailures,
                               Duration breakerSlice, Duration breakerOpen, int downloadsPerHost,
                               boolean allowForeignUrls, int maxBlobResumes) {
    public static final RegistrySettings DEFAULTS = new RegistrySettings(Map.of(), Set.of(), 4,
            Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofSeconds(15), 5, Duration.ofSeconds(1),
            Duration.ofSeconds(2), 6, false, 5);

    public RegistrySettings {
        hosts = Map.copyOf(hosts);
        insecure = Set.copyOf(insecure);
        if (attempts < 1 || breakerFailures < 1 || downloadsPerHost < 1 || maxBlobResumes < 0) {
            throw SinglepullException.invalidArgument("registry_attempts, circuit_breaker_failures and "
                    + "max_concurrent_downloads_per_host must be >= 1, max_blob_resumes >= 0");
        }
        if (backoff.isNegative() || maxRetryAfter.isNegative() || outageWindow.isNegative()
                || breakerSlice.isNegative() || breakerOpen.isNegative() || breakerOpen.isZero()) {
            throw SinglepullException.invalidArgument("registry back-off, outage and circuit breaker durations must "
                    + "not be negative, and the circuit's open time must be positive");
        }
    }

    public RegistrySettings withHosts(Map<String, HostConfig> value, Set<String> insecureHosts) {
        return new RegistrySettings(value, insecureHosts, attempts, backoff, maxRetryAfter, outageWindow,
                breakerFailures, breakerSlice, breakerOpen, downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withRetries(int attemptsValue, Duration backoffValue, Duration maxRetryAfterValue) {
        return new RegistrySettings(hosts, insecure, attemptsValue, backoffValue, maxRetryAfterValue, outageWindow,
                breakerFailures, breakerSlice, breakerOpen, downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withOutageWindow(Duration value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, value, breakerFailures,
                breakerSlice, breakerOpen, downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withCircuitBreaker(int failures, Duration slice, Duration open) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, outageWindow, failures, slice,
                open, downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withDownloadsPerHost(int value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, outageWindow, breakerFailures,
                breakerSlice, breakerOpen, value, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withAllowForeignUrls(boolean value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, outageWindow, breakerFailures,
                breakerSlice, breakerOpen, downloadsPerHost, value, maxBlobResumes);
    }

    public RegistrySettings withMaxBlobResumes(int value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, outageWindow, breakerFailures,
                breakerSlice, breakerOpen, downloadsPerHost, allowForeignUrls, value);
    }
}

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
 * @param attempts            tries per request to a registry itself (a mirror gets one before the next endpoint)
 * @param backoff             the wait before the first retry; doubled for each further one, with +-50% jitter
 * @param maxRetryAfter       the longest {@code Retry-After} honoured; a longer one is waited for this long
 * @param breakerFailures     failed requests in a row (connection errors, timeouts, 5xx) that open a host's circuit
 * @param breakerOpen         how long an open circuit fails requests fast before letting one through to probe
 * @param downloadsPerHost    blob downloads at once from one registry (its mirrors included)
 * @param allowForeignUrls    fetch non-distributable (foreign) layers from the URLs their descriptors list
 * @param maxBlobResumes      how often one blob download is resumed with a range after its stream broke
 */
public record RegistrySettings(Map<String, HostConfig> hosts, Set<String> insecure, int attempts, Duration backoff,
                               Duration maxRetryAfter, int breakerFailures, Duration breakerOpen, int downloadsPerHost,
                               boolean allowForeignUrls, int maxBlobResumes) {
    public static final RegistrySettings DEFAULTS = new RegistrySettings(Map.of(), Set.of(), 4,
            Duration.ofMillis(200), Duration.ofSeconds(30), 5, Duration.ofSeconds(30), 6, false, 5);

    public RegistrySettings {
        hosts = Map.copyOf(hosts);
        insecure = Set.copyOf(insecure);
        if (attempts < 1 || breakerFailures < 1 || downloadsPerHost < 1 || maxBlobResumes < 0) {
            throw SinglepullException.invalidArgument("registry_attempts, circuit_breaker_failures and "
                    + "max_concurrent_downloads_per_host must be >= 1, max_blob_resumes >= 0");
        }
        if (backoff.isNegative() || maxRetryAfter.isNegative() || breakerOpen.isNegative() || breakerOpen.isZero()) {
            throw SinglepullException.invalidArgument("registry back-off and circuit breaker durations must be positive");
        }
    }

    public RegistrySettings withHosts(Map<String, HostConfig> value, Set<String> insecureHosts) {
        return new RegistrySettings(value, insecureHosts, attempts, backoff, maxRetryAfter, breakerFailures,
                breakerOpen, downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withRetries(int attemptsValue, Duration backoffValue, Duration maxRetryAfterValue) {
        return new RegistrySettings(hosts, insecure, attemptsValue, backoffValue, maxRetryAfterValue, breakerFailures,
                breakerOpen, downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withCircuitBreaker(int failures, Duration open) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, failures, open,
                downloadsPerHost, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withDownloadsPerHost(int value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, breakerFailures, breakerOpen,
                value, allowForeignUrls, maxBlobResumes);
    }

    public RegistrySettings withAllowForeignUrls(boolean value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, breakerFailures, breakerOpen,
                downloadsPerHost, value, maxBlobResumes);
    }

    public RegistrySettings withMaxBlobResumes(int value) {
        return new RegistrySettings(hosts, insecure, attempts, backoff, maxRetryAfter, breakerFailures, breakerOpen,
                downloadsPerHost, allowForeignUrls, value);
    }
}

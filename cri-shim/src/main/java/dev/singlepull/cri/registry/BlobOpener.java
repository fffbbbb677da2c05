package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opens blob bodies. A blob comes from the registry's endpoints in order (mirrors, then the registry); a redirect is
 * followed by hand, with the Authorization header only while it stays on the endpoint's host, since storage backends
 * sign their URLs themselves. A non-distributable (foreign) layer that lists URLs is fetched from those URLs first when
 * {@link RegistrySettings#allowForeignUrls()} says so; otherwise only the registry is asked, and a registry without it
 * is FAILED_PRECONDITION. Thread-safe.
 */
final class BlobOpener {
    private static final int MAX_HOPS = 5;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-\\d+/(\\d+|\\*)");

    private final RegistryHosts hosts;
    private final Transport transport;
    private final RegistrySettings settings;
    private final RegistryListener listener;
    private final AtomicLong requests = new AtomicLong();

    BlobOpener(RegistryHosts hosts, Transport transport, RegistrySettings settings, RegistryListener listener) {
        this.hosts = hosts;
        this.transport = transport;
        this.settings = settings;
        this.listener = listener;
    }

    long requests() {
        return requests.get();
    }

    /** Bytes {@code offset} to {@code end} (exclusive; -1: to the end) of {@code blob}. */
    RegistryClient.BlobStream open(ImageRef ref, Descriptor blob, long offset, long end, Credentials credentials) {
        if (MediaTypes.isNonDistributable(blob.mediaType()) && !blob.urls().isEmpty()) {
            return openForeign(ref, blob, offset, end, credentials);
        }
        return fromRegistry(ref, blob, offset, end, credentials);
    }

    private RegistryClient.BlobStream fromRegistry(ImageRef ref, Descriptor blob, long offset, long end,
                                                   Credentials credentials) {
        return Fallback.first(hosts.endpoints(ref.domain()),
                endpoint -> follow(endpoint.uri(ref.repository(), "/blobs/" + blob.digest()), endpoint, ref, blob,
                        offset, end, credentials), listener);
    }

    private RegistryClient.BlobStream openForeign(ImageRef ref, Descriptor blob, long offset, long end,
                                                  Credentials credentials) {
        String what = "layer " + blob.digest() + " of " + ref;
        if (!settings.allowForeignUrls()) {
            try {
                return fromRegistry(ref, blob, offset, end, credentials);
            } catch (SinglepullException e) {
                if (e.kind() != ErrorKind.NOT_FOUND) {
                    throw e;
                }
                throw SinglepullException.failedPrecondition(what + " is non-distributable (" + blob.mediaType()
                        + ") and registry " + hosts.endpoint(ref.domain()).getRawAuthority() + " does not hold it; it"
                        + " is published at " + blob.urls() + ", which are fetched only with allow_foreign_urls = true");
            }
        }
        List<String> failures = new ArrayList<>();
        for (String url : blob.urls()) {
            try {
                URI uri = foreignUri(url, what);
                return follow(uri, null, ref, blob, offset, end, Credentials.ANONYMOUS);
            } catch (SinglepullException e) {
                if (e.kind() == ErrorKind.CANCELLED) {
                    throw e;
                }
                failures.add(e.getMessage());
            }
        }
        try {
            return fromRegistry(ref, blob, offset, end, credentials);
        } catch (SinglepullException e) {
            throw new SinglepullException(e.kind(), e.getMessage() + " (its foreign URLs failed first: "
                    + String.join("; ", failures) + ")", e);
        }
    }

    private URI foreignUri(String url, String what) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw SinglepullException.failedPrecondition(what + " lists a malformed URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (uri.getRawAuthority() == null || !(scheme.equals("https") || scheme.equals("http"))) {
            throw SinglepullException.failedPrecondition(what + " lists URL " + url + ", which is not http(s)");
        }
        if (scheme.equals("http") && !hosts.isPlainHttp(uri.getRawAuthority())) {
            throw SinglepullException.failedPrecondition(what + " lists plain-http URL " + url + " of a host not"
                    + " marked insecure");
        }
        return uri;
    }

    /**
     * GETs {@code uri} from byte {@code offset} to {@code end} (exclusive; -1: to the end) and follows redirects.
     * {@code endpoint} is the registry endpoint the request started at (authorized while on its host), or null for
     * a foreign URL (never authorized). An open-ended range from beyond 0 is a resume, and reported as one.
     */
    private RegistryClient.BlobStream follow(URI start, Endpoint endpoint, ImageRef ref, Descriptor blob, long offset,
                                             long end, Credentials credentials) {
        String what = "blob " + blob.digest() + " of " + ref;
        URI uri = start;
        long from = offset;
        for (int hop = 0; hop < MAX_HOPS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET().timeout(Duration.ofMinutes(30));
            if (from > 0 || end >= 0) {
                request.header("Range", "bytes=" + from + "-" + (end >= 0 ? Long.toString(end - 1) : ""));
            }
            requests.incrementAndGet();
            String host = uri.getRawAuthority();
            boolean onEndpoint = endpoint != null && host.equalsIgnoreCase(endpoint.authority())
                    && uri.getScheme().equalsIgnoreCase(endpoint.base().getScheme());
            HttpResponse<InputStream> response = onEndpoint
                    ? transport.send(endpoint, ref.repository(), request, HttpResponse.BodyHandlers.ofInputStream(),
                            credentials)
                    : transport.sendAnonymously(uri, request.build(), HttpResponse.BodyHandlers.ofInputStream(),
                            endpoint == null || !endpoint.mirror());
            int status = response.statusCode();
            if (status == 200) {
                return new RegistryClient.BlobStream(response.body(), 0, host, false);
            }
            if (status == 206) {
                long start206 = rangeStart(response);
                if (start206 == from) {
                    if (from > 0 && end < 0) {
                        listener.resumed(host, from);
                    }
                    return new RegistryClient.BlobStream(response.body(), from, host, true);
                }
                HostGuards.discard(response); // a range we did not ask for: ask for the whole blob
                from = 0;
                continue;
            }
            if (status >= 300 && status < 400 && response.headers().firstValue("Location").isPresent()) {
                HostGuards.discard(response);
                try {
                    uri = uri.resolve(response.headers().firstValue("Location").orElseThrow());
                } catch (IllegalArgumentException e) {
                    throw SinglepullException.unavailable(what + ": " + host + " redirected to a malformed URL", e);
                }
                continue;
            }
            throw RegistryErrors.fromResponse(status, readErrorBody(response), what, host);
        }
        throw SinglepullException.unavailable(what + ": more than " + MAX_HOPS + " redirects from "
                + start.getRawAuthority(), null);
    }

    private static long rangeStart(HttpResponse<?> response) {
        Matcher m = CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static byte[] readErrorBody(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            return in.readNBytes(64 * 1024);
        } catch (IOException e) {
            return new byte[0];
        }
    }
}

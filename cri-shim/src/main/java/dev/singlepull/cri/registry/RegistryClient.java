package dev.singlepull.cri.registry;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Speaks the OCI distribution API to registries: resolves references to platform manifests and opens blobs.
 * Resolution sends HEAD to learn the digest, then one GET by digest, and verifies the bytes against it. Requests are
 * retried with jittered backoff on connection errors, 429 and 5xx; 401 challenges are answered through the
 * {@link Authorizer}. Blob redirects to another host are followed without the Authorization header. Thread-safe.
 */
public final class RegistryClient {

    /** A manifest or index document, exactly as the registry served it. */
    public record Document(Digest digest, String mediaType, byte[] bytes) { }

    /**
     * A reference resolved to one platform manifest.
     *
     * @param index    the index or manifest list the reference pointed at, if it pointed at one
     * @param manifest the platform manifest's document
     * @param image    the parsed manifest
     */
    public record Resolved(ImageRef ref, Optional<Document> index, Document manifest, Manifests.ImageManifest image) { }

    /** An open blob body, starting at {@code offset} (0 unless a range was asked for and honoured). */
    public record BlobStream(InputStream body, long offset) { }

    private final RegistryHosts hosts;
    private final HttpClient http;
    private final Authorizer authorizer;
    private final Retry retry;
    private final AtomicLong manifestRequests = new AtomicLong();
    private final AtomicLong blobRequests = new AtomicLong();

    public RegistryClient(RegistryHosts hosts) {
        this.hosts = hosts;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(15))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        this.authorizer = new Authorizer(http);
        this.retry = Retry.of("registry", RetryConfig.<HttpResponse<?>>custom()
                .maxAttempts(4)
                .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(200), 2.0, 0.5))
                .retryOnResult(r -> r.statusCode() == 429 || r.statusCode() >= 500)
                .retryOnException(e -> e instanceof IOException && !(e instanceof HttpTimeoutException))
                .consumeResultBeforeRetryAttempt((attempt, response) -> discard(response))
                .failAfterMaxAttempts(false)
                .build());
    }

    /** Manifest requests (HEAD and GET) sent so far. */
    public long manifestRequests() {
        return manifestRequests.get();
    }

    /** Blob GETs sent so far (a resumed or redirected download counts each request). */
    public long blobRequests() {
        return blobRequests.get();
    }

    /**
     * Resolves {@code ref} to the manifest for {@code platform}. NOT_FOUND when the registry lacks the repository or
     * tag; FAILED_PRECONDITION for schema 1 or a platform missing from an index; DATA_LOSS when the bytes do not
     * match the digest asked for.
     */
    public Resolved resolve(ImageRef ref, Credentials credentials, Platform platform) {
        Digest top = ref.digest().orElseGet(() -> headDigest(ref, credentials));
        Document first = fetchDocument(ref, top, credentials);
        if (Manifests.isIndex(first.mediaType())) {
            Manifests.Index index = Manifests.parseIndex(first.bytes(), first.mediaType(), ref.toString());
            Descriptor chosen = index.select(platform, ref.toString());
            Document manifest = fetchDocument(ref, chosen.digest(), credentials);
            if (Manifests.isIndex(manifest.mediaType())) {
                throw SinglepullException.failedPrecondition("index " + ref + " points at another index for " + platform);
            }
            return new Resolved(ref, Optional.of(first), manifest,
                    Manifests.parseManifest(manifest.bytes(), manifest.mediaType(), ref.toString()));
        }
        return new Resolved(ref, Optional.empty(), first,
                Manifests.parseManifest(first.bytes(), first.mediaType(), ref.toString()));
    }

    private Digest headDigest(ImageRef ref, Credentials credentials) {
        URI uri = uri(ref, "/manifests/" + ref.manifestReference());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .header("Accept", MediaTypes.MANIFEST_ACCEPT).timeout(Duration.ofSeconds(60));
        manifestRequests.incrementAndGet();
        HttpResponse<byte[]> response = send(ref, request, HttpResponse.BodyHandlers.ofByteArray(), credentials);
        if (response.statusCode() != 200) {
            throw RegistryErrors.fromResponse(response.statusCode(), response.body(), "manifest " + ref, uri.getAuthority());
        }
        return response.headers().firstValue("Docker-Content-Digest").filter(Digest::isDigest).map(Digest::parse)
                .orElseGet(() -> fetchByTag(ref, credentials));
    }

    /** For registries that do not send the digest on HEAD: GET by tag and hash what came. */
    private Digest fetchByTag(ImageRef ref, Credentials credentials) {
        URI uri = uri(ref, "/manifests/" + ref.manifestReference());
        HttpResponse<byte[]> response = getDocument(ref, uri, credentials);
        return Digest.sha256(response.body());
    }

    private Document fetchDocument(ImageRef ref, Digest digest, Credentials credentials) {
        URI uri = uri(ref, "/manifests/" + digest);
        HttpResponse<byte[]> response = getDocument(ref, uri, credentials);
        byte[] bytes = response.body();
        Digest actual = Digest.fromHash(digest.algorithm(), digest.newHasher().digest(bytes));
        if (!actual.equals(digest)) {
            throw SinglepullException.dataLoss("manifest " + ref + " from " + uri.getAuthority() + " has digest "
                    + actual + ", expected " + digest);
        }
        String mediaType = Manifests.mediaTypeOf(bytes, response.headers().firstValue("Content-Type").orElse(""),
                ref.toString());
        return new Document(digest, mediaType, bytes);
    }

    private HttpResponse<byte[]> getDocument(ImageRef ref, URI uri, Credentials credentials) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET()
                .header("Accept", MediaTypes.MANIFEST_ACCEPT).timeout(Duration.ofSeconds(60));
        manifestRequests.incrementAndGet();
        HttpResponse<byte[]> response = send(ref, request, HttpResponse.BodyHandlers.ofByteArray(), credentials);
        if (response.statusCode() != 200) {
            throw RegistryErrors.fromResponse(response.statusCode(), response.body(), "manifest " + ref, uri.getAuthority());
        }
        return response;
    }

    /**
     * Opens blob {@code blob} of {@code ref}'s repository from byte {@code offset} on. The returned offset tells
     * where the body really starts: 0 when the registry ignored the range. NOT_FOUND when the registry lacks it.
     */
    public BlobStream openBlob(ImageRef ref, Descriptor blob, long offset, Credentials credentials) {
        if (!blob.urls().isEmpty() && blob.mediaType().contains("nondistributable")) {
            throw SinglepullException.failedPrecondition("layer " + blob.digest() + " of " + ref
                    + " is non-distributable and fetching foreign URLs is not enabled");
        }
        URI uri = uri(ref, "/blobs/" + blob.digest());
        String what = "blob " + blob.digest() + " of " + ref;
        for (int hop = 0; hop < 5; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET().timeout(Duration.ofMinutes(30));
            if (offset > 0) {
                request.header("Range", "bytes=" + offset + "-");
            }
            blobRequests.incrementAndGet();
            HttpResponse<InputStream> response = hop == 0
                    ? send(ref, request, HttpResponse.BodyHandlers.ofInputStream(), credentials)
                    : exchange(request.build(), HttpResponse.BodyHandlers.ofInputStream(), uri.getAuthority());
            int status = response.statusCode();
            if (status == 200) {
                return new BlobStream(response.body(), 0);
            }
            if (status == 206) {
                return new BlobStream(response.body(), offset);
            }
            if (status >= 300 && status < 400 && response.headers().firstValue("Location").isPresent()) {
                discard(response);
                // The next hop is sent without our Authorization header: a storage backend has its own (signed URL).
                uri = uri.resolve(response.headers().firstValue("Location").orElseThrow());
                continue;
            }
            byte[] body = readErrorBody(response);
            throw RegistryErrors.fromResponse(status, body, what, uri.getAuthority());
        }
        throw SinglepullException.unavailable(what + ": too many redirects", null);
    }

    private <T> HttpResponse<T> send(ImageRef ref, HttpRequest.Builder request, HttpResponse.BodyHandler<T> handler,
                                     Credentials credentials) {
        String host = hosts.endpoint(ref.domain()).getAuthority();
        authorizer.header(host, ref.repository(), credentials).ifPresent(h -> request.setHeader("Authorization", h));
        HttpResponse<T> response = exchange(request.build(), handler, host);
        if (response.statusCode() != 401) {
            return response;
        }
        String challenge = response.headers().firstValue("WWW-Authenticate").orElse(null);
        discard(response);
        request.setHeader("Authorization", authorizer.answer(host, ref.repository(), credentials, challenge));
        response = exchange(request.build(), handler, host);
        if (response.statusCode() == 401) {
            authorizer.rejected(host, ref.repository(), credentials);
        }
        return response;
    }

    private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler, String host) {
        try {
            return retry.executeCheckedSupplier(() -> http.send(request, handler));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SinglepullException(ErrorKind.CANCELLED, "interrupted while talking to " + host, e);
        } catch (HttpTimeoutException e) {
            throw new SinglepullException(ErrorKind.DEADLINE_EXCEEDED, "registry " + host + " did not answer in time", e);
        } catch (ConnectException e) {
            throw SinglepullException.unavailable("registry " + host + " is unreachable: " + e.getMessage(), e);
        } catch (IOException e) {
            throw SinglepullException.unavailable("talking to registry " + host + " failed: " + e, e);
        } catch (SinglepullException e) {
            throw e;
        } catch (Throwable t) {
            throw SinglepullException.internal("request to " + host + " failed: " + t, t);
        }
    }

    private URI uri(ImageRef ref, String suffix) {
        return hosts.endpoint(ref.domain()).resolve("/v2/" + ref.repository() + suffix);
    }

    private static byte[] readErrorBody(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            return in.readNBytes(64 * 1024);
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private static void discard(HttpResponse<?> response) {
        if (response.body() instanceof InputStream in) {
            try {
                in.close();
            } catch (IOException ignored) {
                // the connection is dropped either way
            }
        }
    }
}

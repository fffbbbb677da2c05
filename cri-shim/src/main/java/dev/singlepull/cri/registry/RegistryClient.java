package dev.singlepull.cri.registry;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Speaks the OCI distribution API to registries: resolves references to platform manifests and opens blobs.
 *
 * <p>Every request goes to the registry's endpoints in order, its mirrors first (one try each, anonymously) and then
 * the registry itself (with the caller's credentials and the configured retries), see {@link RegistryHosts}. Resolution
 * runs on one endpoint: HEAD to learn the digest, then one GET by digest with the complete Accept header, verified
 * against the digest; an index leads to one more GET for the chosen platform. Each host has a circuit breaker and
 * retries honour {@code Retry-After} ({@link HostGuards}). Blob downloads from one registry at once are bounded by
 * {@link #downloadSlot}.
 *
 * <p>Errors ({@link SinglepullException}, messages naming the reference and the host, never a secret): NOT_FOUND when
 * the registry lacks the repository, tag or blob; UNAUTHENTICATED / PERMISSION_DENIED when it refuses; UNAVAILABLE
 * when it cannot be reached after retries or its circuit is open; DEADLINE_EXCEEDED when it does not answer in time;
 * FAILED_PRECONDITION for schema 1, an unsupported media type, a platform missing from an index or a foreign layer not
 * allowed; DATA_LOSS when a manifest does not match its digest. Thread-safe.
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

    /**
     * An open blob body, starting at {@code offset} (0 unless a range was asked for and honoured), served by
     * {@code host}. {@code partial}: the server answered with the range asked for (206), not the whole blob (200).
     * The caller closes the body.
     */
    public record BlobStream(InputStream body, long offset, String host, boolean partial) { }

    /** A download slot of one registry, held while a blob streams; closing it twice is harmless. */
    public interface Slot extends AutoCloseable {
        @Override
        void close();
    }

    private final RegistryHosts hosts;
    private final Transport transport;
    private final BlobOpener blobs;
    private final DownloadSlots slots;
    private final RegistryListener listener;
    private final AtomicLong manifestRequests = new AtomicLong();

    /** A client with default settings that reaches {@code hosts}' registries. */
    public RegistryClient(RegistryHosts hosts) {
        this(hosts, RegistrySettings.DEFAULTS, RegistryListener.NONE);
    }

    /** A client for {@code settings}; INVALID_ARGUMENT for a bad hosts configuration (see {@link RegistryHosts}). */
    public RegistryClient(RegistrySettings settings, RegistryListener listener) {
        this(new RegistryHosts(settings.hosts(), settings.insecure()), settings, listener);
    }

    private RegistryClient(RegistryHosts hosts, RegistrySettings settings, RegistryListener listener) {
        this.hosts = hosts;
        this.listener = listener;
        HttpClients clients = new HttpClients(hosts.configuredTls());
        HostGuards guards = new HostGuards(settings, listener);
        this.transport = new Transport(clients, guards, new Authorizer(clients, guards, hosts), hosts);
        this.blobs = new BlobOpener(hosts, transport, settings, listener);
        this.slots = new DownloadSlots(settings.downloadsPerHost());
    }

    /** Manifest requests (HEAD and GET) sent so far. */
    public long manifestRequests() {
        return manifestRequests.get();
    }

    /** Blob GETs sent so far (a resumed or redirected download counts each request). */
    public long blobRequests() {
        return blobs.requests();
    }

    /**
     * Resolves {@code ref} to the manifest for {@code platform}, from the first endpoint that can. NOT_FOUND when the
     * registry lacks the repository or tag; FAILED_PRECONDITION for schema 1 or a platform missing from an index;
     * DATA_LOSS when the bytes do not match the digest asked for.
     */
    public Resolved resolve(ImageRef ref, Credentials credentials, Platform platform) {
        return Fallback.first(hosts.endpoints(ref.domain()), endpoint -> resolveOn(endpoint, ref, credentials, platform),
                listener);
    }

    private Resolved resolveOn(Endpoint endpoint, ImageRef ref, Credentials credentials, Platform platform) {
        Digest top = ref.digest().orElseGet(() -> headDigest(endpoint, ref, credentials));
        Document first = fetchDocument(endpoint, ref, top, credentials);
        if (Manifests.isIndex(first.mediaType())) {
            Manifests.Index index = Manifests.parseIndex(first.bytes(), first.mediaType(), ref.toString());
            Descriptor chosen = index.select(platform, ref + " (from " + endpoint.authority() + ")");
            Document manifest = fetchDocument(endpoint, ref, chosen.digest(), credentials);
            if (Manifests.isIndex(manifest.mediaType())) {
                throw SinglepullException.failedPrecondition("index " + ref + " from " + endpoint.authority()
                        + " points at another index for " + platform);
            }
            return new Resolved(ref, Optional.of(first), manifest,
                    Manifests.parseManifest(manifest.bytes(), manifest.mediaType(), ref.toString()));
        }
        return new Resolved(ref, Optional.empty(), first,
                Manifests.parseManifest(first.bytes(), first.mediaType(), ref.toString()));
    }

    private Digest headDigest(Endpoint endpoint, ImageRef ref, Credentials credentials) {
        URI uri = endpoint.uri(ref.repository(), "/manifests/" + ref.manifestReference());
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .header("Accept", MediaTypes.MANIFEST_ACCEPT).timeout(Duration.ofSeconds(60));
        manifestRequests.incrementAndGet();
        HttpResponse<byte[]> response = transport.send(endpoint, ref.repository(), request,
                HttpResponse.BodyHandlers.ofByteArray(), credentials);
        if (response.statusCode() != 200) {
            throw RegistryErrors.fromResponse(response.statusCode(), response.body(), "manifest " + ref,
                    endpoint.authority());
        }
        return response.headers().firstValue("Docker-Content-Digest").filter(Digest::isDigest).map(Digest::parse)
                .orElseGet(() -> Digest.sha256(getDocument(endpoint, ref, uri, credentials).body()));
    }

    private Document fetchDocument(Endpoint endpoint, ImageRef ref, Digest digest, Credentials credentials) {
        URI uri = endpoint.uri(ref.repository(), "/manifests/" + digest);
        HttpResponse<byte[]> response = getDocument(endpoint, ref, uri, credentials);
        byte[] bytes = response.body();
        String contentType = response.headers().firstValue("Content-Type").orElse("");
        String what = ref + " (from " + endpoint.authority() + ")";
        Manifests.refuseSchema1(bytes, contentType, what);
        Digest actual = Digest.fromHash(digest.algorithm(), digest.newHasher().digest(bytes));
        if (!actual.equals(digest)) {
            throw SinglepullException.dataLoss("manifest " + ref + " from " + endpoint.authority() + " has digest "
                    + actual + ", expected " + digest);
        }
        String mediaType = Manifests.mediaTypeOf(bytes, contentType, what);
        return new Document(digest, mediaType, bytes);
    }

    private HttpResponse<byte[]> getDocument(Endpoint endpoint, ImageRef ref, URI uri, Credentials credentials) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET()
                .header("Accept", MediaTypes.MANIFEST_ACCEPT).timeout(Duration.ofSeconds(60));
        manifestRequests.incrementAndGet();
        HttpResponse<byte[]> response = transport.send(endpoint, ref.repository(), request,
                HttpResponse.BodyHandlers.ofByteArray(), credentials);
        if (response.statusCode() != 200) {
            throw RegistryErrors.fromResponse(response.statusCode(), response.body(), "manifest " + ref,
                    endpoint.authority());
        }
        return response;
    }

    /**
     * Opens blob {@code blob} of {@code ref}'s repository from byte {@code offset} on. The returned offset tells
     * where the body really starts: 0 when the server ignored the range. NOT_FOUND when no endpoint has it;
     * FAILED_PRECONDITION for a foreign layer the registry lacks while foreign URLs are not allowed.
     */
    public BlobStream openBlob(ImageRef ref, Descriptor blob, long offset, Credentials credentials) {
        return blobs.open(ref, blob, offset, -1, credentials);
    }

    /**
     * Opens bytes {@code offset} to {@code end} (exclusive) of blob {@code blob}, for a download in parallel parts.
     * As {@link #openBlob}, the returned offset is where the body really starts: 0 when the server ignored the
     * range and sends the whole blob. The body may run past {@code end} (a server may send more than asked): read
     * only what was asked for.
     */
    public BlobStream openBlobRange(ImageRef ref, Descriptor blob, long offset, long end, Credentials credentials) {
        if (offset < 0 || end <= offset) {
            throw new IllegalArgumentException("range " + offset + "-" + end);
        }
        return blobs.open(ref, blob, offset, end, credentials);
    }

    /**
     * Waits for a download slot of {@code ref}'s registry (the per-registry bulkhead). Take it inside the shared
     * download, never as a waiter. CANCELLED when interrupted while waiting.
     */
    public Slot downloadSlot(ImageRef ref) {
        return slots.acquire(ref.domain());
    }
}

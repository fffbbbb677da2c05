package dev.singlepull.cri.cluster;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Serves this node's blobs to the other nodes of the cluster: {@code HEAD} and {@code GET /v2/<name>/blobs/<digest>},
 * with {@code Range: bytes=N-} or {@code bytes=N-M}, from the content store. A blob still being downloaded here is
 * served as it grows, following its ingest, so another node's first byte comes as soon as this node's does; the
 * response then has no length and ends when the blob is committed (or breaks when the download fails).
 *
 * <p>Every request must carry the cluster token ({@code Authorization: Bearer <token>}); without it the answer is 401
 * and nothing about the blob is said. At most {@code maxUploads} GETs are served at once; more are answered 503, so
 * the caller tries another node or upstream. The name in the path is not used: blobs are served by digest only.
 */
public final class PeerServer implements AutoCloseable {
    private static final Pattern PATH = Pattern.compile("/v2/(.+)/blobs/([a-z0-9]+:[a-f0-9]+)");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");
    private static final int COPY_BUFFER = 64 * 1024;
    private static final System.Logger LOG = System.getLogger(PeerServer.class.getName());

    private final HttpServer server;
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService watch;
    private final ContentStore content;
    private final Predicate<Digest> downloading;
    private final byte[] expectedAuthorization;
    private final Semaphore uploads;
    private final ClusterListener listener;

    private PeerServer(HttpServer server, ContentStore content, Predicate<Digest> downloading, String token,
                       int maxUploads, ClusterListener listener) {
        this.server = server;
        this.content = content;
        this.downloading = downloading;
        this.expectedAuthorization = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.uploads = new Semaphore(maxUploads);
        this.listener = listener;
        this.watch = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("peer-watch")
                .factory());
    }

    /**
     * Starts serving on {@code listen}.
     *
     * @param downloading whether a blob flight for a digest runs on this node (its ingest may not exist yet)
     * @param token       the cluster's shared secret
     */
    public static PeerServer start(InetSocketAddress listen, ContentStore content, Predicate<Digest> downloading,
                                   String token, int maxUploads, ClusterListener listener) {
        if (token.isBlank()) {
            throw new IllegalArgumentException("the cluster token is empty");
        }
        HttpServer http;
        try {
            http = HttpServer.create(listen, 64);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve blobs to peers on " + listen + ": " + e.getMessage(), e);
        }
        PeerServer peer = new PeerServer(http, content, downloading, token, maxUploads, listener);
        http.setExecutor(peer.handlers);
        http.createContext("/", peer::handle);
        http.start();
        return peer;
    }

    /** The port it listens on (useful when started on port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) {
        try (exchange) {
            exchange.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            if (authorization == null || !MessageDigest.isEqual(expectedAuthorization,
                    authorization.getBytes(StandardCharsets.UTF_8))) {
                exchange.sendResponseHeaders(401, -1);
                return;
            }
            Matcher path = PATH.matcher(exchange.getRequestURI().getPath());
            boolean head = exchange.getRequestMethod().equals("HEAD");
            if (!head && !exchange.getRequestMethod().equals("GET")) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            if (!path.matches() || !Digest.isDigest(path.group(2))) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            Digest digest = Digest.parse(path.group(2));
            Optional<ContentInfo> committed = content.info(digest);
            if (head) {
                head(exchange, digest, committed);
                return;
            }
            if (committed.isEmpty() && !downloading.test(digest)) {
                // a blob this node has not got costs no upload slot, and "busy" would send the caller back for it
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (!uploads.tryAcquire()) {
                exchange.getResponseHeaders().set("Retry-After", "1");
                exchange.sendResponseHeaders(503, -1);
                return;
            }
            try {
                get(exchange, digest, committed);
            } finally {
                uploads.release();
            }
        } catch (IOException | RuntimeException e) {
            // the other node went away or the blob's download failed here: it tries elsewhere
            LOG.log(System.Logger.Level.DEBUG, "serving " + exchange.getRequestURI() + " to a peer: " + e);
        }
    }

    private void head(HttpExchange exchange, Digest digest, Optional<ContentInfo> committed) throws IOException {
        exchange.getResponseHeaders().set("Docker-Content-Digest", digest.toString());
        if (committed.isPresent()) {
            exchange.getResponseHeaders().set("Content-Length", Long.toString(committed.get().size()));
            exchange.sendResponseHeaders(200, -1);
        } else {
            exchange.sendResponseHeaders(downloading.test(digest) ? 200 : 404, -1);
        }
    }

    /** A GET of {@code digest}, {@code committed} here or downloading (it may have just finished: then 404). */
    private void get(HttpExchange exchange, Digest digest, Optional<ContentInfo> committed) throws IOException {
        String range = exchange.getRequestHeaders().getFirst("Range");
        long start = 0;
        long end = Long.MAX_VALUE; // inclusive
        if (range != null) {
            Matcher m = RANGE.matcher(range.strip());
            if (!m.matches()) {
                exchange.sendResponseHeaders(416, -1);
                return;
            }
            start = Long.parseLong(m.group(1));
            end = m.group(2).isEmpty() ? Long.MAX_VALUE : Long.parseLong(m.group(2));
            if (end < start) {
                exchange.sendResponseHeaders(416, -1);
                return;
            }
        }
        if (committed.isPresent()) {
            long size = committed.get().size();
            if (start >= size && size > 0 || start > size) {
                exchange.getResponseHeaders().set("Content-Range", "bytes */" + size);
                exchange.sendResponseHeaders(416, -1);
                return;
            }
            long last = Math.min(end, size - 1);
            try (InputStream in = content.open(digest)) {
                in.skipNBytes(start);
                exchange.getResponseHeaders().set("Docker-Content-Digest", digest.toString());
                if (range != null) {
                    exchange.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + last + "/" + size);
                }
                long length = last - start + 1;
                exchange.sendResponseHeaders(range != null ? 206 : 200, length == 0 ? -1 : length);
                copy(in, exchange.getResponseBody(), length);
            }
            return;
        }
        if (!downloading.test(digest)) {
            exchange.sendResponseHeaders(404, -1);
            return;
        }
        InputStream in = content.follow("blob-" + digest, digest);
        // a download that ends before its writer opens would leave the follower waiting: stop it then
        ScheduledFuture<?> guard = watch.scheduleWithFixedDelay(() -> {
            if (!downloading.test(digest) && content.info(digest).isEmpty()) {
                Streams.closeQuietly(in);
            }
        }, 1, 1, TimeUnit.SECONDS);
        try (in) {
            // the answer goes out first: a caller resuming ahead of this node's download waits for its bytes, not
            // for the answer, and so can tell a live node from one that does not answer at all
            exchange.getResponseHeaders().set("Docker-Content-Digest", digest.toString());
            exchange.sendResponseHeaders(range != null ? 206 : 200, 0); // chunked: the length is known at the end
            exchange.getResponseBody().flush();
            in.skipNBytes(start);
            copy(in, exchange.getResponseBody(), end == Long.MAX_VALUE ? Long.MAX_VALUE : end - start + 1);
        } finally {
            guard.cancel(false);
        }
    }

    private void copy(InputStream in, OutputStream out, long length) throws IOException {
        byte[] buffer = new byte[COPY_BUFFER];
        long left = length;
        try (out) {
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    break;
                }
                out.write(buffer, 0, n);
                out.flush();
                left -= n;
                listener.bytesServed(n);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        handlers.shutdownNow();
        watch.shutdownNow();
    }
}

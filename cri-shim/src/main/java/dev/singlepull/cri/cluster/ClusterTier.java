package dev.singlepull.cri.cluster;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import dev.singlepull.cri.pull.BlobPeers;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Predicate;

/**
 * The cluster tier of one node, opened and wired: the lease store, the peer blob server and the blob flight's peer
 * source. Closing it stops serving and disconnects.
 */
public final class ClusterTier implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ClusterTier.class.getName());
    private static final Duration PEER_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration STARTUP_CONNECT_WAIT = Duration.ofSeconds(3);

    private final LeaseStore leases;
    private final PeerServer server;
    private final ScheduledExecutorService renewals;
    private final ClusterBlobs blobs;
    private final Peer self;

    private ClusterTier(LeaseStore leases, PeerServer server, ScheduledExecutorService renewals, ClusterBlobs blobs,
                        Peer self) {
        this.leases = leases;
        this.server = server;
        this.renewals = renewals;
        this.blobs = blobs;
        this.self = self;
    }

    /**
     * Starts serving {@code content} to peers and connects (lazily) to the lease store. Redis need not be up: until
     * it answers, this node fetches as a single node. A token file that cannot be read, or a peer port in use, is
     * an error.
     *
     * @param downloading whether a blob flight for a digest runs on this node
     */
    public static ClusterTier start(ClusterSettings settings, ContentStore content, Predicate<Digest> downloading,
                                    ClusterListener listener) {
        try {
            return open(settings, content, downloading, listener);
        } catch (IllegalArgumentException e) {
            throw SinglepullException.invalidArgument("cluster: " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw new SinglepullException(ErrorKind.FAILED_PRECONDITION, "cluster: " + e.getMessage(), e);
        }
    }

    private static ClusterTier open(ClusterSettings settings, ContentStore content, Predicate<Digest> downloading,
                                    ClusterListener listener) {
        String token = readToken(settings.peerTokenFile().orElseThrow());
        ClusterSettings.HostPort listen = ClusterSettings.HostPort.parse(settings.peerListen(), "peer_listen");
        PeerServer server = PeerServer.start(new InetSocketAddress(listen.host(), listen.port()), content,
                downloading, token, settings.maxPeerUploads(), listener);
        LeaseStore leases = null;
        try {
            Peer self = new Peer(settings.resolvedNodeId(),
                    advertised(settings, listen, server.port()));
            RedisLeaseStore redis = new RedisLeaseStore(settings.redis(), settings.storeTimeout(), listener);
            leases = redis;
            if (!redis.awaitConnected(STARTUP_CONNECT_WAIT)) {
                LOG.log(System.Logger.Level.WARNING, "lease store " + settings.redis() + " does not answer yet: blobs "
                        + "are fetched from upstream as on a single node until it does");
            }
            ScheduledExecutorService renewals = Executors.newSingleThreadScheduledExecutor(
                    Thread.ofPlatform().daemon().name("lease-renewal").factory());
            ClusterBlobs blobs = new ClusterBlobs(self, leases, new PeerClient(token, PEER_CONNECT_TIMEOUT,
                    settings.peerStall()), content, renewals, settings.leaseTtl(), settings.holderTtl(), listener);
            LOG.log(System.Logger.Level.INFO, "cluster tier on: node " + self + ", lease store " + settings.redis());
            return new ClusterTier(leases, server, renewals, blobs, self);
        } catch (RuntimeException e) {
            server.close();
            if (leases != null) {
                leases.close();
            }
            throw e;
        }
    }

    /** Where blob flights look before they go upstream. */
    public BlobPeers peers() {
        return blobs;
    }

    /** Where the blob flight of {@code digest} fetches from now ("peer node@host:port", "upstream"), if it runs. */
    public java.util.Optional<String> sourceOf(Digest digest) {
        return blobs.sourceOf(digest);
    }

    /** This node as the others see it. */
    public Peer self() {
        return self;
    }

    private static String readToken(Path file) {
        try {
            String token = Files.readString(file).strip();
            if (token.isEmpty()) {
                throw new IllegalArgumentException("the cluster token file " + file + " is empty");
            }
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the cluster token file " + file + ": " + e.getMessage(), e);
        }
    }

    private static String advertised(ClusterSettings settings, ClusterSettings.HostPort listen, int boundPort) {
        if (!settings.peerAdvertise().isBlank()) {
            return settings.peerAdvertise();
        }
        String host = listen.host();
        if (host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
            try {
                host = InetAddress.getLocalHost().getHostAddress();
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("peer_advertise is not set and this host's address is unknown: "
                        + e.getMessage());
            }
        }
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + boundPort;
    }

    @Override
    public void close() {
        server.close();
        renewals.shutdownNow();
        leases.close();
    }
}

package dev.singlepull.cri.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@code [cluster]} table of the config: where the lease store is, who this node is, where it serves blobs to
 * the other nodes, and the shared secret they use. An empty {@code redis} leaves the cluster tier off.
 *
 * <pre>
 * [cluster]
 * redis = ""                     # e.g. "redis://10.0.0.5:6379"; "" leaves the cluster tier off
 * node_id = ""                   # default: the host name
 * peer_listen = "0.0.0.0:5050"   # where this node serves blobs to other nodes
 * peer_advertise = ""            # host:port other nodes use to reach this one; default: derived from peer_listen
 * peer_token_file = ""           # the shared secret; required when redis is set
 * max_peer_uploads = 6
 * redis_timeout_ms = 500         # the longest one lease-store call may take; then the node goes on alone
 * </pre>
 *
 * @param storeTimeout the longest one lease-store call may take before the node goes on as a single node
 * @param leaseTtl     how long a lease lasts without renewal (a holder renews it while its download progresses)
 * @param peerStall    how long a peer may send nothing before this node leaves it
 * @param holderTtl    how long the record of a blob's holders lasts after its last holder was added
 */
public record ClusterSettings(String redis, String nodeId, String peerListen, String peerAdvertise,
                              Optional<Path> peerTokenFile, int maxPeerUploads, Duration storeTimeout,
                              Duration leaseTtl, Duration peerStall, Duration holderTtl) {
    public static final ClusterSettings OFF = new ClusterSettings("", "", "0.0.0.0:5050", "", Optional.empty(), 6,
            Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(3), Duration.ofHours(24));

    public ClusterSettings {
        if (maxPeerUploads < 1) {
            throw new IllegalArgumentException("max_peer_uploads must be >= 1");
        }
        if (storeTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("redis_timeout_ms must be >= 1");
        }
        HostPort.parse(peerListen, "peer_listen");
        if (!peerAdvertise.isBlank()) {
            HostPort.parse(peerAdvertise, "peer_advertise");
        }
    }

    /** The problem with these settings as a whole, if any: a tier switched on without the cluster's secret. */
    public Optional<String> incomplete() {
        return enabled() && peerTokenFile.isEmpty()
                ? Optional.of("the cluster tier (redis = \"" + redis + "\") needs peer_token_file, the cluster's "
                        + "shared secret")
                : Optional.empty();
    }

    /** {@code node_id}, or this host's name when it is not set. */
    public String resolvedNodeId() {
        if (!nodeId.isBlank()) {
            return nodeId;
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("node_id is not set and this host's name is unknown: "
                    + e.getMessage());
        }
    }

    public boolean enabled() {
        return !redis.isBlank();
    }

    public ClusterSettings withRedis(String value) {
        return new ClusterSettings(value, nodeId, peerListen, peerAdvertise, peerTokenFile, maxPeerUploads,
                storeTimeout, leaseTtl, peerStall, holderTtl);
    }

    public ClusterSettings withNodeId(String value) {
        return new ClusterSettings(redis, value, peerListen, peerAdvertise, peerTokenFile, maxPeerUploads,
                storeTimeout, leaseTtl, peerStall, holderTtl);
    }

    public ClusterSettings withPeerListen(String value) {
        return new ClusterSettings(redis, nodeId, value, peerAdvertise, peerTokenFile, maxPeerUploads,
                storeTimeout, leaseTtl, peerStall, holderTtl);
    }

    public ClusterSettings withPeerAdvertise(String value) {
        return new ClusterSettings(redis, nodeId, peerListen, value, peerTokenFile, maxPeerUploads,
                storeTimeout, leaseTtl, peerStall, holderTtl);
    }

    public ClusterSettings withPeerTokenFile(Optional<Path> value) {
        return new ClusterSettings(redis, nodeId, peerListen, peerAdvertise, value, maxPeerUploads,
                storeTimeout, leaseTtl, peerStall, holderTtl);
    }

    public ClusterSettings withStoreTimeout(Duration value) {
        return new ClusterSettings(redis, nodeId, peerListen, peerAdvertise, peerTokenFile, maxPeerUploads,
                value, leaseTtl, peerStall, holderTtl);
    }

    public ClusterSettings withMaxPeerUploads(int value) {
        return new ClusterSettings(redis, nodeId, peerListen, peerAdvertise, peerTokenFile, value,
                storeTimeout, leaseTtl, peerStall, holderTtl);
    }

    /** A {@code host:port} of the config, checked. */
    record HostPort(String host, int port) {
        static HostPort parse(String text, String key) {
            int colon = text.lastIndexOf(':');
            try {
                if (colon <= 0) {
                    throw new NumberFormatException();
                }
                int port = Integer.parseInt(text.substring(colon + 1));
                if (port < 0 || port > 65535) {
                    throw new NumberFormatException();
                }
                String host = text.substring(0, colon);
                return new HostPort(host.startsWith("[") && host.endsWith("]")
                        ? host.substring(1, host.length() - 1) : host, port);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + " must be HOST:PORT; got '" + text + "'");
            }
        }
    }
}

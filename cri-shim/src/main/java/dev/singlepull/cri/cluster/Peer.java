package dev.singlepull.cri.cluster;

/**
 * A node of the cluster as other nodes see it: its id and the {@code host:port} of its peer blob server. Written into
 * the lease store as {@code id@host:port}.
 */
public record Peer(String nodeId, String address) {
    public Peer {
        if (nodeId.isBlank() || nodeId.contains("@") || address.isBlank()) {
            throw new IllegalArgumentException("a peer needs a node id without '@' and an address; got '" + nodeId
                    + "' at '" + address + "'");
        }
    }

    /** The inverse of {@link #encoded()}. */
    public static Peer decode(String text) {
        int at = text.indexOf('@');
        if (at <= 0) {
            throw new IllegalArgumentException("not a peer (id@host:port): " + text);
        }
        return new Peer(text.substring(0, at), text.substring(at + 1));
    }

    public String encoded() {
        return nodeId + "@" + address;
    }

    @Override
    public String toString() {
        return encoded();
    }
}

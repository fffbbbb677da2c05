package dev.singlepull.cri.cluster;

import dev.singlepull.content.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;

/**
 * Opens blobs on other nodes' peer servers, with the cluster token and a range from a given offset. A peer that sends
 * nothing for {@code stallTimeout} breaks the read with an exception, so a holder that stopped is left within seconds.
 */
final class PeerClient {
    /** What a peer answered: a body from the asked offset, or a status that says why not. */
    record Answer(int status, InputStream body) {
        boolean ok() {
            return body != null;
        }
    }

    private final String authorization;
    private final Duration connectTimeout;
    private final Duration stallTimeout;

    PeerClient(String token, Duration connectTimeout, Duration stallTimeout) {
        this.authorization = "Bearer " + token;
        this.connectTimeout = connectTimeout;
        this.stallTimeout = stallTimeout;
    }

    /** Opens {@code digest} of repository {@code name} on {@code peer} from byte {@code offset} on. */
    Answer open(Peer peer, String name, Digest digest, long offset) throws IOException {
        URI uri = URI.create("http://" + peer.address() + "/v2/" + name + "/blobs/" + digest);
        HttpURLConnection http = (HttpURLConnection) uri.toURL().openConnection();
        http.setConnectTimeout((int) connectTimeout.toMillis());
        http.setReadTimeout((int) stallTimeout.toMillis());
        http.setRequestProperty("Authorization", authorization);
        if (offset > 0) {
            http.setRequestProperty("Range", "bytes=" + offset + "-");
        }
        int status = http.getResponseCode();
        boolean fromOffset = offset == 0 ? status == 200 || status == 206 : status == 206;
        if (!fromOffset) {
            try (InputStream error = http.getErrorStream()) {
                if (error != null) {
                    error.readAllBytes();
                }
            }
            http.disconnect();
            return new Answer(status == 200 ? 416 : status, null); // a whole blob where a range was asked: unusable
        }
        return new Answer(status, http.getInputStream());
    }
}

package dev.singlepull.cri.cluster;

import java.io.IOException;
import java.io.InputStream;

/** Stream helpers of the cluster tier. */
final class Streams {
    private Streams() { }

    /** Closes {@code in}, which is how a read blocked on it is stopped from another thread. */
    static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // the stream is being abandoned; there is nothing more to do
        }
    }
}

package dev.singlepull.cri.pull;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads of a blob body that hand the store as many bytes at once as have arrived. The HTTP client gives a body over
 * in its own small buffers (16 KiB), one per {@code read}; writing each on its own costs a system call, a journal
 * record and a wake-up of the unpacker that follows the ingest per 16 KiB. Stateless.
 */
final class BodyReads {
    private BodyReads() {
    }

    /**
     * Reads at least one byte into {@code b[off, off + len)} (blocking for it, as {@link InputStream#read} does), then
     * as many more as {@code in} has ready without blocking, up to {@code len}. Returns the count, or -1 at the end
     * of the body. A stream that trickles is not held up: nothing waits for bytes that have not arrived.
     */
    static int readAvailable(InputStream in, byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n <= 0) {
            return n;
        }
        while (n < len && in.available() > 0) {
            int more = in.read(b, off + n, len - n);
            if (more <= 0) {
                break;
            }
            n += more;
        }
        return n;
    }
}

package dev.singlepull.cri.pull;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BodyReadsTest {
    /** Hands bytes over in the chunks given, as the HTTP client does; {@code ready} of them have arrived. */
    private static final class Chunks extends InputStream {
        private final ArrayDeque<byte[]> chunks;
        private int ready;
        private byte[] current = new byte[0];
        private int position;
        int reads;

        Chunks(int ready, byte[]... chunks) {
            this.chunks = new ArrayDeque<>(List.of(chunks));
            this.ready = ready;
        }

        @Override
        public int read() {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            reads++;
            if (position == current.length) {
                if (chunks.isEmpty()) {
                    return -1;
                }
                current = chunks.poll();
                position = 0;
                ready--;
            }
            int n = Math.min(len, current.length - position);
            System.arraycopy(current, position, b, off, n);
            position += n;
            return n;
        }

        @Override
        public int available() {
            return position < current.length ? current.length - position : ready > 0 && !chunks.isEmpty() ? 1 : 0;
        }
    }

    @Test
    void takesEveryChunkThatHasArrivedInOneGo() throws IOException {
        var in = new Chunks(3, bytes(1, 4), bytes(5, 4), bytes(9, 4));
        byte[] buffer = new byte[16];
        assertEquals(12, BodyReads.readAvailable(in, buffer, 0, 16));
        assertArrayEquals(bytes(1, 12), Arrays.copyOf(buffer, 12));
        assertEquals(-1, BodyReads.readAvailable(in, buffer, 0, 16));
    }

    @Test
    void stopsAtTheBufferAndAtBytesThatHaveNotArrived() throws IOException {
        var in = new Chunks(1, bytes(1, 4), bytes(5, 4));
        byte[] buffer = new byte[6];
        assertEquals(4, BodyReads.readAvailable(in, buffer, 0, 6), "the second chunk has not arrived: no wait for it");
        in.ready = 1;
        assertEquals(4, BodyReads.readAvailable(in, buffer, 0, 6));
        var full = new Chunks(2, bytes(1, 4), bytes(5, 4));
        assertEquals(6, BodyReads.readAvailable(full, buffer, 0, 6), "no more than the buffer holds");
        assertArrayEquals(bytes(1, 6), buffer);
        assertEquals(2, BodyReads.readAvailable(full, buffer, 0, 6));
    }

    private static byte[] bytes(int first, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) {
            b[i] = (byte) (first + i);
        }
        return b;
    }
}

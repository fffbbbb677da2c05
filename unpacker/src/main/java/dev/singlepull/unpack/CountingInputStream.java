package dev.singlepull.unpack;

import dev.singlepull.dedup.FlightProgress;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Publishes the bytes read through it as a flight's progress. For one thread. */
final class CountingInputStream extends FilterInputStream {
    private final FlightProgress progress;

    CountingInputStream(InputStream in, FlightProgress progress) {
        super(in);
        this.progress = progress;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            progress.advance(1);
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
            progress.advance(n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long skipped = super.skip(n);
        if (skipped > 0) {
            progress.advance(skipped);
        }
        return skipped;
    }

    @Override
    public boolean markSupported() {
        return false; // a reset would count bytes twice
    }
}

package dev.singlepull.unpack.testing;

import dev.singlepull.content.ContentProvider;
import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/** A {@link ContentProvider} over a map of blobs, counting opens. Thread-safe. */
public final class MapContentProvider implements ContentProvider {
    private final ConcurrentHashMap<Digest, byte[]> blobs = new ConcurrentHashMap<>();
    private final AtomicInteger opens = new AtomicInteger();
    private volatile UnaryOperator<InputStream> wrapper = UnaryOperator.identity();

    /** Stores {@code data} under its sha256 digest and returns it. */
    public Digest put(byte[] data) {
        Digest digest = Digest.sha256(data);
        blobs.put(digest, data);
        return digest;
    }

    /** Stores {@code data} under {@code digest} (a wrong digest on purpose, for tests). */
    public void put(Digest digest, byte[] data) {
        blobs.put(digest, data);
    }

    /** Wraps every stream opened from now on (to block, count or fail reads). */
    public void wrapStreams(UnaryOperator<InputStream> wrapper) {
        this.wrapper = wrapper;
    }

    @Override
    public InputStream open(Digest digest) {
        byte[] data = blobs.get(digest);
        if (data == null) {
            throw SinglepullException.notFound("blob " + digest + " is not committed");
        }
        opens.incrementAndGet();
        return wrapper.apply(new ByteArrayInputStream(data));
    }

    public int opens() {
        return opens.get();
    }
}

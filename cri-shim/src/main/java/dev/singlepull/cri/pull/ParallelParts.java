package dev.singlepull.cri.pull;

/**
 * How a big blob is downloaded as parallel HTTP ranges: blobs with at least two parts' worth of bytes still to
 * fetch are cut into parts of {@code partBytes}, fetched by up to {@code streams} connections at once.
 *
 * @param streams   connections per blob; 1 downloads every blob as one stream
 * @param partBytes bytes per range request
 */
public record ParallelParts(int streams, long partBytes) {
    /** One stream per blob. */
    public static final ParallelParts OFF = new ParallelParts(1, 32L << 20);
    /** The default: see docs/BENCHMARKS.md, "parallel ranges". */
    public static final ParallelParts DEFAULT = new ParallelParts(4, 32L << 20);

    public ParallelParts {
        if (streams < 1 || partBytes < 64 * 1024) {
            throw new IllegalArgumentException("parallel parts need streams >= 1 and parts of at least 64 KiB; got "
                    + streams + " streams of " + partBytes + " bytes");
        }
    }

    /** Whether {@code remaining} bytes of a blob are fetched in parts. */
    boolean appliesTo(long remaining) {
        return streams > 1 && remaining >= 2 * partBytes;
    }
}

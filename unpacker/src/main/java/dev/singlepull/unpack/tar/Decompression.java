package dev.singlepull.unpack.tar;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * Turns a layer blob into its uncompressed tar stream.
 *
 * <p>The media type must be a known layer type (OCI {@code application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]}, their
 * {@code nondistributable} variants, Docker {@code application/vnd.docker.image.rootfs.diff.tar[.gzip|.zstd]} (zstd is
 * not in Docker's spec, but containerd writes and reads it) and the Docker foreign layer); anything else is
 * FAILED_PRECONDITION. The data's magic bytes then decide: gzip or zstd data is decompressed even when the media type
 * says plain tar (images in the wild mislabel layers); data without a magic is read as it is declared.
 *
 * <p>A corrupt or truncated compressed stream fails its read with a DATA_LOSS {@link SinglepullException}; a failure
 * of the underlying source is rethrown unchanged. Stateless and thread-safe; each returned stream is for one thread.
 */
public final class Decompression {
    /** Buffer on the compressed side; also where the magic bytes are peeked. */
    static final int SOURCE_BUFFER = 256 * 1024;

    /** The compression of a layer. */
    public enum Kind { GZIP, ZSTD, NONE }

    private Decompression() {
    }

    /** The declared compression of a layer media type; FAILED_PRECONDITION naming it if it is not a layer type. */
    public static Kind forMediaType(String mediaType) {
        String type = mediaType == null ? "" : mediaType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return switch (type) {
            case "application/vnd.oci.image.layer.v1.tar",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar",
                 "application/vnd.docker.image.rootfs.diff.tar" -> Kind.NONE;
            case "application/vnd.oci.image.layer.v1.tar+gzip",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                 "application/vnd.docker.image.rootfs.diff.tar.gzip",
                 "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" -> Kind.GZIP;
            case "application/vnd.oci.image.layer.v1.tar+zstd",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
                 "application/vnd.docker.image.rootfs.diff.tar.zstd" -> Kind.ZSTD;
            default -> throw SinglepullException.failedPrecondition(
                    "unsupported layer media type '" + mediaType + "'");
        };
    }

    /** {@link #open(String, InputStream, String, GzipDecoder)} with the fastest gzip decoder usable here. */
    public static InputStream open(String mediaType, InputStream compressed, String layerName) throws IOException {
        return open(mediaType, compressed, layerName, GzipDecoder.AUTO);
    }

    /**
     * The uncompressed stream of a layer. Reads the first bytes of {@code compressed} to sniff its format. Closing
     * the result closes {@code compressed}.
     *
     * @param layerName names the layer in error messages
     * @param gzip      what inflates gzip data
     */
    public static InputStream open(String mediaType, InputStream compressed, String layerName, GzipDecoder gzip)
            throws IOException {
        Kind declared = forMediaType(mediaType);
        var source = new BufferedInputStream(new SourceGuard(compressed), SOURCE_BUFFER);
        Kind actual;
        try {
            actual = sniff(source, declared);
        } catch (IOException e) {
            throw DataLossGuard.translate(e, Kind.NONE, layerName);
        }
        try {
            InputStream decompressed = switch (actual) {
                case GZIP -> gzip.open(source);
                case ZSTD -> new ZstdInputStreamNoFinalizer(source);
                case NONE -> source;
            };
            return new DataLossGuard(decompressed, actual, layerName);
        } catch (IOException e) {
            throw DataLossGuard.translate(e, actual, layerName);
        }
    }

    /** The compression the data's magic bytes show, or {@code declared} when they show none. */
    static Kind sniff(BufferedInputStream in, Kind declared) throws IOException {
        in.mark(4);
        byte[] magic = in.readNBytes(4);
        in.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return Kind.GZIP;
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            return Kind.ZSTD;
        }
        return declared;
    }

    /** Marks failures of the raw source, so that they are not mistaken for corrupt compressed data. */
    private static final class SourceGuard extends FilterInputStream {
        SourceGuard(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                throw new SourceFailure(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                throw new SourceFailure(e);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return super.skip(n);
            } catch (IOException e) {
                throw new SourceFailure(e);
            }
        }
    }

    /** A failure of the raw source, carried through the decompressor. */
    private static final class SourceFailure extends IOException {
        private static final long serialVersionUID = 1L;

        SourceFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Reports decompressor failures as DATA_LOSS and source failures as themselves. */
    private static final class DataLossGuard extends FilterInputStream {
        private final Kind kind;
        private final String layerName;

        DataLossGuard(InputStream in, Kind kind, String layerName) {
            super(in);
            this.kind = kind;
            this.layerName = layerName;
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                throw translate(e, kind, layerName);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                throw translate(e, kind, layerName);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return super.skip(n);
            } catch (IOException e) {
                throw translate(e, kind, layerName);
            }
        }

        /**
         * The exception to throw for {@code e}: the source's own exception if the source failed; {@code e} itself
         * for an uncompressed stream; otherwise this throws DATA_LOSS.
         */
        static IOException translate(IOException e, Kind kind, String layerName) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof SourceFailure sf) {
                    return (IOException) sf.getCause();
                }
            }
            if (kind == Kind.NONE) {
                return e;
            }
            throw new SinglepullException(ErrorKind.DATA_LOSS,
                    "layer " + layerName + ": corrupt or truncated " + kind.name().toLowerCase(Locale.ROOT)
                            + " stream: " + e.getMessage(), e);
        }
    }
}

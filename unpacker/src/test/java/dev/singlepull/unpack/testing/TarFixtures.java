package dev.singlepull.unpack.testing;

import com.github.luben.zstd.ZstdOutputStream;
import dev.singlepull.content.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds layer tars in memory for tests, and compresses them. */
public final class TarFixtures {
    public static final String OCI_TAR = "application/vnd.oci.image.layer.v1.tar";
    public static final String OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    public static final String DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    private TarFixtures() {
    }

    public static Builder tar() {
        return new Builder();
    }

    public static byte[] gzip(byte[] data) {
        var out = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static byte[] zstd(byte[] data) {
        var out = new ByteArrayOutputStream();
        try (var z = new ZstdOutputStream(out)) {
            z.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The first {@code keep} bytes. */
    public static byte[] truncate(byte[] data, int keep) {
        return Arrays.copyOf(data, keep);
    }

    public static Digest sha256(byte[] data) {
        return Digest.sha256(data);
    }

    /** Appends entries; {@link #build()} writes the end-of-archive marker. */
    public static final class Builder {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream out = new TarArchiveOutputStream(bytes, StandardCharsets.UTF_8.name());
        private FileTime mtime = FileTime.from(Instant.parse("2024-01-02T03:04:05Z"));
        private long uid;
        private long gid;
        private final java.util.Map<String, String> pax = new java.util.LinkedHashMap<>();

        Builder() {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        /** Long names of the entries added after this call as GNU {@code L}/{@code K} entries instead of PAX. */
        public Builder gnuLongNames() {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
            return this;
        }

        /** An extended attribute (a {@code SCHILY.xattr.} PAX record, UTF-8 value) of the next entry. */
        public Builder xattr(String name, String value) {
            pax.put("SCHILY.xattr." + name, value);
            return this;
        }

        /** The mtime of the entries added after this call. */
        public Builder mtime(Instant time) {
            this.mtime = FileTime.from(time);
            return this;
        }

        /** The owner of the entries added after this call. */
        public Builder owner(long uid, long gid) {
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        public Builder dir(String name, int mode) {
            var e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
            e.setMode(040000 | mode);
            return add(e, null);
        }

        public Builder file(String name, String content) {
            return file(name, content.getBytes(StandardCharsets.UTF_8), 0644);
        }

        public Builder file(String name, byte[] content, int mode) {
            var e = new TarArchiveEntry(name, true);
            e.setMode(0100000 | mode);
            e.setSize(content.length);
            return add(e, content);
        }

        public Builder symlink(String name, String target) {
            var e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
            e.setLinkName(target);
            e.setMode(0120777);
            return add(e, null);
        }

        public Builder hardlink(String name, String target) {
            var e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
            e.setLinkName(target);
            e.setMode(0100644);
            return add(e, null);
        }

        public Builder charDevice(String name, int major, int minor) {
            var e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            e.setMode(020666);
            return add(e, null);
        }

        public Builder blockDevice(String name, int major, int minor) {
            var e = new TarArchiveEntry(name, TarConstants.LF_BLK, true);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            e.setMode(060660);
            return add(e, null);
        }

        public Builder fifo(String name) {
            var e = new TarArchiveEntry(name, TarConstants.LF_FIFO, true);
            e.setMode(010644);
            return add(e, null);
        }

        private Builder add(TarArchiveEntry e, byte[] content) {
            e.setLastModifiedTime(mtime);
            e.setUserId(uid);
            e.setGroupId(gid);
            pax.forEach(e::addPaxHeader);
            pax.clear();
            try {
                out.putArchiveEntry(e);
                if (content != null) {
                    out.write(content);
                }
                out.closeArchiveEntry();
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            return this;
        }

        /** The tar, with its end-of-archive marker and block padding. */
        public byte[] build() {
            try {
                out.finish();
                out.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.toByteArray();
        }
    }
}

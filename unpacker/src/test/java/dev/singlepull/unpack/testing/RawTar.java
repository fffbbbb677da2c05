package dev.singlepull.unpack.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes tar streams block by block, with every header field under the test's control: PAX records with binary
 * values, GNU long names, old GNU and PAX sparse files, base-256 numbers, wrong sizes, bad checksums. What
 * commons-compress would refuse to write, or write only one way.
 */
public final class RawTar {
    public static final int BLOCK = 512;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public static RawTar tar() {
        return new RawTar();
    }

    /** A header with sensible defaults; change fields, then {@link RawTar#header}. */
    public static Header header(String name, char type) {
        return new Header(name, type);
    }

    /** One header block's fields. Names and link names longer than their fields are cut (use long-name entries). */
    public static final class Header {
        public String name;
        public char type;
        public long mode = 0644;
        public long uid;
        public long gid;
        public long size;
        public long mtime = 1_700_000_000L;
        public String linkName = "";
        public String prefix = "";
        public long devMajor;
        public long devMinor;
        /** {@code "ustar"} (POSIX, with prefix), {@code "gnu"}, or {@code "v7"} (no magic). */
        public String format = "ustar";
        /** Write numbers in base-256 (two's complement, so negatives too) instead of octal. */
        public boolean base256;
        /** Write the mtime alone in base-256, as GNU tar does for a time before 1970. */
        public boolean base256Mtime;
        /** If set, the mtime field's 12 bytes as they are. */
        public byte[] rawMtime;
        /** Make the size field base-256 negative. */
        public boolean negativeSize;
        /** Add this to the correct checksum (0 keeps it right). */
        public int checksumError;
        /** Old GNU sparse: segments {offset, length} (at most 4 in the header, the rest in extension blocks). */
        public List<long[]> sparse = new ArrayList<>();
        public long realSize;

        Header(String name, char type) {
            this.name = name;
            this.type = type;
            if (type == '5') {
                mode = 0755;
            }
        }

        public Header mode(long m) {
            mode = m;
            return this;
        }

        public Header size(long s) {
            size = s;
            return this;
        }

        public Header link(String target) {
            linkName = target;
            return this;
        }

        public Header owner(long u, long g) {
            uid = u;
            gid = g;
            return this;
        }

        public Header device(long major, long minor) {
            devMajor = major;
            devMinor = minor;
            return this;
        }

        public Header format(String f) {
            format = f;
            return this;
        }
    }

    /** Writes {@code h} (and, for old GNU sparse, its extension blocks). */
    public RawTar header(Header h) {
        byte[] b = new byte[BLOCK];
        put(b, 0, 100, h.name.getBytes(StandardCharsets.UTF_8));
        number(b, 100, 8, h.mode, h.base256);
        number(b, 108, 8, h.uid, h.base256);
        number(b, 116, 8, h.gid, h.base256);
        if (h.negativeSize) {
            Arrays.fill(b, 124, 136, (byte) 0xff);
        } else {
            number(b, 124, 12, h.size, h.base256);
        }
        if (h.rawMtime != null) {
            put(b, 136, 12, h.rawMtime);
        } else {
            number(b, 136, 12, h.mtime, h.base256 || h.base256Mtime);
        }
        b[156] = (byte) h.type;
        put(b, 157, 100, h.linkName.getBytes(StandardCharsets.UTF_8));
        List<long[]> extra = new ArrayList<>();
        switch (h.format) {
            case "ustar" -> {
                put(b, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
                put(b, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
                put(b, 345, 155, h.prefix.getBytes(StandardCharsets.UTF_8));
            }
            case "gnu" -> {
                put(b, 257, 8, "ustar  \0".getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < h.sparse.size(); i++) {
                    if (i < 4) {
                        number(b, 386 + i * 24, 12, h.sparse.get(i)[0], false);
                        number(b, 386 + i * 24 + 12, 12, h.sparse.get(i)[1], false);
                    } else {
                        extra.add(h.sparse.get(i));
                    }
                }
                b[482] = (byte) (extra.isEmpty() ? 0 : 1);
                number(b, 483, 12, h.realSize, h.base256);
            }
            default -> { }
        }
        if (!h.format.equals("v7")) {
            number(b, 329, 8, h.devMajor, false);
            number(b, 337, 8, h.devMinor, false);
        }
        Arrays.fill(b, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte x : b) {
            sum += x & 0xff;
        }
        number(b, 148, 7, sum + h.checksumError, false);
        b[155] = ' ';
        out.writeBytes(b);
        for (int i = 0; i < extra.size(); i += 21) {
            byte[] ext = new byte[BLOCK];
            for (int j = 0; j < 21 && i + j < extra.size(); j++) {
                number(ext, j * 24, 12, extra.get(i + j)[0], false);
                number(ext, j * 24 + 12, 12, extra.get(i + j)[1], false);
            }
            ext[504] = (byte) (i + 21 < extra.size() ? 1 : 0);
            out.writeBytes(ext);
        }
        return this;
    }

    /** Entry data, padded to a whole block. */
    public RawTar data(byte[] data) {
        out.writeBytes(data);
        int pad = (BLOCK - data.length % BLOCK) % BLOCK;
        out.writeBytes(new byte[pad]);
        return this;
    }

    /** Bytes as they are, no padding. */
    public RawTar raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** A regular file. */
    public RawTar file(String name, byte[] content) {
        return header(header(name, '0').size(content.length)).data(content);
    }

    public RawTar file(String name, String content) {
        return file(name, content.getBytes(StandardCharsets.UTF_8));
    }

    public RawTar dir(String name) {
        return header(header(name.endsWith("/") ? name : name + "/", '5'));
    }

    /** A PAX extended header ({@code x}) with these records, values as raw bytes. */
    public RawTar pax(Map<String, byte[]> records) {
        return extended('x', paxData(records));
    }

    /** A PAX extended header from text records. */
    public RawTar paxText(Map<String, String> records) {
        Map<String, byte[]> raw = new LinkedHashMap<>();
        records.forEach((k, v) -> raw.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return pax(raw);
    }

    /** PAX records, repeated keys allowed (for GNU sparse 0.0): pairs of key and value. */
    public RawTar paxPairs(String... keyValues) {
        var data = new ByteArrayOutputStream();
        for (int i = 0; i < keyValues.length; i += 2) {
            data.writeBytes(record(keyValues[i], keyValues[i + 1].getBytes(StandardCharsets.UTF_8)));
        }
        return extended('x', data.toByteArray());
    }

    /** A GNU long name ({@code L}) for the next entry. */
    public RawTar longName(String name) {
        byte[] b = (name + "\0").getBytes(StandardCharsets.UTF_8);
        return extended('L', b);
    }

    /** A GNU long link target ({@code K}) for the next entry. */
    public RawTar longLink(String target) {
        byte[] b = (target + "\0").getBytes(StandardCharsets.UTF_8);
        return extended('K', b);
    }

    /** An extended header of {@code type} carrying {@code data}. */
    public RawTar extended(char type, byte[] data) {
        return header(header("././@ext", type).size(data.length)).data(data);
    }

    /** The end-of-archive marker: two zero blocks. */
    public RawTar end() {
        out.writeBytes(new byte[2 * BLOCK]);
        return this;
    }

    public byte[] bytes() {
        return out.toByteArray();
    }

    /** Ends the archive and returns it. */
    public byte[] build() {
        return end().bytes();
    }

    /** The PAX record encoding of {@code records}. */
    public static byte[] paxData(Map<String, byte[]> records) {
        var data = new ByteArrayOutputStream();
        records.forEach((k, v) -> data.writeBytes(record(k, v)));
        return data.toByteArray();
    }

    private static byte[] record(String key, byte[] value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        int rest = 1 + k.length + 1 + value.length + 1; // " " key "=" value "\n"
        int length = rest + String.valueOf(rest).length();
        if (String.valueOf(length).length() != String.valueOf(rest).length()) {
            length++;
        }
        var r = new ByteArrayOutputStream();
        r.writeBytes((length + " ").getBytes(StandardCharsets.US_ASCII));
        r.writeBytes(k);
        r.write('=');
        r.writeBytes(value);
        r.write('\n');
        return r.toByteArray();
    }

    private static void put(byte[] b, int at, int length, byte[] value) {
        System.arraycopy(value, 0, b, at, Math.min(length, value.length));
    }

    private static void number(byte[] b, int at, int length, long value, boolean base256) {
        if (base256) {
            long v = value;
            for (int i = at + length - 1; i >= at; i--) {
                b[i] = (byte) v;
                v >>= 8; // sign-extending: a negative number's leading bytes are 0xff
            }
            b[at] |= (byte) 0x80;
            return;
        }
        String octal = Long.toOctalString(value);
        if (octal.length() > length - 1) {
            throw new IllegalArgumentException(value + " does not fit in " + length + " octal digits");
        }
        String padded = "0".repeat(length - 1 - octal.length()) + octal;
        put(b, at, length - 1, padded.getBytes(StandardCharsets.US_ASCII));
        b[at + length - 1] = 0;
    }
}

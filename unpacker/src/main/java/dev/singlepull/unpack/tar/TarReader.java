package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A strict, bounded reader of tar streams: POSIX ustar, GNU and PAX, as container layers use them.
 *
 * <p>Understood: ustar names with their prefix; GNU long names and long link targets ({@code L}, {@code K}); PAX
 * extended headers ({@code x}: {@code path}, {@code linkpath}, {@code size}, {@code uid}, {@code gid},
 * {@code mtime} with its fraction, {@code SCHILY.xattr.*} with binary values kept byte for byte); sparse files in
 * the old GNU form ({@code S}, with extension headers) and the PAX forms 0.0, 0.1 and 1.0; octal and base-256
 * numbers. PAX global headers ({@code g}) are skipped, as containerd and umoci skip them. The archive ends at the
 * first all-zero block, or at a clean end of stream between entries.
 *
 * <p>Numbers are read as Go's archive/tar (which containerd and umoci use) reads them, so that a layer they unpack
 * is read here too: base-256 fields are two's complement and may be negative (a time before 1970, in GNU tars);
 * blank or NUL-filled octal fields are 0; a PAX record with an empty value leaves the header's field as it is; a PAX
 * {@code mtime} may be negative and carry any number of fraction digits (cut to nanoseconds). Times are kept to any
 * 64-bit second, far past and far future: where they land on disk is the file system's business. Values the
 * reader cannot represent (more than 64 bits) are malformed. The meaning of a number is the applier's: a negative
 * or 33-bit owner, say, is read here and refused there. Link, symlink, device, directory and fifo entries carry no
 * data whatever their size field says, as in Go's reader.
 *
 * <p>Errors: a malformed or truncated stream is a {@link Malformed} (the caller reports DATA_LOSS); an extended
 * header or long name larger than the limit, or a sparse map with too many segments, is a {@link TooLarge}
 * (hostile: INVALID_ARGUMENT). Memory is bounded by those limits whatever the input. For one thread.
 */
final class TarReader {
    static final int BLOCK = 512;
    /** Largest PAX extended header or GNU long name/link accepted. */
    static final int MAX_EXTENDED_HEADER = 1 << 20;
    /** Most segments a sparse file may have. */
    static final int MAX_SPARSE_SEGMENTS = 1 << 16;

    private static final String SCHILY_XATTR = "SCHILY.xattr.";

    private final InputStream in;
    private final byte[] block = new byte[BLOCK];
    private final byte[] scratch = new byte[64 * 1024];
    /** Data bytes of the current entry not yet read, and the padding after them. */
    private long remaining;
    private long padding;
    private boolean ended;
    private long entries;

    TarReader(InputStream in) {
        this.in = in;
    }

    /** The stream is corrupt or truncated. */
    static final class Malformed extends IOException {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    /** The stream asks for more memory than this reader grants. */
    static final class TooLarge extends IOException {
        private static final long serialVersionUID = 1L;

        TooLarge(String message) {
            super(message);
        }
    }

    /** One segment of a sparse file's data: {@code length} bytes stored for file offset {@code offset}. */
    record Segment(long offset, long length) { }

    /** One entry, with every extended header applied. */
    static final class Entry {
        String name;
        char type;
        int mode;
        long uid;
        long gid;
        /** Bytes of data stored in the archive for this entry (after a PAX 1.0 sparse map). */
        long size;
        FileTime mtime;
        String linkName;
        long devMajor;
        long devMinor;
        /** Extended attributes from {@code SCHILY.xattr.*}, in archive order. */
        final Map<String, byte[]> xattrs = new LinkedHashMap<>();
        /** Non-null for a sparse file: where the stored data goes. */
        List<Segment> sparse;
        /** The file's size: {@link #size} for a plain file, the sparse real size otherwise. */
        long realSize;

        boolean isDirectory() {
            return type == '5';
        }

        boolean isRegular() {
            return type == '0' || type == '7' || type == 'S';
        }
    }

    /** The next entry, or null at the end of the archive. Skips what is left of the previous entry's data. */
    Entry next() throws IOException {
        if (ended) {
            return null;
        }
        skipRest();
        List<byte[][]> pax = null;
        String longName = null;
        String longLink = null;
        boolean extended = false;
        while (true) {
            if (!readBlock(!extended)) {
                ended = true;
                return null;
            }
            if (isZero(block)) {
                if (extended) {
                    throw new Malformed("an extended header is followed by the end of the archive");
                }
                ended = true;
                return null;
            }
            verifyChecksum();
            char type = (char) (block[156] & 0xff);
            long size = number(124, 12, "size");
            switch (type) {
                case 'x' -> {
                    pax = paxRecords(readExtended(size, "PAX extended header"));
                    extended = true;
                }
                case 'g' -> {
                    readExtended(size, "PAX global header"); // skipped, as containerd and umoci do
                    extended = true;
                }
                case 'L' -> {
                    longName = cString(readExtended(size, "GNU long name"));
                    extended = true;
                }
                case 'K' -> {
                    longLink = cString(readExtended(size, "GNU long link name"));
                    extended = true;
                }
                default -> {
                    entries++;
                    return entry(type, size, pax, longName, longLink);
                }
            }
        }
    }

    /** Reads the current entry's stored data; -1 at its end. A stream that ends early is {@link Malformed}. */
    int read(byte[] b, int off, int len) throws IOException {
        if (remaining == 0) {
            return -1;
        }
        int n = in.read(b, off, (int) Math.min(len, remaining));
        if (n < 0) {
            throw new Malformed("the stream ends inside an entry's data (" + remaining + " bytes missing)");
        }
        remaining -= n;
        return n;
    }

    /** Entries returned so far. */
    long entries() {
        return entries;
    }

    private Entry entry(char type, long headerSize, List<byte[][]> pax, String longName, String longLink)
            throws IOException {
        var e = new Entry();
        e.type = type == 0 ? '0' : type;
        e.mode = (int) (number(100, 8, "mode") & 07777);
        e.uid = number(108, 8, "uid");
        e.gid = number(116, 8, "gid");
        e.size = headerSize;
        e.mtime = FileTime.from(number(136, 12, "mtime"), TimeUnit.SECONDS);
        e.linkName = field(157, 100);
        boolean ustar = Arrays.equals(block, 257, 263, USTAR, 0, 6);
        boolean gnu = Arrays.equals(block, 257, 265, GNU, 0, 8);
        String name = field(0, 100);
        if (ustar) {
            String prefix = field(345, 155);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + name;
            }
        }
        if (ustar || gnu) {
            e.devMajor = number(329, 8, "devmajor");
            e.devMinor = number(337, 8, "devminor");
        }
        if (longName != null) {
            name = longName;
        }
        if (longLink != null) {
            e.linkName = longLink;
        }
        e.name = name;
        if (type == 'S') {
            if (!gnu) {
                throw new Malformed("a GNU sparse entry without the GNU header format");
            }
            e.sparse = oldGnuSparse();
            e.realSize = number(483, 12, "sparse real size");
        }
        Sparse paxSparse = pax == null ? null : applyPax(e, pax);
        if (headerOnly(e.type)) {
            // no data follows these, whatever the size says (Go's reader, and so containerd, skips nothing either)
            setData(0);
            e.size = 0;
            e.realSize = 0;
            return e;
        }
        if (e.type == '0' && e.name.endsWith("/")) {
            e.type = '5'; // old tars mark directories by a trailing slash; the stored bytes (if any) are skipped
            setData(e.size);
            e.size = 0;
            e.realSize = 0;
            return e;
        }
        setData(e.size);
        if (paxSparse != null) {
            e.sparse = paxSparse.segments;
            e.realSize = paxSparse.realSize;
            if (paxSparse.mapInData) {
                e.sparse = sparseMapFromData();
                e.size = remaining;
            }
            if (paxSparse.name != null) {
                e.name = paxSparse.name;
            }
        }
        if (e.sparse == null) {
            e.realSize = e.size;
        } else {
            checkSparse(e);
        }
        return e;
    }

    /** Link, symlink, character and block device, directory and fifo entries: a header and nothing after it. */
    private static boolean headerOnly(char type) {
        return type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6';
    }

    private static final byte[] USTAR = {'u', 's', 't', 'a', 'r', 0};
    private static final byte[] GNU = {'u', 's', 't', 'a', 'r', ' ', ' ', 0};

    /** Sparse details from PAX records. */
    private static final class Sparse {
        List<Segment> segments;
        long realSize = -1;
        String name;
        boolean mapInData;
    }

    /** Applies PAX records to {@code e}; returns the sparse details they carry, if any. */
    private Sparse applyPax(Entry e, List<byte[][]> records) throws IOException {
        Sparse sparse = null;
        String major = null;
        List<Long> offsets = new ArrayList<>();
        List<Long> lengths = new ArrayList<>();
        for (byte[][] record : records) {
            String key = new String(record[0], StandardCharsets.UTF_8);
            if (SPARSE_0_0.contains(key)) {
                (key.equals("GNU.sparse.offset") ? offsets : lengths).add(
                        decimal(new String(record[1], StandardCharsets.UTF_8), key));
                sparse = sparse == null ? new Sparse() : sparse;
            }
        }
        for (Map.Entry<String, byte[]> record : effective(records).entrySet()) {
            String key = record.getKey();
            byte[] raw = record.getValue();
            String value = new String(raw, StandardCharsets.UTF_8);
            switch (key) {
                case "path" -> e.name = value;
                case "linkpath" -> e.linkName = value;
                case "size" -> e.size = signedDecimal(value, key);
                case "uid" -> e.uid = signedDecimal(value, key);
                case "gid" -> e.gid = signedDecimal(value, key);
                case "mtime" -> e.mtime = time(value);
                case "GNU.sparse.major" -> {
                    major = value;
                    sparse = sparse == null ? new Sparse() : sparse;
                }
                case "GNU.sparse.name" -> {
                    sparse = sparse == null ? new Sparse() : sparse;
                    sparse.name = value;
                }
                case "GNU.sparse.realsize", "GNU.sparse.size" -> {
                    sparse = sparse == null ? new Sparse() : sparse;
                    sparse.realSize = decimal(value, key);
                }
                case "GNU.sparse.map" -> {
                    sparse = sparse == null ? new Sparse() : sparse;
                    sparse.segments = pairs(value);
                }
                default -> {
                    if (key.startsWith(SCHILY_XATTR) && key.length() > SCHILY_XATTR.length()) {
                        e.xattrs.put(key.substring(SCHILY_XATTR.length()), raw);
                    }
                }
            }
        }
        if (sparse == null) {
            return null;
        }
        if ("1".equals(major)) {
            sparse.mapInData = true;
        } else if (major != null && !"0".equals(major)) {
            throw new Malformed("unknown GNU sparse format " + major);
        } else if (sparse.segments == null) {
            if (offsets.size() != lengths.size()) {
                throw new Malformed("GNU sparse 0.0 map has " + offsets.size() + " offsets and "
                        + lengths.size() + " lengths");
            }
            if (offsets.size() > MAX_SPARSE_SEGMENTS) {
                throw new TooLarge("a sparse map of more than " + MAX_SPARSE_SEGMENTS + " segments");
            }
            sparse.segments = new ArrayList<>();
            for (int i = 0; i < offsets.size(); i++) {
                sparse.segments.add(new Segment(offsets.get(i), lengths.get(i)));
            }
        }
        if (sparse.realSize < 0) {
            throw new Malformed("a sparse entry without its real size");
        }
        return sparse;
    }

    /**
     * The records that count, in order: a later record replaces an earlier one of the same key, and a record with an
     * empty value removes the key, so that the header's own field stands (POSIX pax; Go's reader). The GNU sparse 0.0
     * offsets and sizes, which repeat by design, are not among them.
     */
    private static Map<String, byte[]> effective(List<byte[][]> records) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (byte[][] record : records) {
            String key = new String(record[0], StandardCharsets.UTF_8);
            if (SPARSE_0_0.contains(key)) {
                continue;
            }
            out.remove(key); // a replaced record takes its new place in the order
            if (record[1].length > 0) {
                out.put(key, record[1]);
            }
        }
        return out;
    }

    private static final List<String> SPARSE_0_0 = List.of("GNU.sparse.offset", "GNU.sparse.numbytes");

    private List<Segment> pairs(String map) throws IOException {
        List<Segment> out = new ArrayList<>();
        if (map.isEmpty()) {
            return out;
        }
        String[] parts = map.split(",", -1);
        if (parts.length % 2 != 0) {
            throw new Malformed("GNU sparse map has an odd number of numbers");
        }
        if (parts.length / 2 > MAX_SPARSE_SEGMENTS) {
            throw new TooLarge("a sparse map of more than " + MAX_SPARSE_SEGMENTS + " segments");
        }
        for (int i = 0; i < parts.length; i += 2) {
            out.add(new Segment(decimal(parts[i], "sparse offset"), decimal(parts[i + 1], "sparse length")));
        }
        return out;
    }

    /** The PAX 1.0 sparse map at the start of the entry's data: count, then offset/length pairs, one per line. */
    private List<Segment> sparseMapFromData() throws IOException {
        var lines = new LineReader();
        long count = decimal(lines.next(), "sparse map size");
        if (count > MAX_SPARSE_SEGMENTS) {
            throw new TooLarge("a sparse map of more than " + MAX_SPARSE_SEGMENTS + " segments");
        }
        List<Segment> out = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            out.add(new Segment(decimal(lines.next(), "sparse offset"), decimal(lines.next(), "sparse length")));
        }
        return out; // the map fills whole blocks: the data starts at the next one
    }

    /** Reads newline-terminated decimal lines from the entry's data, one block at a time. */
    private final class LineReader {
        private final byte[] buffer = new byte[BLOCK];
        private int position = BLOCK;

        String next() throws IOException {
            var line = new StringBuilder();
            while (true) {
                if (position == BLOCK) {
                    fill();
                }
                byte b = buffer[position++];
                if (b == '\n') {
                    return line.toString();
                }
                if (line.length() > 20) {
                    throw new Malformed("a sparse map line is too long");
                }
                line.append((char) (b & 0xff));
            }
        }

        private void fill() throws IOException {
            if (remaining < BLOCK) {
                throw new Malformed("the sparse map runs past the entry's data");
            }
            readData(buffer);
            position = 0;
        }
    }

    private void readData(byte[] into) throws IOException {
        int off = 0;
        while (off < into.length) {
            int n = read(into, off, into.length - off);
            if (n < 0) {
                throw new Malformed("the stream ends inside an entry's data");
            }
            off += n;
        }
    }

    private List<Segment> oldGnuSparse() throws IOException {
        List<Segment> out = new ArrayList<>();
        addSegments(out, block, 386, 4);
        boolean extended = block[482] != 0;
        while (extended) {
            byte[] ext = new byte[BLOCK];
            if (!readFully(ext)) {
                throw new Malformed("the stream ends inside a GNU sparse header");
            }
            addSegments(out, ext, 0, 21);
            extended = ext[504] != 0;
        }
        return out;
    }

    private void addSegments(List<Segment> out, byte[] b, int at, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            int base = at + i * 24;
            long offset = number(b, base, 12, "sparse offset");
            long length = number(b, base + 12, 12, "sparse length");
            if (offset == 0 && length == 0 && isZero(b, base, 24)) {
                continue;
            }
            if (out.size() >= MAX_SPARSE_SEGMENTS) {
                throw new TooLarge("a sparse map of more than " + MAX_SPARSE_SEGMENTS + " segments");
            }
            out.add(new Segment(offset, length));
        }
    }

    /** Segments must be ordered, disjoint, inside the real size, and account for exactly the stored bytes. */
    private static void checkSparse(Entry e) throws IOException {
        if (e.realSize < 0) {
            throw new Malformed("negative sparse real size " + e.realSize);
        }
        long end = 0;
        long stored = 0;
        for (Segment s : e.sparse) {
            if (s.offset() < end || s.length() < 0 || s.offset() > e.realSize - s.length()) {
                throw new Malformed("inconsistent sparse map: segment " + s.offset() + "+" + s.length()
                        + " (real size " + e.realSize + ")");
            }
            end = s.offset() + s.length();
            stored += s.length();
        }
        if (stored != e.size) {
            throw new Malformed("sparse map accounts for " + stored + " bytes, the entry stores " + e.size);
        }
    }

    private void setData(long size) throws IOException {
        if (size < 0) {
            throw new Malformed("negative entry size " + size);
        }
        remaining = size;
        padding = (BLOCK - size % BLOCK) % BLOCK;
    }

    private void skipRest() throws IOException {
        long skip = remaining + padding;
        remaining = 0;
        padding = 0;
        while (skip > 0) {
            int n = in.read(scratch, 0, (int) Math.min(scratch.length, skip));
            if (n < 0) {
                throw new Malformed("the stream ends inside an entry's data");
            }
            skip -= n;
        }
    }

    /** Reads an extended header's data (and its padding) into memory, within the limit. */
    private byte[] readExtended(long size, String what) throws IOException {
        if (size < 0) {
            throw new Malformed("negative " + what + " size");
        }
        if (size > MAX_EXTENDED_HEADER) {
            throw new TooLarge("a " + what + " of " + size + " bytes (the limit is " + MAX_EXTENDED_HEADER + ")");
        }
        byte[] data = new byte[(int) size];
        if (!readFully(data)) {
            throw new Malformed("the stream ends inside a " + what);
        }
        long pad = (BLOCK - size % BLOCK) % BLOCK;
        if (pad > 0 && !readFully(new byte[(int) pad])) {
            throw new Malformed("the stream ends inside a " + what);
        }
        return data;
    }

    /** PAX records {@code "<len> <key>=<value>\n"} as raw key and value bytes, in order. */
    private static List<byte[][]> paxRecords(byte[] data) throws IOException {
        List<byte[][]> out = new ArrayList<>();
        int at = 0;
        while (at < data.length) {
            if (data[at] == 0) {
                break; // some writers pad with NULs
            }
            int space = at;
            long length = 0;
            while (space < data.length && data[space] != ' ') {
                byte d = data[space];
                if (d < '0' || d > '9' || space - at > 9) {
                    throw new Malformed("malformed PAX record length");
                }
                length = length * 10 + (d - '0');
                space++;
            }
            if (space >= data.length || length <= space - at + 1 || at + length > data.length
                    || data[(int) (at + length - 1)] != '\n') {
                throw new Malformed("malformed PAX record");
            }
            int end = (int) (at + length - 1);
            int equals = space + 1;
            while (equals < end && data[equals] != '=') {
                equals++;
            }
            if (equals >= end || equals == space + 1) {
                throw new Malformed("a PAX record without a key");
            }
            out.add(new byte[][] {Arrays.copyOfRange(data, space + 1, equals), Arrays.copyOfRange(data, equals + 1,
                    end)});
            at = end + 1;
        }
        return out;
    }

    private static long decimal(String value, String what) throws IOException {
        try {
            long v = Long.parseLong(value.trim());
            if (v < 0) {
                throw new Malformed("negative " + what + " " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new Malformed("malformed " + what + " '" + abbreviate(value) + "'");
        }
    }

    /** A PAX decimal that may be negative (size, uid, gid: whether the value is usable is for others to say). */
    private static long signedDecimal(String value, String what) throws IOException {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new Malformed("malformed " + what + " '" + abbreviate(value) + "'");
        }
    }

    /**
     * A PAX time: signed whole seconds that fit 64 bits, then optionally a point and decimal digits, of which the
     * first nine count (the rest are cut, not rounded). A negative time's fraction counts back from its seconds:
     * {@code -1.5} is a second and a half before 1970. Seconds past what an {@link Instant} holds (beyond a billion
     * years) keep no fraction.
     */
    private static FileTime time(String value) throws IOException {
        String text = value.trim();
        int point = text.indexOf('.');
        String whole = point < 0 ? text : text.substring(0, point);
        String fraction = point < 0 ? "" : text.substring(point + 1);
        long seconds;
        try {
            seconds = Long.parseLong(whole);
        } catch (NumberFormatException e) {
            throw new Malformed("malformed PAX mtime '" + abbreviate(value) + "'");
        }
        for (int i = 0; i < fraction.length(); i++) {
            if (fraction.charAt(i) < '0' || fraction.charAt(i) > '9') {
                throw new Malformed("malformed PAX mtime '" + abbreviate(value) + "'");
            }
        }
        String nine = (fraction.length() > 9 ? fraction.substring(0, 9) : fraction + "0".repeat(9 - fraction.length()));
        long nanos = Long.parseLong(nine);
        if (nanos == 0) {
            return FileTime.from(seconds, TimeUnit.SECONDS);
        }
        try {
            return FileTime.from(Instant.ofEpochSecond(seconds, whole.startsWith("-") ? -nanos : nanos));
        } catch (java.time.DateTimeException | ArithmeticException e) {
            return FileTime.from(seconds, TimeUnit.SECONDS);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private void verifyChecksum() throws IOException {
        long recorded = number(148, 8, "checksum");
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = i >= 148 && i < 156 ? ' ' : block[i];
            unsigned += b & 0xff;
            signed += i >= 148 && i < 156 ? ' ' : block[i];
        }
        if (recorded != unsigned && recorded != signed) {
            throw new Malformed("bad header checksum (not a tar header, or a corrupt one)");
        }
    }

    private long number(int at, int length, String what) throws IOException {
        return number(block, at, length, what);
    }

    /**
     * An octal or base-256 number field. Base-256 (the high bit of the first byte set) is a big-endian two's
     * complement number in the remaining 7 + 8n bits, so it may be negative; it must fit in 64 bits.
     */
    private static long number(byte[] b, int at, int length, String what) throws IOException {
        if ((b[at] & 0x80) != 0) {
            // -v - 1 == ~v: read a negative number's inverted bits as a positive one, then invert back
            int invert = (b[at] & 0x40) != 0 ? 0xff : 0;
            long v = 0;
            for (int i = at; i < at + length; i++) {
                int digit = (b[i] ^ invert) & (i == at ? 0x7f : 0xff);
                if ((v >>> 55) != 0) {
                    throw new Malformed(what + " out of range");
                }
                v = (v << 8) | digit;
            }
            return invert == 0 ? v : ~v;
        }
        int i = at;
        int end = at + length;
        while (i < end && (b[i] == ' ' || b[i] == 0)) {
            i++;
        }
        long v = 0;
        for (; i < end; i++) {
            byte d = b[i];
            if (d == ' ' || d == 0) {
                break;
            }
            if (d < '0' || d > '7') {
                throw new Malformed("malformed " + what + " field");
            }
            if (v > (Long.MAX_VALUE >> 3)) {
                throw new Malformed(what + " out of range");
            }
            v = (v << 3) | (d - '0');
        }
        return v;
    }

    private String field(int at, int length) {
        int end = at;
        while (end < at + length && block[end] != 0) {
            end++;
        }
        return new String(block, at, end - at, StandardCharsets.UTF_8);
    }

    private static String cString(byte[] data) {
        int end = 0;
        while (end < data.length && data[end] != 0) {
            end++;
        }
        return new String(data, 0, end, StandardCharsets.UTF_8);
    }

    /** Reads the next header block; false at a clean end of stream (if {@code endAllowed}). */
    private boolean readBlock(boolean endAllowed) throws IOException {
        int off = 0;
        while (off < BLOCK) {
            int n = in.read(block, off, BLOCK - off);
            if (n < 0) {
                if (off == 0 && endAllowed) {
                    return false;
                }
                throw new Malformed(off == 0 ? "the stream ends after an extended header"
                        : "the stream ends inside a header");
            }
            off += n;
        }
        return true;
    }

    private boolean readFully(byte[] into) throws IOException {
        int off = 0;
        while (off < into.length) {
            int n = in.read(into, off, into.length - off);
            if (n < 0) {
                return false;
            }
            off += n;
        }
        return true;
    }

    private static boolean isZero(byte[] b) {
        return isZero(b, 0, b.length);
    }

    private static boolean isZero(byte[] b, int at, int length) {
        for (int i = at; i < at + length; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}

package dev.singlepull.unpack.tar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.unpack.testing.RawTar;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The reader takes every number Go's archive/tar takes (containerd and umoci read layers with it): negative and
 * far-future times in base-256 and PAX form, negative owners and sizes where Go reads them, empty PAX values; and
 * still refuses what Go refuses.
 */
class TarReaderTest {

    @Test
    void gnuBase256NegativeMtimeIsADayBefore1970() throws IOException {
        RawTar.Header h = RawTar.header("old", '0').format("gnu").size(1);
        h.mtime = -86400;
        h.base256Mtime = true;
        List<TarReader.Entry> entries = read(RawTar.tar().header(h).data("o".getBytes()).build());
        assertEquals(1, entries.size());
        assertEquals(FileTime.from(Instant.parse("1969-12-31T00:00:00Z")), entries.get(0).mtime);
        assertEquals(1, entries.get(0).size);
    }

    @Test
    void base256NumbersAreTwosComplementToTheEdgesOf64Bits() throws IOException {
        for (long seconds : new long[] {-1, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40, -(1L << 40), 0}) {
            RawTar.Header h = RawTar.header("t", '0');
            h.mtime = seconds;
            h.base256Mtime = true;
            assertEquals(FileTime.from(seconds, TimeUnit.SECONDS), read(RawTar.tar().header(h).build()).get(0).mtime,
                    "mtime " + seconds);
        }
        RawTar.Header all = RawTar.header("all", '0').mode(-1).owner(-2, -3).size(2);
        all.base256 = true;
        all.mtime = -5;
        TarReader.Entry e = read(RawTar.tar().header(all).data("ab".getBytes()).build()).get(0);
        assertEquals(07777, e.mode, "the permission bits of a negative mode, as Go keeps them");
        assertEquals(-2, e.uid, "read here; the applier refuses it");
        assertEquals(-3, e.gid);
        assertEquals(2, e.size);
    }

    @Test
    void base256BeyondSixtyFourBitsIsMalformed() {
        byte[] tooBig = new byte[12];
        tooBig[0] = (byte) 0x80;
        tooBig[3] = 1; // 2^64
        byte[] tooSmall = new byte[12];
        Arrays.fill(tooSmall, (byte) 0xff);
        tooSmall[3] = (byte) 0xfe; // -2^64 - 1
        for (byte[] field : List.of(tooBig, tooSmall)) {
            RawTar.Header h = RawTar.header("t", '0');
            h.rawMtime = field;
            var e = assertThrows(TarReader.Malformed.class, () -> read(RawTar.tar().header(h).build()));
            assertTrue(e.getMessage().contains("mtime out of range"), e.getMessage());
        }
    }

    @Test
    void blankAndNulFilledNumberFieldsAreZero() throws IOException {
        RawTar.Header h = RawTar.header("blank", '0');
        h.rawMtime = "           \0".getBytes();
        assertEquals(FileTime.from(0, TimeUnit.SECONDS), read(RawTar.tar().header(h).build()).get(0).mtime);
        h.rawMtime = new byte[12];
        assertEquals(FileTime.from(0, TimeUnit.SECONDS), read(RawTar.tar().header(h).build()).get(0).mtime);
    }

    @Test
    void paxMtimesNegativeFractionalAndFarAway() throws IOException {
        Map<String, FileTime> cases = Map.of(
                "-86400", FileTime.from(Instant.parse("1969-12-31T00:00:00Z")),
                "-1.5", FileTime.from(Instant.ofEpochSecond(-2, 500_000_000)),
                "-0.25", FileTime.from(Instant.ofEpochSecond(-1, 750_000_000)),
                "1700000000.1234567891234", FileTime.from(Instant.ofEpochSecond(1_700_000_000L, 123_456_789)),
                "1700000000.", FileTime.from(1_700_000_000L, TimeUnit.SECONDS),
                "253402300800", FileTime.from(Instant.parse("+10000-01-01T00:00:00Z")),
                "9223372036854775807", FileTime.from(Long.MAX_VALUE, TimeUnit.SECONDS),
                "-9223372036854775808.5", FileTime.from(Long.MIN_VALUE, TimeUnit.SECONDS));
        for (var c : cases.entrySet()) {
            TarReader.Entry e = read(RawTar.tar().paxText(Map.of("mtime", c.getKey())).file("f", "x").build()).get(0);
            assertEquals(c.getValue(), e.mtime, "PAX mtime " + c.getKey());
        }
    }

    @Test
    void paxMtimesGoRefusesAreMalformed() {
        for (String bad : List.of("1e3", ".5", "1.5x", "9223372036854775808", "12:00", "1.-5")) {
            assertThrows(TarReader.Malformed.class,
                    () -> read(RawTar.tar().paxText(Map.of("mtime", bad)).file("f", "x").build()), bad);
        }
    }

    @Test
    void anEmptyPaxValueLeavesTheHeadersField() throws IOException {
        RawTar.Header h = RawTar.header("from-header", '0').owner(7, 8).size(1);
        h.mtime = 1_600_000_000L;
        TarReader.Entry e = read(RawTar.tar()
                .paxPairs("path", "from-pax", "mtime", "1", "path", "", "mtime", "", "uid", "", "gid", "", "size", "")
                .header(h).data("x".getBytes()).build()).get(0);
        assertEquals("from-header", e.name);
        assertEquals(FileTime.from(1_600_000_000L, TimeUnit.SECONDS), e.mtime);
        assertEquals(7, e.uid);
        assertEquals(8, e.gid);
        assertEquals(1, e.size);
    }

    @Test
    void paxOwnersMayBeNegativeForTheApplierToJudge() throws IOException {
        TarReader.Entry e = read(RawTar.tar().paxText(Map.of("uid", "-1", "gid", "-7")).file("f", "x").build()).get(0);
        assertEquals(-1, e.uid);
        assertEquals(-7, e.gid);
    }

    @Test
    void headerOnlyEntriesCarryNoDataWhateverTheirSize() throws IOException {
        RawTar.Header dir = RawTar.header("d/", '5').size(1000); // no data follows, as Go reads it
        RawTar.Header link = RawTar.header("d/l", '2').link("f").size(-1);
        link.base256 = true;
        RawTar.Header fifo = RawTar.header("d/p", '6');
        List<TarReader.Entry> entries = read(RawTar.tar()
                .header(dir).header(link)
                .paxText(Map.of("size", "-5")).header(fifo)
                .file("d/f", "after")
                .build());
        assertEquals(List.of("d/", "d/l", "d/p", "d/f"), entries.stream().map(x -> x.name).toList());
        assertEquals(List.of(0L, 0L, 0L, 5L), entries.stream().map(x -> x.size).toList());
    }

    @Test
    void negativeSizesOfEntriesWithDataAreMalformed() {
        RawTar.Header file = RawTar.header("f", '0').size(-1);
        file.base256 = true;
        assertThrows(TarReader.Malformed.class, () -> read(RawTar.tar().header(file).build()));
        assertThrows(TarReader.Malformed.class,
                () -> read(RawTar.tar().paxText(Map.of("size", "-1")).file("g", "").build()));
        RawTar.Header sparse = RawTar.header("s", 'S').format("gnu");
        sparse.realSize = -1;
        sparse.base256 = true;
        assertThrows(TarReader.Malformed.class, () -> read(RawTar.tar().header(sparse).build()));
    }

    private static List<TarReader.Entry> read(byte[] tar) throws IOException {
        var reader = new TarReader(new ByteArrayInputStream(tar));
        List<TarReader.Entry> out = new ArrayList<>();
        TarReader.Entry e;
        while ((e = reader.next()) != null) {
            out.add(e);
        }
        return out;
    }
}

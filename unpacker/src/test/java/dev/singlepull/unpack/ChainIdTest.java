package dev.singlepull.unpack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChainIdTest {
    private static final Digest A = Digest.sha256("layer a".getBytes(StandardCharsets.UTF_8));
    private static final Digest B = Digest.sha256("layer b".getBytes(StandardCharsets.UTF_8));
    private static final Digest C = Digest.sha256("layer c".getBytes(StandardCharsets.UTF_8));

    private static String sha256Text(String text) throws Exception {
        byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.US_ASCII));
        return "sha256:" + HexFormat.of().formatHex(hash);
    }

    @Test
    void followsTheOciDefinition() throws Exception {
        String c0 = A.toString();
        String c1 = sha256Text(c0 + " " + B);
        String c2 = sha256Text(c1 + " " + C);

        List<ChainId> chain = ChainId.chain(List.of(A, B, C));

        assertEquals(List.of(c0, c1, c2), chain.stream().map(ChainId::toString).toList());
    }

    @Test
    void fixedVector() throws Exception {
        // expected value computed outside Java: printf '%s' "<d0> <d1>" | sha256sum
        Digest d0 = Digest.parse("sha256:a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9");
        Digest d1 = Digest.parse("sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b");
        List<ChainId> chain = ChainId.chain(List.of(d0, d1));
        assertEquals(d0, chain.get(0).digest());
        assertEquals("sha256:c67c20fe26db968e22c104ef3b873b89b482672c4fe34acd4a7b903a75f84a1d", chain.get(1).toString());
        assertEquals(sha256Text(d0 + " " + d1), chain.get(1).toString());
        assertEquals(chain.get(1), chain.get(0).child(d1));
    }

    @Test
    void emptyAndSingle() {
        assertEquals(List.of(), ChainId.chain(List.of()));
        assertEquals(List.of(new ChainId(A)), ChainId.chain(List.of(A)));
    }

    @Test
    void parseRoundTripsAndRejectsGarbage() {
        ChainId id = ChainId.chain(List.of(A, B)).get(1);
        assertEquals(id, ChainId.parse(id.toString()));
        var e = assertThrows(SinglepullException.class, () -> ChainId.parse("sha256:nothex"));
        assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind());
    }
}

package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.errdefs.SinglepullException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class CredentialsTest {
    @Test
    void authIsBase64OfUserColonPasswordAndWinsOverTheFields() {
        String auth = Base64.getEncoder().encodeToString("alice:pa:ss".getBytes(StandardCharsets.UTF_8));
        Credentials c = Credentials.fromCri("bob", "other", auth, "", "");
        assertEquals("alice", c.username());
        assertEquals("pa:ss", c.password());
        assertThrows(SinglepullException.class, () -> Credentials.fromCri("", "", "%%%", "", ""));
        assertThrows(SinglepullException.class, () -> Credentials.fromCri("", "", Base64.getEncoder()
                .encodeToString("nocolon".getBytes(StandardCharsets.UTF_8)), "", ""));
    }

    @Test
    void identitiesTellCallersApartWithoutShowingSecrets() {
        Credentials a = new Credentials("alice", "secret-one", "", "");
        Credentials b = new Credentials("alice", "secret-two", "", "");
        assertNotEquals(a.identity(), b.identity());
        assertEquals("anonymous", Credentials.ANONYMOUS.identity());
        assertTrue(Credentials.ANONYMOUS.isAnonymous());
        assertFalse(a.toString().contains("secret") || a.toString().contains("alice"), a.toString());
        Credentials token = new Credentials("", "", "refresh-xyz", "");
        assertFalse(token.hasBasic());
        assertFalse(token.toString().contains("refresh-xyz"));
    }
}

package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class AuthChallengeTest {
    @Test
    void parsesBearerAndBasicChallenges() {
        AuthChallenge bearer = AuthChallenge.parse("Bearer realm=\"https://auth.example.com/token\",service=\"reg\","
                + "scope=\"repository:team/app:pull\"").orElseThrow();
        assertTrue(bearer.isBearer());
        assertEquals(Map.of("realm", "https://auth.example.com/token", "service", "reg",
                "scope", "repository:team/app:pull"), bearer.params());
        AuthChallenge basic = AuthChallenge.parse("Basic realm=\"Registry Realm\"").orElseThrow();
        assertTrue(basic.isBasic());
        assertEquals("Registry Realm", basic.params().get("realm"));
        assertTrue(AuthChallenge.parse("").isEmpty());
        assertEquals("a,b", AuthChallenge.parse("Bearer scope=\"a,b\", realm=x").orElseThrow().params().get("scope"));
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.api.cri.v1.AuthConfig;
import dev.singlepull.api.cri.v1.PullImageRequest;
import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.it.fixture.TokenServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bearer token auth against the real registry configured with {@code auth.token}, trusting the certificate of a
 * token server of the fixture's own: the challenge flow, the token cache and its expiry, every CRI AuthConfig field,
 * and refusals that name the reference and the host but never a secret.
 */
@Timeout(120)
class TokenAuthIT {
    private static final String USER = "alice";
    private static final String PASSWORD = "s3cret-Pa55";
    private static final String REFRESH = "refresh-token-abc123";

    private static Path dir;
    private static TokenServer tokens;
    private static RegistryProcess store;
    private static RegistryProcess registry;
    private static SinglepullServer server;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("sp-token-it-");
        tokens = TokenServer.start(dir).addUser(USER, PASSWORD).addRefreshToken(REFRESH, USER).allowAnonymous(false);
        store = RegistryProcess.start();
        registry = RegistryProcess.start(RegistryProcess.Options.anonymous().withStorageOf(store).withTokenAuth(tokens));
        server = SinglepullServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
        registry.close();
        store.close();
        tokens.close();
        TestFiles.deleteTree(dir);
    }

    /** Pushes to the anonymous registry; the token-auth one serves the same storage. */
    private static String push(String repository, String tag, long seed) {
        PushedImage image = TestImages.push(store, SmallImages.of(repository, tag, seed));
        return image.imageId();
    }

    private static String ref(String repository, String tag) {
        return registry.hostPort() + "/" + repository + ":" + tag;
    }

    private static PullImageRequest pull(String ref, AuthConfig auth) {
        return PullImageRequest.newBuilder().setImage(Cri.spec(ref)).setAuth(auth).build();
    }

    private static AuthConfig basic(String user, String password) {
        return AuthConfig.newBuilder().setUsername(user).setPassword(password).build();
    }

    @Test
    void fivePullsOfOneRepositoryShareOneCachedToken() {
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            ids.add(push("team/cached", "v" + i, 400 + i));
        }
        int before = tokens.tokensIssued();
        try (CriClient cri = server.client()) {
            for (int i = 1; i <= 5; i++) {
                assertEquals(ids.get(i - 1),
                        cri.images().pullImage(pull(ref("team/cached", "v" + i), basic(USER, PASSWORD))).getImageRef());
            }
        }
        assertEquals(1, tokens.tokensIssued() - before, "one token for the scope repository:team/cached:pull");
        TokenServer.Request last = tokens.requests().getLast();
        assertEquals("GET", last.method());
        assertEquals(USER, last.subject());
        assertTrue(last.authorizationHeader());
        assertEquals(List.of("repository:team/cached:pull"), last.scopes());
    }

    @Test
    void anExpiredTokenIsFetchedAgain() throws Exception {
        String first = push("team/expiring", "v1", 411);
        String second = push("team/expiring", "v2", 412);
        tokens.expiresIn(1);
        try (CriClient cri = server.client()) {
            int before = tokens.tokensIssued();
            assertEquals(first, cri.images().pullImage(pull(ref("team/expiring", "v1"), basic(USER, PASSWORD)))
                    .getImageRef());
            assertEquals(1, tokens.tokensIssued() - before);
            Thread.sleep(1_500); // past the token's lifetime
            assertEquals(second, cri.images().pullImage(pull(ref("team/expiring", "v2"), basic(USER, PASSWORD)))
                    .getImageRef());
            assertEquals(2, tokens.tokensIssued() - before, "the cached token expired with the token's expires_in");
        } finally {
            tokens.expiresIn(300);
        }
    }

    @Test
    void authIsBase64OfUserAndPassword() {
        String id = push("team/auth-field", "v1", 421);
        String auth = Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        try (CriClient cri = server.client()) {
            assertEquals(id, cri.images().pullImage(pull(ref("team/auth-field", "v1"),
                    AuthConfig.newBuilder().setAuth(auth).build())).getImageRef());
        }
        TokenServer.Request last = tokens.requests().getLast();
        assertEquals(USER, last.subject());
        assertEquals(List.of("repository:team/auth-field:pull"), last.scopes());
    }

    @Test
    void anIdentityTokenIsExchangedWithTheRefreshTokenGrant() {
        String id = push("team/identity", "v1", 431);
        try (CriClient cri = server.client()) {
            assertEquals(id, cri.images().pullImage(pull(ref("team/identity", "v1"),
                    AuthConfig.newBuilder().setIdentityToken(REFRESH).build())).getImageRef());
        }
        TokenServer.Request last = tokens.requests().getLast();
        assertEquals("POST", last.method());
        assertEquals("refresh_token", last.grantType());
        assertEquals(USER, last.subject());
        assertFalse(last.authorizationHeader(), "the refresh token goes in the form, not as Basic auth");
    }

    @Test
    void aRegistryTokenIsSentAsItIs() {
        String id = push("team/regtoken", "v1", 441);
        String token = tokens.mint(USER, "team/regtoken");
        int requestsBefore = tokens.requests().size();
        try (CriClient cri = server.client()) {
            assertEquals(id, cri.images().pullImage(pull(ref("team/regtoken", "v1"),
                    AuthConfig.newBuilder().setRegistryToken(token).build())).getImageRef());
        }
        assertEquals(requestsBefore, tokens.requests().size(), "the token service was not asked");

        StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> {
            try (CriClient cri = server.client()) {
                cri.images().pullImage(pull(ref("team/regtoken", "v1"),
                        AuthConfig.newBuilder().setRegistryToken("not-a-valid-token-xyz").build()));
            }
        });
        assertEquals(Status.Code.UNAUTHENTICATED, bad.getStatus().getCode());
        assertNoSecrets(bad, "not-a-valid-token-xyz");
        assertNamesRefAndHost(bad, ref("team/regtoken", "v1"));
    }

    @Test
    void refusalsAreUnauthenticatedOrPermissionDeniedWithoutSecrets() {
        push("team/refused", "v1", 451);
        String ref = ref("team/refused", "v1");
        String wrongAuth = Base64.getEncoder().encodeToString((USER + ":wrong-Pa55").getBytes(StandardCharsets.UTF_8));
        try (CriClient cri = server.client()) {
            StatusRuntimeException wrong = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(pull(ref, basic(USER, "wrong-Pa55"))));
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
            assertNoSecrets(wrong, "wrong-Pa55", wrongAuth);
            assertNamesRefAndHost(wrong, ref);

            StatusRuntimeException wrongAuthField = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(pull(ref, AuthConfig.newBuilder().setAuth(wrongAuth).build())));
            assertEquals(Status.Code.UNAUTHENTICATED, wrongAuthField.getStatus().getCode());
            assertNoSecrets(wrongAuthField, "wrong-Pa55", wrongAuth);

            StatusRuntimeException badRefresh = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(pull(ref, AuthConfig.newBuilder().setIdentityToken("stale-xyz").build())));
            assertEquals(Status.Code.UNAUTHENTICATED, badRefresh.getStatus().getCode());
            assertNoSecrets(badRefresh, "stale-xyz");

            StatusRuntimeException anonymous = assertThrows(StatusRuntimeException.class,
                    () -> cri.images().pullImage(Cri.pull(ref)));
            assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode());
            assertNamesRefAndHost(anonymous, ref);

            tokens.refuseWith(403);
            try {
                StatusRuntimeException forbidden = assertThrows(StatusRuntimeException.class,
                        () -> cri.images().pullImage(pull(ref, basic("bob", "bobs-Pa55"))));
                assertEquals(Status.Code.PERMISSION_DENIED, forbidden.getStatus().getCode());
                assertNoSecrets(forbidden, "bobs-Pa55");
                assertNamesRefAndHost(forbidden, ref);
            } finally {
                tokens.refuseWith(0);
            }
        }
    }

    private static void assertNoSecrets(StatusRuntimeException e, String... secrets) {
        String message = e.getStatus().getDescription();
        for (String secret : secrets) {
            assertFalse(message.contains(secret), "secret in message: " + message);
        }
        assertFalse(message.contains(PASSWORD) || message.contains(REFRESH), message);
    }

    private static void assertNamesRefAndHost(StatusRuntimeException e, String ref) {
        String message = e.getStatus().getDescription();
        assertTrue(message.contains(ref), "names the reference: " + message);
        assertTrue(message.contains(registry.hostPort()), "names the host: " + message);
    }
}

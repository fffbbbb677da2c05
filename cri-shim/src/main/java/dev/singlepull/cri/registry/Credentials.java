package dev.singlepull.cri.registry;

import dev.singlepull.content.Digest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * What a caller presented to reach a registry: the CRI AuthConfig's fields. Never logged: {@link #toString()}
 * names only the identity.
 *
 * @param username      basic or token-service user name, or empty
 * @param password      its password, or empty
 * @param identityToken an OAuth2 refresh token for the token service, or empty
 * @param registryToken a bearer token to send to the registry as it is, or empty
 */
public record Credentials(String username, String password, String identityToken, String registryToken) {
    public static final Credentials ANONYMOUS = new Credentials("", "", "", "");

    public Credentials {
        username = username == null ? "" : username;
        password = password == null ? "" : password;
        identityToken = identityToken == null ? "" : identityToken;
        registryToken = registryToken == null ? "" : registryToken;
    }

    /**
     * From the CRI AuthConfig fields; {@code auth}, when set, is base64 of {@code user:password} and wins over the
     * separate fields, as Docker's config does.
     */
    public static Credentials fromCri(String username, String password, String auth, String identityToken,
                                      String registryToken) {
        if (auth != null && !auth.isEmpty()) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth.strip()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw dev.singlepull.errdefs.SinglepullException.invalidArgument("auth is not valid base64");
            }
            int colon = decoded.indexOf(':');
            if (colon < 0) {
                throw dev.singlepull.errdefs.SinglepullException.invalidArgument("auth is not base64 of user:password");
            }
            username = decoded.substring(0, colon);
            password = decoded.substring(colon + 1);
        }
        return new Credentials(username, password, identityToken, registryToken);
    }

    public boolean isAnonymous() {
        return username.isEmpty() && password.isEmpty() && identityToken.isEmpty() && registryToken.isEmpty();
    }

    public boolean hasBasic() {
        return !username.isEmpty() || !password.isEmpty();
    }

    /**
     * A stable, non-reversible name for these credentials ("anonymous" or a hash), so that flights and token caches
     * can tell callers apart without holding secrets in keys or logs.
     */
    public String identity() {
        if (isAnonymous()) {
            return "anonymous";
        }
        String material = String.join("\u0000", username, password, identityToken, registryToken);
        return "cred-" + Digest.sha256(material.getBytes(StandardCharsets.UTF_8)).hex().substring(0, 16);
    }

    @Override
    public String toString() {
        return "Credentials[" + identity() + "]";
    }
}

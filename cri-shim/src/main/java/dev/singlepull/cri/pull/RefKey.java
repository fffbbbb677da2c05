package dev.singlepull.cri.pull;

import dev.singlepull.cri.registry.Platform;

/**
 * The key of a whole pull: the normalized reference, the platform, and the identity of the caller's credentials, so
 * that no caller rides on a resolution that someone else's credentials made.
 */
record RefKey(String ref, Platform platform, String credentialIdentity) {
    @Override
    public String toString() {
        return ref + " (" + platform + ", " + credentialIdentity + ")";
    }
}

package dev.singlepull.cri.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ImageRefTest {
    private static final String DIGEST = "sha256:" + "ab".repeat(32);

    @Test
    void dockerHubNamesAreNormalized() {
        assertEquals("docker.io/library/redis:latest", ImageRef.parse("redis").canonical());
        assertEquals("docker.io/library/redis:7", ImageRef.parse("redis:7").canonical());
        assertEquals("docker.io/team/app:v1", ImageRef.parse("team/app:v1").canonical());
        assertEquals("docker.io/library/redis:7", ImageRef.parse("index.docker.io/library/redis:7").canonical());
        assertEquals("docker.io/library/redis:7", ImageRef.parse("docker.io/redis:7").canonical());
    }

    @Test
    void aFirstComponentWithADotAColonOrLocalhostIsARegistry() {
        ImageRef ref = ImageRef.parse("127.0.0.1:5000/team/app:v1");
        assertEquals("127.0.0.1:5000", ref.domain());
        assertEquals("team/app", ref.repository());
        assertEquals(Optional.of("v1"), ref.tag());
        assertEquals("localhost", ImageRef.parse("localhost/app").domain());
        assertEquals("registry.example.com", ImageRef.parse("registry.example.com/a/b/c").domain());
        assertEquals("a/b/c", ImageRef.parse("registry.example.com/a/b/c").repository());
        assertEquals("[::1]:5000", ImageRef.parse("[::1]:5000/app:v1").domain());
    }

    @Test
    void byTagByDigestAndByTagAndDigestWhereTheDigestWins() {
        ImageRef tag = ImageRef.parse("127.0.0.1:5000/app:v1");
        assertEquals("v1", tag.manifestReference());
        assertTrue(tag.digest().isEmpty());

        ImageRef digest = ImageRef.parse("127.0.0.1:5000/app@" + DIGEST);
        assertEquals(DIGEST, digest.manifestReference());
        assertTrue(digest.tag().isEmpty(), "no :latest implied when a digest is given");
        assertEquals("127.0.0.1:5000/app@" + DIGEST, digest.canonical());

        ImageRef both = ImageRef.parse("127.0.0.1:5000/app:v1@" + DIGEST);
        assertEquals(DIGEST, both.manifestReference(), "the digest decides what is pulled");
        assertEquals(Optional.of("v1"), both.tag(), "the tag is kept for display");
        assertEquals(Optional.of(Digest.parse(DIGEST)), both.digest());
        assertEquals("127.0.0.1:5000/app:v1@" + DIGEST, both.canonical());
        assertEquals("127.0.0.1:5000/app@" + DIGEST, both.withDigest(Digest.parse(DIGEST)));
    }

    @Test
    void badReferencesAreInvalidArgumentWithTheReason() {
        for (String bad : new String[] {"", " ", "library/UPPER", "app:bad tag", "app@sha256:123", "a//b", "-x",
                "app:" + "t".repeat(200), "app@", "registry.example.com/", "bad_host:5000x/app"}) {
            SinglepullException e = assertThrows(SinglepullException.class, () -> ImageRef.parse(bad), bad);
            assertEquals(ErrorKind.INVALID_ARGUMENT, e.kind(), bad);
        }
        String message = assertThrows(SinglepullException.class, () -> ImageRef.parse("library/UPPER")).getMessage();
        assertTrue(message.contains("lowercase"), message);
    }

    @Test
    void nameLongerThan255IsRefused() {
        String longName = "registry.example.com/" + "a".repeat(240);
        assertThrows(SinglepullException.class, () -> ImageRef.parse(longName));
    }
}

package dev.singlepull.unpack.tar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NewFileDefaultsTest {
    @TempDir
    Path dir;

    @Test
    void modesTheUmaskKeepsNeedNoChmodAndSpecialBitsAlwaysDo() {
        var defaults = new NewFileDefaults(0, 0, 022);
        assertTrue(defaults.keeps(0644));
        assertTrue(defaults.keeps(0755));
        assertTrue(defaults.keeps(0));
        assertFalse(defaults.keeps(0666), "the umask takes group and other write");
        assertFalse(defaults.keeps(04755), "setuid is never given by open");
        assertFalse(defaults.keeps(02755));
        assertFalse(defaults.keeps(01755));
        assertFalse(new NewFileDefaults(0, 0, -1).keeps(0644), "an unknown umask keeps nothing");
    }

    @Test
    void onlyTheCreatorsOwnerAndGroupNeedNoChownAndAnUnknownGroupNeverMatches() {
        var defaults = new NewFileDefaults(0, 0, 022);
        assertTrue(defaults.owns(0, 0));
        assertFalse(defaults.owns(0, 1));
        assertFalse(defaults.owns(1000, 0));
        assertFalse(new NewFileDefaults(0, -1, 022).owns(0, 0), "under a setgid root the group is inherited");
    }

    @Test
    void readsThisProcesssIdsAndUmaskAndNoGroupUnderASetgidRoot() throws IOException {
        var here = NewFileDefaults.under(dir);
        assertEquals(Integer.toUnsignedLong(PosixCalls.geteuid()), here.uid());
        assertEquals(Integer.toUnsignedLong(PosixCalls.getegid()), here.gid());
        assertTrue(here.umask() >= 0 && here.umask() <= 0777, "umask " + here.umask());
        Path made = Files.createFile(dir.resolve("probe"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxrwxrwx")));
        assertEquals(0777 & ~here.umask(), Nodes.lstat(made).permissions(), "the umask this process creates with");

        Path setgid = Files.createDirectory(dir.resolve("setgid"));
        PosixCalls.chmod(setgid, 02755);
        assertEquals(-1, NewFileDefaults.under(setgid).gid());
    }
}

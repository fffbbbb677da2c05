package dev.singlepull.unpack;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One committed snapshot: one layer's unpacked diff.
 *
 * @param chainId   the ChainID of the stack this layer ends
 * @param parent    the ChainID of the stack below, or null for a bottom layer
 * @param directory absolute path of the snapshot's {@code fs} directory
 * @param size      bytes used by its regular files (hard links counted once)
 * @param inodes    files, directories and symlinks in it (hard links counted once)
 */
public record SnapshotInfo(ChainId chainId, ChainId parent, Path directory, long size, long inodes) {
    public SnapshotInfo {
        Objects.requireNonNull(chainId, "chainId");
        Objects.requireNonNull(directory, "directory");
    }
}

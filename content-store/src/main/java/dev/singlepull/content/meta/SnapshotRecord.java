package dev.singlepull.content.meta;

import java.time.Instant;

/**
 * One unpacked layer, keyed by its ChainID ({@code sha256:...} as text).
 *
 * @param key       the ChainID
 * @param parent    the parent ChainID, or null for a bottom layer
 * @param directory the snapshot's directory, relative to the root (for example {@code snapshots/12})
 * @param size      bytes used by its files
 * @param inodes    files and directories in it
 */
public record SnapshotRecord(String key, String parent, String directory, long size, long inodes, Instant created) { }

package dev.singlepull.unpack.tar;

/**
 * What applying one layer wrote.
 *
 * @param bytes   content bytes of regular files written
 * @param files   entries created: regular files, directories, symlinks and hard links (whiteout markers included)
 * @param skipped entries not applied: device nodes, fifos and entry types this version does not create
 */
public record ApplyStats(long bytes, long files, long skipped) { }

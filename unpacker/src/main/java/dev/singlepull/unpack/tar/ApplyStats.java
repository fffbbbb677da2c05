package dev.singlepull.unpack.tar;

import java.util.Map;

/**
 * What applying one layer wrote.
 *
 * @param bytes   content bytes of regular files written (a sparse file's holes not counted)
 * @param files   entries created: regular files, directories, symlinks, hard links, device nodes, fifos and whiteouts
 * @param skipped what was deliberately not created, by reason (device nodes when not running as root, extended
 *                attributes outside {@code user.*} when not root, ...), for a warning; empty when nothing was
 */
public record ApplyStats(long bytes, long files, Map<String, Long> skipped) {
    public ApplyStats {
        skipped = Map.copyOf(skipped);
    }

    /** Everything skipped, over all reasons. */
    public long skippedTotal() {
        return skipped.values().stream().mapToLong(Long::longValue).sum();
    }
}

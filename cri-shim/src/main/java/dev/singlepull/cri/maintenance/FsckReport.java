package dev.singlepull.cri.maintenance;

import dev.singlepull.content.CheckResult;
import dev.singlepull.content.Finding;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code singlepull fsck} found, by part of the store.
 *
 * @param blobs     every committed blob hashed against its name; ingests and stray labels
 * @param snapshots snapshot records against snapshot directories
 * @param images    every image record followed to the blobs and snapshots it references
 */
public record FsckReport(CheckResult blobs, CheckResult snapshots, CheckResult images) {

    /** Every finding, blobs first. */
    public List<Finding> findings() {
        List<Finding> all = new ArrayList<>(blobs.findings());
        all.addAll(snapshots.findings());
        all.addAll(images.findings());
        return all;
    }

    /** True if nothing is inconsistent (leftovers of interrupted work are not inconsistencies). */
    public boolean consistent() {
        return findings().stream().noneMatch(Finding::isProblem);
    }
}

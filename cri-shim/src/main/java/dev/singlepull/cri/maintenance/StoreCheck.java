package dev.singlepull.cri.maintenance;

import dev.singlepull.content.CheckResult;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import dev.singlepull.content.Finding;
import dev.singlepull.content.meta.GarbageCollector;
import dev.singlepull.content.meta.MetadataDb;
import dev.singlepull.content.meta.SnapshotRecord;
import dev.singlepull.unpack.snapshot.DirectorySnapshotter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code singlepull fsck}: checks the store of one root against itself. Blobs are hashed first, while pulls and
 * collections go on (a blob is immutable once committed, and one deleted meanwhile is skipped); then, with garbage
 * collection held off, snapshot records are compared with their directories and every image record is followed
 * through its reference labels to the blobs and snapshots it needs. Pulls may go on meanwhile: a pull writes its
 * image record only after everything it references is committed. With {@code repair}: corrupt blobs are deleted,
 * broken snapshots dropped, and image records that reference something missing removed, so that the next pull of
 * such an image fetches and unpacks what is missing. Thread-safe.
 */
public final class StoreCheck {
    private final ContentStore content;
    private final DirectorySnapshotter snapshots;
    private final MetadataDb db;
    private final GarbageCollector gc;

    public StoreCheck(ContentStore content, DirectorySnapshotter snapshots, MetadataDb db, GarbageCollector gc) {
        this.content = content;
        this.snapshots = snapshots;
        this.db = db;
        this.gc = gc;
    }

    public FsckReport run(boolean repair) {
        CheckResult blobs = content.check(repair);
        return gc.whileNotCollecting(() -> {
            CheckResult snapshotResult = snapshots.check(repair);
            Set<String> damaged = new HashSet<>();
            for (Finding f : blobs.findings()) {
                if (f.isProblem()) {
                    damaged.add(f.subject());
                }
            }
            for (Finding f : snapshotResult.findings()) {
                if (f.isProblem()) {
                    damaged.add(f.subject());
                }
            }
            return new FsckReport(blobs, snapshotResult, images(repair, damaged));
        });
    }

    /** Follows every image record; {@code damaged}: subjects ("blob ...", "snapshot ...") found broken before. */
    private CheckResult images(boolean repair, Set<String> damaged) {
        List<Finding> findings = new ArrayList<>();
        Map<String, MetadataDb.Reachable> byImage = db.reachableByImage();
        for (Map.Entry<String, MetadataDb.Reachable> image : byImage.entrySet()) {
            List<String> missing = new ArrayList<>();
            for (Digest digest : image.getValue().content()) {
                String subject = "blob " + digest;
                if (content.info(digest).isEmpty()) {
                    missing.add(subject + " (missing)");
                } else if (damaged.contains(subject)) {
                    missing.add(subject + " (damaged)");
                }
            }
            for (String key : image.getValue().snapshots()) {
                String subject = "snapshot " + key;
                if (db.snapshot(key).filter(SnapshotRecord::isCommitted).isEmpty()) {
                    missing.add(subject + " (missing)");
                } else if (damaged.contains(subject)) {
                    missing.add(subject + " (damaged)");
                }
            }
            if (missing.isEmpty() || db.images().get(image.getKey()).isEmpty()) {
                continue; // complete, or removed while we looked
            }
            missing.sort(null);
            Finding f = Finding.problem("image " + image.getKey(), "references what the store lacks or has "
                    + "damaged: " + String.join(", ", missing));
            if (repair) {
                db.images().delete(List.of(image.getKey()));
                f = f.repairedBy("image record removed (pull the image again)");
            }
            findings.add(f);
        }
        return new CheckResult(byImage.size(), findings);
    }
}

package dev.singlepull.cri.snapshots;

import java.util.List;
import java.util.Objects;

/**
 * One mount that makes a snapshot's filesystem: {@code mount -t type -o options source target}, the target being the
 * runtime's to choose.
 *
 * @param type    {@code overlay} or {@code bind}
 * @param source  a directory for a bind mount; {@code overlay} for an overlay
 * @param options mount options, such as {@code ro}, {@code rbind} or {@code lowerdir=...}
 */
public record SnapshotMount(String type, String source, List<String> options) {
    public SnapshotMount {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(source, "source");
        options = List.copyOf(options);
    }
}

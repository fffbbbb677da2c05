package dev.singlepull.content;

import java.time.Instant;
import java.util.Map;

/** A committed blob: its digest, size, commit time and labels. */
public record ContentInfo(Digest digest, long size, Instant committedAt, Map<String, String> labels) {
    public ContentInfo {
        labels = Map.copyOf(labels);
    }
}

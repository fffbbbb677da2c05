package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import java.util.List;
import java.util.Optional;

/** Image records. Every method is one short transaction. */
public interface ImageStore {
    /** Creates or replaces the record named {@code record.name()} (keeping its original created time). */
    void put(ImageRecord record);

    Optional<ImageRecord> get(String name);

    /** Every record whose config digest is {@code imageId}. */
    List<ImageRecord> byConfig(Digest imageId);

    List<ImageRecord> list();

    /** Deletes the records with these names, in one transaction; returns how many existed. */
    int delete(List<String> names);
}

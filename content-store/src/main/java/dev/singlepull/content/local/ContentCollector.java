package dev.singlepull.content.local;

import dev.singlepull.content.ContentInfo;
import dev.singlepull.content.ContentStore;
import dev.singlepull.content.Digest;
import dev.singlepull.content.meta.Leases;
import dev.singlepull.content.meta.ResourceCollector;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The garbage collector's view of a content store: its candidates are every committed blob (digest text), and
 * freeing one deletes the blob and its labels. Errors as the store's. Thread-safe as the store.
 */
final class ContentCollector implements ResourceCollector {
    private final ContentStore store;

    ContentCollector(ContentStore store) {
        this.store = store;
    }

    @Override
    public String kind() {
        return Leases.CONTENT;
    }

    @Override
    public Set<String> all() {
        return store.list().stream().map(info -> info.digest().toString()).collect(Collectors.toUnmodifiableSet());
    }

    @Override
    public long remove(String id) {
        Digest digest = Digest.parse(id);
        long size = store.info(digest).map(ContentInfo::size).orElse(0L);
        store.delete(digest);
        return size;
    }
}

package dev.singlepull.cri.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.singlepull.content.ContentStore;
import dev.singlepull.content.ContentWriter;
import dev.singlepull.content.Digest;
import dev.singlepull.content.local.LocalContentStore;
import dev.singlepull.content.meta.MetadataDb;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestJanitorTest {
    @TempDir
    Path root;

    @Test
    void startUpRemovesIngestsOlderThanTheAgeAndKeepsYoungerOnes() throws Exception {
        try (MetadataDb db = MetadataDb.open(root.resolve("meta.db"));
             ContentStore store = LocalContentStore.open(root, db)) {
            byte[] data = new byte[1000];
            for (String ref : List.of("old", "young")) {
                data[0] = (byte) ref.length();
                try (ContentWriter writer = store.writer(ref, Digest.sha256(data), data.length)) {
                    writer.write(ByteBuffer.wrap(data, 0, 100));
                }
            }
            try (var dirs = Files.list(root.resolve("content/ingest"))) {
                for (Path dir : dirs.toList()) {
                    if (Files.readString(dir.resolve("ref")).equals("old")) {
                        Files.setLastModifiedTime(dir.resolve("data"),
                                FileTime.from(Instant.now().minus(Duration.ofHours(25))));
                    }
                }
            }
            try (IngestJanitor janitor = IngestJanitor.start(store, Duration.ofHours(24))) {
                assertEquals(List.of("young"), store.ingests().stream().map(s -> s.ref()).toList());
                assertEquals(0, janitor.sweep());
            }
        }
    }

    @Test
    void sweepsAQuarterOfTheAgeApartWithinASecondAndAnHour() {
        assertEquals(Duration.ofHours(1), IngestJanitor.period(Duration.ofHours(24)));
        assertEquals(Duration.ofMinutes(15), IngestJanitor.period(Duration.ofHours(1)));
        assertEquals(Duration.ofSeconds(1), IngestJanitor.period(Duration.ofSeconds(2)));
    }
}

package dev.singlepull.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Many callers of one cold image cost the registry one download per blob, and the disk one unpack per layer. */
@Timeout(300)
class ConcurrentPullIT {
    private static final int CALLERS = 20;
    private RegistryProcess registry;
    private SinglepullServer server;

    @BeforeEach
    void start() {
        registry = RegistryProcess.start();
        server = SinglepullServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
        registry.close();
    }

    @Test
    void twentyConcurrentPullsFetchEveryBlobExactlyOnce() throws Exception {
        PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/concurrent", "v1", 8_000_000, 21));
        registry.awaitLogQuiet();
        registry.clearLog();

        List<String> refs = pullConcurrently(image.reference(), CALLERS);

        assertEquals(CALLERS, refs.size());
        assertTrue(refs.stream().allMatch(image.configDigest()::equals), "every caller got the image id: " + refs);
        registry.awaitLogQuiet();
        Map<String, Long> gets = registry.blobGetsByDigest();
        assertEquals(1L, gets.get(image.configDigest()), "config fetched once: " + gets);
        for (String layer : image.layerDigests()) {
            assertEquals(1L, gets.get(layer), "layer " + layer + " fetched once: " + gets);
        }
        assertEquals(image.layerDigests().size() + 1, registry.blobGetsTotal(), "no other blob GET: " + gets);
        assertEquals(2, registry.manifestRequests(), "one resolution (HEAD + GET) for all callers");
        assertEquals(image.layerDigests().size(), server.daemon().node().unpacker().unpacksPerformed(),
                "every layer unpacked once");
    }

    @Test
    void aWarmImageCostsNoBlobDownloadAndNoUnpack() throws Exception {
        PushedImage image = TestImages.push(registry, TestImages.sampleImage("it/warm", "v1", 500_000, 22));
        pullConcurrently(image.reference(), 1);
        long unpacks = server.daemon().node().unpacker().unpacksPerformed();
        registry.awaitLogQuiet();
        registry.clearLog();

        pullConcurrently(image.reference(), 5);

        registry.awaitLogQuiet();
        assertEquals(0, registry.blobGetsTotal(), "committed blobs are not downloaded again");
        assertEquals(unpacks, server.daemon().node().unpacker().unpacksPerformed(), "committed snapshots are reused");
    }

    private List<String> pullConcurrently(String ref, int callers) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); CriClient cri = server.client()) {
            for (int i = 0; i < callers; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return cri.images().pullImage(Cri.pull(ref)).getImageRef();
                }));
            }
            go.countDown();
            List<String> refs = new ArrayList<>();
            for (Future<String> f : futures) {
                refs.add(f.get());
            }
            return refs;
        }
    }
}

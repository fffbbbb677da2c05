package dev.singlepull.it;

import static dev.singlepull.it.fixture.PrometheusText.scrape;
import static dev.singlepull.it.fixture.PrometheusText.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.singlepull.cri.cli.CriClient;
import dev.singlepull.it.fixture.BuiltImage;
import dev.singlepull.it.fixture.BuiltLayer;
import dev.singlepull.it.fixture.Compression;
import dev.singlepull.it.fixture.Cri;
import dev.singlepull.it.fixture.LayerEntry;
import dev.singlepull.it.fixture.LayerTar;
import dev.singlepull.it.fixture.PushedImage;
import dev.singlepull.it.fixture.RegistryProcess;
import dev.singlepull.it.fixture.SinglepullServer;
import dev.singlepull.it.fixture.TestImages;
import dev.singlepull.it.fixture.UmociOracle;
import dev.singlepull.it.fixture.UmociOracle.Layer;
import dev.singlepull.unpack.ChainId;
import dev.singlepull.unpack.SnapshotInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two images sharing their bottom layers, pulled at the same time: each shared ChainID is unpacked once. */
@Timeout(300)
class LayerDedupIT {

    @Test
    void imagesSharingBottomLayersUnpackTheSharedChainsOnceWhenPulledConcurrently() throws Exception {
        try (RegistryProcess registry = RegistryProcess.start();
             SinglepullServer server = SinglepullServer.start(b -> b.metricsAddress("127.0.0.1:0"))) {
            Layer base = new Layer(LayerTar.pax().dir("usr", 0755).file("usr/base.bin", LayerEntry.randomBytes(4 << 20, 1), 0644)
                    .build(), Compression.GZIP);
            Layer runtime = new Layer(LayerTar.pax().dir("opt", 0755).file("opt/runtime.bin", LayerEntry.randomBytes(3 << 20, 2), 0644)
                    .hardlink("opt/base-link", "usr/base.bin").build(), Compression.ZSTD);
            Layer appA = new Layer(LayerTar.pax().file("app-a", "a", 0755).build(), Compression.GZIP);
            Layer appB = new Layer(LayerTar.pax().file("app-b", "b", 0755).build(), Compression.GZIP);
            BuiltImage a = UmociOracle.build("it/app-a", "v1", List.of(base, runtime, appA));
            BuiltImage b = UmociOracle.build("it/app-b", "v1", List.of(base, runtime, appB));
            PushedImage pushedA = TestImages.push(registry.baseUri(), null, a, "it/app-a", "v1");
            PushedImage pushedB = TestImages.push(registry.baseUri(), null, b, "it/app-b", "v1");
            registry.awaitLogQuiet();
            registry.clearLog();

            int callersEach = 4;
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> calls = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor(); CriClient cri = server.client()) {
                for (int i = 0; i < 2 * callersEach; i++) {
                    String ref = (i % 2 == 0 ? pushedA : pushedB).reference();
                    calls.add(pool.submit(() -> {
                        go.await();
                        return cri.images().pullImage(Cri.pull(ref)).getImageRef();
                    }));
                }
                go.countDown();
                for (Future<String> call : calls) {
                    String id = call.get();
                    assertTrue(id.equals(pushedA.configDigest()) || id.equals(pushedB.configDigest()), id);
                }
            }

            List<ChainId> chainA = ChainId.chain(pushedA.diffIds().stream()
                    .map(dev.singlepull.content.Digest::parse).toList());
            List<ChainId> chainB = ChainId.chain(pushedB.diffIds().stream()
                    .map(dev.singlepull.content.Digest::parse).toList());
            assertEquals(chainA.subList(0, 2), chainB.subList(0, 2), "the bottom two ChainIDs are shared");
            var node = server.daemon().node();
            assertEquals(4, node.unpacker().unpacksPerformed(), "2 shared layers once, plus each image's top");
            Map<ChainId, Long> snapshots = node.snapshots().list().stream()
                    .collect(Collectors.groupingBy(SnapshotInfo::chainId, Collectors.counting()));
            assertEquals(Map.of(chainA.get(0), 1L, chainA.get(1), 1L, chainA.get(2), 1L, chainB.get(2), 1L),
                    snapshots);
            registry.awaitLogQuiet();
            for (BuiltLayer shared : pushedA.layers().subList(0, 2)) {
                assertEquals(1, registry.blobGets(shared.digest()), "shared layer downloaded once");
            }

            String metrics = scrape(server.daemon().metricsPort().orElseThrow());
            long started = value(metrics, "singlepull_flights_started_total", "chain");
            long joined = value(metrics, "singlepull_flights_joined_total", "chain");
            // the callers of one image share one pull; each of the two pulls asks the chain table for 3 layers
            assertEquals(2, value(metrics, "singlepull_flights_started_total", "ref"));
            assertEquals(6, started + joined, "started " + started + ", joined " + joined);
            assertEquals(0, value(metrics, "singlepull_flights_failed_total", "chain"));
        }
    }
}

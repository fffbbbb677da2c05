package dev.singlepull.cri.cli;

import dev.singlepull.api.admin.v1.AdminGrpc;
import dev.singlepull.api.cri.v1.ImageServiceGrpc;
import dev.singlepull.api.cri.v1.RuntimeServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.concurrent.TimeUnit;

/** A gRPC client of a CRI endpoint ({@code unix:///path} or a plain socket path). */
public final class CriClient implements AutoCloseable {
    private final ManagedChannel channel;

    public CriClient(String endpoint) {
        dev.singlepull.cri.server.QuietNetty.apply();
        String target = endpoint.startsWith("unix:") ? endpoint : "unix://" + java.nio.file.Path.of(endpoint).toAbsolutePath();
        this.channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create())
                .maxInboundMessageSize(16 * 1024 * 1024)
                .build();
    }

    public ImageServiceGrpc.ImageServiceBlockingStub images() {
        return ImageServiceGrpc.newBlockingStub(channel);
    }

    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return RuntimeServiceGrpc.newBlockingStub(channel);
    }

    public AdminGrpc.AdminBlockingStub admin() {
        return AdminGrpc.newBlockingStub(channel);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

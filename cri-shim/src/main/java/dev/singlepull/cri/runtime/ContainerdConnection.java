package dev.singlepull.cri.runtime;

import dev.singlepull.api.containerd.content.v1.ContentGrpc;
import dev.singlepull.api.containerd.images.v1.ImagesGrpc;
import dev.singlepull.api.containerd.leases.v1.LeasesGrpc;
import dev.singlepull.api.containerd.snapshots.v1.SnapshotsGrpc;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC channel to containerd's socket, and stubs of its content, images, leases and snapshots services that
 * carry the namespace (metadata {@code containerd-namespace}) and, when given, a lease ({@code containerd-lease}).
 * {@link #translate} turns a failed call into singlepull's error taxonomy, naming containerd's socket when it cannot
 * be reached. Thread-safe.
 */
final class ContainerdConnection implements AutoCloseable {
    static final Metadata.Key<String> NAMESPACE = Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> LEASE = Metadata.Key.of("containerd-lease", Metadata.ASCII_STRING_MARSHALLER);
    private static final long DEADLINE_SECONDS = 60;

    private final String address;
    private final String namespace;
    private ManagedChannel channel;
    /** Set when a call found containerd unreachable: the next exchange opens a fresh channel, without backoff. */
    private boolean unreachable;

    ContainerdConnection(String address, String namespace) {
        this.address = address;
        this.namespace = namespace;
        this.channel = open(address);
    }

    private static ManagedChannel open(String address) {
        return Grpc.newChannelBuilder("unix://" + address, InsecureChannelCredentials.create())
                .maxInboundMessageSize(16 * 1024 * 1024).build();
    }

    /** The channel for a new exchange: a fresh one if containerd was unreachable last time. */
    private synchronized ManagedChannel channel() {
        if (unreachable) {
            channel.shutdownNow();
            channel = open(address);
            unreachable = false;
        }
        return channel;
    }

    String address() {
        return address;
    }

    /** The stubs of one exchange, under {@code lease} when it is not null. */
    Stubs stubs(String lease) {
        Metadata headers = new Metadata();
        headers.put(NAMESPACE, namespace);
        if (lease != null) {
            headers.put(LEASE, lease);
        }
        return new Stubs(channel(), headers);
    }

    /** Stubs on one channel sharing one set of headers; each call gets its own deadline. */
    static final class Stubs {
        private final ManagedChannel channel;
        private final Metadata headers;

        private Stubs(ManagedChannel channel, Metadata headers) {
            this.channel = channel;
            this.headers = headers;
        }

        ContentGrpc.ContentBlockingStub content() {
            return prepared(ContentGrpc.newBlockingStub(channel));
        }

        ContentGrpc.ContentStub contentAsync() {
            return prepared(ContentGrpc.newStub(channel));
        }

        ImagesGrpc.ImagesBlockingStub images() {
            return prepared(ImagesGrpc.newBlockingStub(channel));
        }

        LeasesGrpc.LeasesBlockingStub leases() {
            return prepared(LeasesGrpc.newBlockingStub(channel));
        }

        SnapshotsGrpc.SnapshotsBlockingStub snapshots() {
            return prepared(SnapshotsGrpc.newBlockingStub(channel));
        }

        private <S extends AbstractStub<S>> S prepared(S stub) {
            return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** {@code e} as singlepull's error, saying what was being done; UNAVAILABLE names containerd's socket. */
    SinglepullException translate(String doing, StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        String what = e.getStatus().getDescription() == null ? code.toString() : e.getStatus().getDescription();
        ErrorKind kind = switch (code) {
            case UNAVAILABLE -> ErrorKind.UNAVAILABLE;
            case NOT_FOUND -> ErrorKind.NOT_FOUND;
            case ALREADY_EXISTS -> ErrorKind.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> ErrorKind.FAILED_PRECONDITION;
            case INVALID_ARGUMENT -> ErrorKind.INVALID_ARGUMENT;
            case DEADLINE_EXCEEDED -> ErrorKind.DEADLINE_EXCEEDED;
            case CANCELLED -> ErrorKind.CANCELLED;
            case RESOURCE_EXHAUSTED -> ErrorKind.RESOURCE_EXHAUSTED;
            case PERMISSION_DENIED -> ErrorKind.PERMISSION_DENIED;
            default -> ErrorKind.INTERNAL;
        };
        if (kind == ErrorKind.UNAVAILABLE) {
            synchronized (this) {
                unreachable = true;
            }
        }
        String message = kind == ErrorKind.UNAVAILABLE
                ? "containerd at " + address + " cannot be reached (" + doing + "): " + what
                : "containerd at " + address + " refused to " + doing + ": " + what;
        return new SinglepullException(kind, message, e);
    }

    @Override
    public void close() {
        ManagedChannel last;
        synchronized (this) {
            last = channel;
        }
        last.shutdownNow();
        try {
            last.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

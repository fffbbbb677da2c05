package dev.singlepull.cri.server;

import dev.singlepull.api.cri.v1.RuntimeServiceGrpc;
import dev.singlepull.api.cri.v1.VersionRequest;
import dev.singlepull.api.cri.v1.VersionResponse;
import io.grpc.stub.StreamObserver;

/**
 * {@code runtime.v1.RuntimeService/Version}, the one runtime call an image service answers: crictl asks it when it
 * connects, with the image and runtime endpoints on one socket.
 */
final class RuntimeVersionService extends RuntimeServiceGrpc.RuntimeServiceImplBase {
    static final String RUNTIME_NAME = "singlepull";
    static final String API_VERSION = "v1";
    /** The kubelet runtime API version this service speaks; CRI asks for "0.1.0" here. */
    static final String KUBELET_API_VERSION = "0.1.0";

    private final String version;

    RuntimeVersionService(String version) {
        this.version = version;
    }

    @Override
    public void version(VersionRequest request, StreamObserver<VersionResponse> observer) {
        observer.onNext(VersionResponse.newBuilder()
                .setVersion(KUBELET_API_VERSION)
                .setRuntimeName(RUNTIME_NAME)
                .setRuntimeVersion(version)
                .setRuntimeApiVersion(API_VERSION)
                .build());
        observer.onCompleted();
    }
}

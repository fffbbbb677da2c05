package dev.singlepull.cri.server;

import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/** Runs a unary RPC's body and answers with its value or its error as a gRPC status. */
final class CallBridge {
    private CallBridge() {
    }

    static <T> void answer(StreamObserver<T> observer, Supplier<T> body) {
        T value;
        try {
            value = body.get();
        } catch (Throwable t) {
            if (!Context.current().isCancelled()) {
                observer.onError(StatusMapper.toStatus(t));
            }
            return;
        }
        observer.onNext(value);
        observer.onCompleted();
    }
}

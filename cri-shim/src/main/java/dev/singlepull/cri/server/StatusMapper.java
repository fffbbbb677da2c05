package dev.singlepull.cri.server;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Translates singlepull errors to gRPC statuses, once, at the RPC edge. */
final class StatusMapper {
    private StatusMapper() {
    }

    static StatusRuntimeException toStatus(Throwable t) {
        if (t instanceof StatusRuntimeException sre) {
            return sre;
        }
        ErrorKind kind = SinglepullException.kindOf(t);
        Status status = switch (kind) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case DATA_LOSS -> Status.DATA_LOSS;
            case DEADLINE_EXCEEDED -> Status.DEADLINE_EXCEEDED;
            case CANCELLED -> Status.CANCELLED;
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case INTERNAL -> Status.INTERNAL;
        };
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return status.withDescription(message).asRuntimeException();
    }
}

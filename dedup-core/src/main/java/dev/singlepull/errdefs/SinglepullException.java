package dev.singlepull.errdefs;

import java.util.Objects;

/**
 * The one unchecked exception family of singlepull. It carries an {@link ErrorKind} that the RPC edge maps to a
 * gRPC status. Messages must name what failed (a reference, a digest, a host) and must never contain credentials.
 */
public class SinglepullException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorKind kind;

    public SinglepullException(ErrorKind kind, String message) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public SinglepullException(ErrorKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    public ErrorKind kind() {
        return kind;
    }

    public static SinglepullException invalidArgument(String message) {
        return new SinglepullException(ErrorKind.INVALID_ARGUMENT, message);
    }

    public static SinglepullException notFound(String message) {
        return new SinglepullException(ErrorKind.NOT_FOUND, message);
    }

    public static SinglepullException dataLoss(String message) {
        return new SinglepullException(ErrorKind.DATA_LOSS, message);
    }

    public static SinglepullException failedPrecondition(String message) {
        return new SinglepullException(ErrorKind.FAILED_PRECONDITION, message);
    }

    public static SinglepullException unavailable(String message, Throwable cause) {
        return new SinglepullException(ErrorKind.UNAVAILABLE, message, cause);
    }

    public static SinglepullException internal(String message, Throwable cause) {
        return new SinglepullException(ErrorKind.INTERNAL, message, cause);
    }

    /**
     * The kind of any throwable: a {@link SinglepullException}'s own kind, searched through the cause chain;
     * interruption and cancellation count as {@link ErrorKind#CANCELLED}; anything else is {@link ErrorKind#INTERNAL}.
     */
    public static ErrorKind kindOf(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SinglepullException se) {
                return se.kind();
            }
            if (c instanceof InterruptedException || c instanceof java.util.concurrent.CancellationException
                    || c instanceof java.io.InterruptedIOException && !(c instanceof java.net.SocketTimeoutException)) {
                return ErrorKind.CANCELLED;
            }
        }
        return ErrorKind.INTERNAL;
    }
}

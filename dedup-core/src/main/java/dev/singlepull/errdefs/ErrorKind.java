package dev.singlepull.errdefs;

/**
 * The closed set of failure classes every singlepull module reports. Each maps to exactly one gRPC status code;
 * the translation happens once, at the RPC edge, never deep in the domain.
 */
public enum ErrorKind {
    /** The request itself is wrong: a bad reference, a bad flag, a hostile layer entry. */
    INVALID_ARGUMENT,
    /** The thing asked for does not exist (in the registry or locally). */
    NOT_FOUND,
    /** The thing already exists; content-addressed writers treat this as success. */
    ALREADY_EXISTS,
    /** The request is well formed but cannot be served in the current state (unsupported media type, missing platform). */
    FAILED_PRECONDITION,
    /** The registry wants credentials, or rejected the ones given. */
    UNAUTHENTICATED,
    /** The registry knows who is asking and said no. */
    PERMISSION_DENIED,
    /** A dependency (registry, disk lock) is unavailable; retrying later may help. */
    UNAVAILABLE,
    /** Bytes did not match what was promised: digest, size or DiffID. */
    DATA_LOSS,
    /** A deadline passed, or a transfer stalled below its minimum rate. */
    DEADLINE_EXCEEDED,
    /** The caller, or the last caller of shared work, went away. */
    CANCELLED,
    /** A configured limit was hit (decompression ratio, disk space). */
    RESOURCE_EXHAUSTED,
    /** A bug or an unexpected failure of the machine. */
    INTERNAL
}

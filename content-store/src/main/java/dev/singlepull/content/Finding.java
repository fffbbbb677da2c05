package dev.singlepull.content;

import java.util.Objects;

/**
 * One thing a consistency check ({@code singlepull fsck}) found.
 *
 * @param severity {@link Severity#PROBLEM}: the store is inconsistent here; {@link Severity#LEFTOVER}: the trace of
 *                 work in progress or cut short by a crash, which is harmless and cleaned up without help
 * @param subject  what it is about, for example {@code blob sha256:...}, {@code snapshot sha256:...},
 *                 {@code image docker.io/library/redis:7}, {@code ingest blob-sha256:...}
 * @param detail   what was found, and what was done about it if it was repaired
 * @param repaired true if the check was asked to repair and did
 */
public record Finding(Severity severity, String subject, String detail, boolean repaired) {
    public Finding {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(detail, "detail");
    }

    public enum Severity { PROBLEM, LEFTOVER }

    public static Finding problem(String subject, String detail) {
        return new Finding(Severity.PROBLEM, subject, detail, false);
    }

    public static Finding leftover(String subject, String detail) {
        return new Finding(Severity.LEFTOVER, subject, detail, false);
    }

    /** This finding, repaired as {@code how} says (for example "deleted"). */
    public Finding repairedBy(String how) {
        return new Finding(severity, subject, detail + "; repaired: " + how, true);
    }

    public boolean isProblem() {
        return severity == Severity.PROBLEM;
    }

    @Override
    public String toString() {
        return severity + " " + subject + ": " + detail;
    }
}

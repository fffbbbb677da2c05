package dev.singlepull.content.local;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;

/** Translates an {@link IOException} of the store into the error taxonomy. Not instantiable. */
final class IoErrors {
    private IoErrors() { }

    /**
     * RESOURCE_EXHAUSTED when the disk or a quota is full, INTERNAL otherwise; the message starts with {@code what}
     * (which names the path, ref or digest concerned).
     */
    static SinglepullException of(String what, IOException e) {
        String detail = String.valueOf(e.getMessage());
        if (detail.contains("No space left") || detail.contains("Disk quota exceeded")) {
            return new SinglepullException(ErrorKind.RESOURCE_EXHAUSTED, what + ": disk full: " + detail, e);
        }
        return SinglepullException.internal(what + ": " + e, e);
    }
}

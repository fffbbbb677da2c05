package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.SinglepullException;
import java.util.Optional;

/** An image platform, {@code os/architecture[/variant]}. */
public record Platform(String os, String architecture, Optional<String> variant) {
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", Optional.empty());

    /** Parses {@code linux/amd64} or {@code linux/arm64/v8}; INVALID_ARGUMENT otherwise. */
    public static Platform parse(String text) {
        String[] parts = text.split("/");
        if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()) {
            throw SinglepullException.invalidArgument("platform '" + text + "' is not os/architecture[/variant]");
        }
        return new Platform(parts[0], parts[1], parts.length == 3 ? Optional.of(parts[2]) : Optional.empty());
    }

    /**
     * True if an image built for {@code candidate} runs here. OS and architecture must be equal; when this platform
     * names a variant, the candidate's must be equal (a candidate without a variant matches too).
     */
    public boolean accepts(Platform candidate) {
        if (!os.equals(candidate.os) || !architecture.equals(candidate.architecture)) {
            return false;
        }
        return variant.isEmpty() || candidate.variant.isEmpty() || variant.equals(candidate.variant);
    }

    @Override
    public String toString() {
        return os + "/" + architecture + variant.map(v -> "/" + v).orElse("");
    }
}

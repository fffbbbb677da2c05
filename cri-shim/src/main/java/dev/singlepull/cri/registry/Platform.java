package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.SinglepullException;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An image platform, {@code os/architecture[/variant]}, compared as containerd's platform matcher does. Names are
 * normalized first ({@code x86_64} is {@code amd64}, {@code aarch64} is {@code arm64}, {@code armhf} is
 * {@code arm/v7}, a bare variant number {@code 8} is {@code v8}), and a missing variant means the architecture's
 * baseline: {@code v1} for amd64, {@code v8} for arm64, {@code v7} for arm. For those three a platform runs images of
 * its own variant or an older one ({@code linux/arm/v7} runs {@code v6} and {@code v5}, {@code linux/amd64} runs only
 * {@code v1}, so wanting {@code linux/arm64} accepts {@code arm64/v8} and plain {@code arm64}); for other architectures
 * the variants must be equal when both are given. Immutable.
 */
public record Platform(String os, String architecture, Optional<String> variant) {
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", Optional.empty());

    /** Parses {@code linux/amd64} or {@code linux/arm64/v8}; INVALID_ARGUMENT otherwise. */
    public static Platform parse(String text) {
        String[] parts = text.split("/", -1);
        if (parts.length < 2 || parts.length > 3 || parts[0].isBlank() || parts[1].isBlank()
                || (parts.length == 3 && parts[2].isBlank())) {
            throw SinglepullException.invalidArgument("platform '" + text + "' is not os/architecture[/variant]");
        }
        return new Platform(parts[0], parts[1], parts.length == 3 ? Optional.of(parts[2]) : Optional.empty());
    }

    /** The same platform in containerd's normal form: lower case, canonical architecture, baseline variant dropped. */
    public Platform normalized() {
        String o = os.toLowerCase(Locale.ROOT);
        String a = architecture.toLowerCase(Locale.ROOT);
        String v = variant.map(s -> s.toLowerCase(Locale.ROOT)).orElse("");
        if (!v.isEmpty() && Character.isDigit(v.charAt(0))) {
            v = "v" + v;
        }
        switch (a) {
            case "x86_64", "x86-64" -> a = "amd64";
            case "aarch64" -> a = "arm64";
            case "armhf" -> {
                a = "arm";
                v = "v7";
            }
            case "armel" -> {
                a = "arm";
                v = "v6";
            }
            case "i386", "i686" -> a = "386";
            default -> { }
        }
        OptionalInt baseline = baseline(a);
        if (baseline.isPresent() && v.equals("v" + baseline.getAsInt())) {
            v = ""; // written or not, the baseline variant is the same platform
        }
        if (v.matches("v[0-9]+\\.0")) {
            v = v.substring(0, v.length() - 2);
        }
        return new Platform(o, a, v.isEmpty() ? Optional.empty() : Optional.of(v));
    }

    /** True if an image built for {@code candidate} runs on this platform (see the class comment). */
    public boolean accepts(Platform candidate) {
        Platform want = normalized();
        Platform have = candidate.normalized();
        if (!want.os.equals(have.os) || !want.architecture.equals(have.architecture)) {
            return false;
        }
        OptionalInt wantLevel = want.level();
        OptionalInt haveLevel = have.level();
        if (wantLevel.isPresent() && haveLevel.isPresent()) {
            return haveLevel.getAsInt() <= wantLevel.getAsInt();
        }
        return want.variant.isEmpty() || have.variant.isEmpty() || want.variant.equals(have.variant);
    }

    /**
     * How well {@code candidate} fits: -1 if it does not run here, higher is better; the same platform ranks above
     * an older variant, a newer variant that still runs above an older one.
     */
    int rank(Platform candidate) {
        if (!accepts(candidate)) {
            return -1;
        }
        Platform want = normalized();
        Platform have = candidate.normalized();
        if (want.equals(have)) {
            return Integer.MAX_VALUE;
        }
        return have.level().orElse(0);
    }

    /** The variant as a number, for the architectures whose variants are ordered levels. */
    private OptionalInt level() {
        OptionalInt baseline = baseline(architecture);
        if (baseline.isEmpty()) {
            return OptionalInt.empty();
        }
        if (variant.isEmpty()) {
            return baseline;
        }
        String v = variant.get();
        int end = 1;
        while (end < v.length() && Character.isDigit(v.charAt(end))) {
            end++;
        }
        return end > 1 && v.startsWith("v") ? OptionalInt.of(Integer.parseInt(v.substring(1, end))) : OptionalInt.empty();
    }

    private static OptionalInt baseline(String normalizedArchitecture) {
        return switch (normalizedArchitecture) {
            case "amd64" -> OptionalInt.of(1);
            case "arm64" -> OptionalInt.of(8);
            case "arm" -> OptionalInt.of(7);
            default -> OptionalInt.empty();
        };
    }

    @Override
    public String toString() {
        return os + "/" + architecture + variant.map(v -> "/" + v).orElse("");
    }
}

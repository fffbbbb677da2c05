package dev.singlepull.cri.registry;

import dev.singlepull.content.Digest;
import dev.singlepull.errdefs.SinglepullException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A normalized image reference: {@code docker.io/library/redis:7}, {@code 127.0.0.1:5000/team/app@sha256:...}.
 * Parsing follows the distribution reference grammar and Docker's normalization: a first component without a dot, a
 * colon or the name {@code localhost} is a path on {@code docker.io}; a single path component there gets
 * {@code library/}; no tag and no digest means {@code :latest}. When both a tag and a digest are given, the digest
 * decides what is pulled and the tag is kept for display.
 *
 * @param domain     the registry's name as written in references ({@code docker.io}, {@code localhost:5000})
 * @param repository the path inside the registry ({@code library/redis})
 * @param tag        the tag, empty when the reference names only a digest
 * @param digest     the manifest digest, if given
 */
public record ImageRef(String domain, String repository, Optional<String> tag, Optional<Digest> digest) {
    public static final String DOCKER_HUB = "docker.io";

    private static final Pattern DOMAIN_COMPONENT =
            Pattern.compile("(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])");
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:" + DOMAIN_COMPONENT + "(?:\\." + DOMAIN_COMPONENT + ")*|\\[[0-9a-fA-F:.]+])(?::[0-9]+)?");
    private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    private static final int MAX_NAME_LENGTH = 255;

    /** Parses and normalizes {@code text}; INVALID_ARGUMENT with the reason if it is not a valid reference. */
    public static ImageRef parse(String text) {
        if (text == null || text.isBlank()) {
            throw SinglepullException.invalidArgument("image reference is empty");
        }
        String rest = text.strip();
        Optional<Digest> digest = Optional.empty();
        int at = rest.indexOf('@');
        if (at >= 0) {
            String digestText = rest.substring(at + 1);
            try {
                digest = Optional.of(Digest.parse(digestText));
            } catch (SinglepullException e) {
                throw invalid(text, "bad digest '" + digestText + "'");
            }
            rest = rest.substring(0, at);
        }
        Optional<String> tag = Optional.empty();
        int lastSlash = rest.lastIndexOf('/');
        int colon = rest.lastIndexOf(':');
        if (colon > lastSlash) {
            String tagText = rest.substring(colon + 1);
            if (!TAG.matcher(tagText).matches()) {
                throw invalid(text, "bad tag '" + tagText + "'");
            }
            tag = Optional.of(tagText);
            rest = rest.substring(0, colon);
        }
        if (rest.isEmpty()) {
            throw invalid(text, "no repository name");
        }
        String domain;
        String path;
        int firstSlash = rest.indexOf('/');
        String first = firstSlash < 0 ? rest : rest.substring(0, firstSlash);
        if (firstSlash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost")
                || !first.equals(first.toLowerCase(java.util.Locale.ROOT)))) {
            domain = first;
            path = rest.substring(firstSlash + 1);
            if (!DOMAIN.matcher(domain).matches()) {
                throw invalid(text, "bad registry host '" + domain + "'");
            }
        } else {
            domain = DOCKER_HUB;
            path = rest;
        }
        if (domain.equals("index.docker.io")) {
            domain = DOCKER_HUB;
        }
        if (domain.equals(DOCKER_HUB) && !path.contains("/")) {
            path = "library/" + path;
        }
        for (String component : path.split("/", -1)) {
            if (!PATH_COMPONENT.matcher(component).matches()) {
                String reason = component.equals(component.toLowerCase(java.util.Locale.ROOT))
                        ? "bad repository name component '" + component + "'"
                        : "repository name must be lowercase";
                throw invalid(text, reason);
            }
        }
        if (domain.length() + 1 + path.length() > MAX_NAME_LENGTH) {
            throw invalid(text, "repository name longer than " + MAX_NAME_LENGTH + " characters");
        }
        if (tag.isEmpty() && digest.isEmpty()) {
            tag = Optional.of("latest");
        }
        return new ImageRef(domain, path, tag, digest);
    }

    private static SinglepullException invalid(String text, String reason) {
        return SinglepullException.invalidArgument("invalid image reference '" + text + "': " + reason);
    }

    /** {@code domain/repository}, the name without tag or digest. */
    public String name() {
        return domain + "/" + repository;
    }

    /** The reference as normalized: {@code name:tag}, {@code name@digest}, or {@code name:tag@digest}. */
    public String canonical() {
        return name() + tag.map(t -> ":" + t).orElse("") + digest.map(d -> "@" + d).orElse("");
    }

    /** {@code name:tag}, present when a tag was given or implied. */
    public Optional<String> tagged() {
        return tag.map(t -> name() + ":" + t);
    }

    /** {@code name@digest} for the given manifest digest. */
    public String withDigest(Digest manifestDigest) {
        return name() + "@" + manifestDigest;
    }

    /** What to ask the registry's manifests endpoint for: the digest if given, else the tag. */
    public String manifestReference() {
        return digest.map(Digest::toString).orElseGet(tag::orElseThrow);
    }

    @Override
    public String toString() {
        return canonical();
    }
}

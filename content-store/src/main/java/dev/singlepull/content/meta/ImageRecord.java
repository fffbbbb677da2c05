package dev.singlepull.content.meta;

import dev.singlepull.content.Digest;
import java.time.Instant;

/**
 * A name that points at an image: {@code name} is a normalized reference (a tag, {@code repo:tag}, or a digest
 * reference, {@code repo@sha256:...}); several names may point at one image (same config digest).
 *
 * @param manifestDigest the platform manifest the name resolved to
 * @param configDigest   the image config, whose digest is the image id
 * @param size           compressed size: config plus layers
 */
public record ImageRecord(String name, Digest manifestDigest, Digest configDigest, long size, Instant created,
                          Instant updated) { }

/**
 * Duplicate suppression for blocking work. A {@link dev.singlepull.dedup.SingleFlight} forms a namespace in which
 * concurrent requests for one key share one execution of the work: the first caller starts it, later callers
 * join it, each caller holds its own handle and may leave without disturbing the others.
 */
package dev.singlepull.dedup;

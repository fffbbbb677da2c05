package dev.singlepull.dedup;

import java.time.Duration;

/**
 * One live flight, as a listing shows it.
 *
 * @param tier    the table it belongs to ("ref", "blob", "chain")
 * @param key     the key, as text
 * @param waiters callers currently waiting on it
 * @param progress its latest progress
 * @param age     how long ago the work was started
 */
public record FlightInfo(String tier, String key, int waiters, FlightProgress.Snapshot progress, Duration age) { }

/**
 * Snapshots: the {@link dev.singlepull.unpack.snapshot.Snapshotter} role and its directory implementation, one
 * directory per ChainID under the root, recorded in the metadata database.
 */
package dev.singlepull.unpack.snapshot;

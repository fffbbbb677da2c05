/**
 * Layers to snapshots. {@link dev.singlepull.unpack.Unpacker} unpacks each layer of an image at most once per
 * {@link dev.singlepull.unpack.ChainId}, however many pulls ask at once: chain flights deduplicate, the snapshotter
 * ({@code .snapshot}) keeps one directory per ChainID, and the tar side ({@code .tar}) decompresses and applies.
 */
package dev.singlepull.unpack;

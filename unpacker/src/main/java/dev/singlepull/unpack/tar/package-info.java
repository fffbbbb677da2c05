/**
 * Layer streams: {@link dev.singlepull.unpack.tar.Decompression} (gzip, zstd, none) and
 * {@link dev.singlepull.unpack.tar.LayerApplier} (a tar applied into one layer's own diff directory, with path
 * confinement).
 */
package dev.singlepull.unpack.tar;

/**
 * Layer streams and layer directories: {@link dev.singlepull.unpack.tar.Decompression} (gzip, zstd, none),
 * {@link dev.singlepull.unpack.tar.LayerApplier} (a tar applied into one layer's own diff directory in the overlay
 * convention, with path confinement; finished against the layers below when it links to or inherits from them), and
 * {@link dev.singlepull.unpack.tar.Flattener} (a stack of such directories written out as one plain root filesystem).
 * The POSIX calls the JDK lacks (mknod, mkfifo, chmod and utimensat without opening, the l*xattr family) are
 * Foreign Function &amp; Memory downcalls in one package-private class.
 */
package dev.singlepull.unpack.tar;

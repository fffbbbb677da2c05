package dev.singlepull.unpack.tar;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A layer whose tar has been applied into its directory but not finished. Finishing may need the layers below: a
 * hard link whose target is not in this layer is a hard link to a lower layer's file, which the overlay convention
 * can only hold by copying that file up into this layer; and a directory this layer created only because entries lie
 * in it (a parent the tar did not list) must show the lower layer's directory's owner, mode and times, as it would
 * after extracting the layers one over the other. Finishing then applies directory modes and times, deepest first.
 *
 * <p>Errors from {@link #finish}: INVALID_ARGUMENT naming the layer and the entry for a hard link whose target is in
 * no layer, or is a directory, or lies under a symlink; and for an entry under a directory this layer did not list
 * that is a symlink or a file in a lower layer (writing through a lower layer's symlink is refused). An
 * {@link IOException} for file-system failures. For one thread; finish once.
 */
public interface AppliedLayer {

    /** True if {@link #finish} needs the layer directories below this one. */
    boolean needsLowerLayers();

    /**
     * Finishes the layer.
     *
     * @param lowerLayers the committed layer directories below this one, the nearest first (empty for a bottom
     *                    layer, or when {@link #needsLowerLayers()} is false)
     */
    ApplyStats finish(List<Path> lowerLayers) throws IOException;
}

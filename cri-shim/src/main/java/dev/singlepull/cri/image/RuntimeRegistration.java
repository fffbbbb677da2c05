package dev.singlepull.cri.image;

import dev.singlepull.content.Digest;
import dev.singlepull.cri.pull.PulledImage;
import java.util.List;

/**
 * Makes the images singlepull pulls known to a container runtime, so that it runs containers from singlepull's
 * layers. {@link #NONE} when no runtime is configured.
 */
public interface RuntimeRegistration {
    /** Registers {@code image} (every name pointing at it) before returning; UNAVAILABLE when the runtime is down. */
    void register(PulledImage image);

    /** Removes the runtime's records of {@code names} (and of the image id); the runtime's absence is only logged. */
    void unregister(Digest imageId, List<String> names);

    /** No runtime: nothing to register. */
    RuntimeRegistration NONE = new RuntimeRegistration() {
        @Override
        public void register(PulledImage image) {
        }

        @Override
        public void unregister(Digest imageId, List<String> names) {
        }
    };
}

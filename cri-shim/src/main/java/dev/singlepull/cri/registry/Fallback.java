package dev.singlepull.cri.registry;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Tries a registry's endpoints in order until one succeeds: any failure of a mirror (unreachable, 5xx, 404, refused,
 * bad content) moves on to the next endpoint, the registry itself last. The registry's own failure is thrown, with
 * what the mirrors said appended; a cancellation is thrown at once. Stateless.
 */
final class Fallback {
    private Fallback() {
    }

    static <T> T first(List<Endpoint> endpoints, Function<Endpoint, T> attempt, RegistryListener listener) {
        List<String> mirrorFailures = new ArrayList<>();
        for (int i = 0; ; i++) {
            Endpoint endpoint = endpoints.get(i);
            try {
                return attempt.apply(endpoint);
            } catch (SinglepullException e) {
                boolean last = i == endpoints.size() - 1;
                if (last || e.kind() == ErrorKind.CANCELLED) {
                    if (mirrorFailures.isEmpty()) {
                        throw e;
                    }
                    throw new SinglepullException(e.kind(), e.getMessage() + " (mirrors failed first: "
                            + String.join("; ", mirrorFailures) + ")", e);
                }
                mirrorFailures.add(endpoint.base() + ": " + e.getMessage());
                listener.fellBack(endpoint.authority());
            }
        }
    }
}

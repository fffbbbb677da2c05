package dev.singlepull.cri.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Maps a registry's error response (status and distribution error codes) to a singlepull error. */
final class RegistryErrors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RegistryErrors() {
    }

    /**
     * @param what what was asked for, for the message ("manifest of docker.io/library/redis:7")
     * @param host the registry host
     */
    static SinglepullException fromResponse(int status, byte[] body, String what, String host) {
        List<String> codes = codes(body);
        String detail = codes.isEmpty() ? "HTTP " + status : "HTTP " + status + " " + String.join(", ", codes);
        ErrorKind kind = switch (status) {
            case 400 -> ErrorKind.INVALID_ARGUMENT;
            case 401 -> ErrorKind.UNAUTHENTICATED;
            case 403 -> ErrorKind.PERMISSION_DENIED;
            case 404 -> ErrorKind.NOT_FOUND;
            case 416 -> ErrorKind.FAILED_PRECONDITION;
            case 429 -> ErrorKind.UNAVAILABLE;
            default -> status >= 500 ? ErrorKind.UNAVAILABLE : ErrorKind.FAILED_PRECONDITION;
        };
        if (codes.contains("DENIED")) {
            kind = ErrorKind.PERMISSION_DENIED;
        }
        if (codes.contains("UNAUTHORIZED")) {
            kind = ErrorKind.UNAUTHENTICATED;
        }
        String verb = switch (kind) {
            case NOT_FOUND -> "not found";
            case UNAUTHENTICATED -> "authentication required or refused";
            case PERMISSION_DENIED -> "access denied";
            case UNAVAILABLE -> "registry unavailable";
            default -> "request failed";
        };
        return new SinglepullException(kind, what + ": " + verb + " (" + detail + " from " + host + ")");
    }

    private static List<String> codes(byte[] body) {
        List<String> codes = new ArrayList<>();
        if (body == null || body.length == 0) {
            return codes;
        }
        try {
            JsonNode root = JSON.readTree(body);
            if (root != null) {
                root.path("errors").forEach(e -> {
                    String code = e.path("code").asText("");
                    if (!code.isEmpty()) {
                        codes.add(code);
                    }
                });
            }
        } catch (IOException ignored) {
            // not a distribution error body; the status alone says enough
        }
        return codes;
    }
}

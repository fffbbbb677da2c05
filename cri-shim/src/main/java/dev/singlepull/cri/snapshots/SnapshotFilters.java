package dev.singlepull.cri.snapshots;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * containerd's filter expressions over snapshots, as its List call sends them: a filter is a comma-separated
 * conjunction of {@code FIELD==VALUE}, {@code FIELD!=VALUE}, {@code FIELD~=REGEX} or a bare {@code FIELD} (present
 * and not empty), where FIELD is {@code name}, {@code parent}, {@code kind} or {@code labels.KEY} (a key with dots is
 * quoted: {@code labels."containerd.io/snapshot.ref"}) and a VALUE may be quoted. A snapshot matches a list of filters
 * when it matches any of them. A filter this class cannot read matches everything: the caller re-checks what it is
 * given (containerd does), so listing too much is safe where listing too little would not be.
 */
public final class SnapshotFilters {
    private SnapshotFilters() {
    }

    /** The disjunction of {@code filters}; everything for an empty list. */
    public static Predicate<SnapshotEntry> anyOf(List<String> filters) {
        if (filters.isEmpty()) {
            return e -> true;
        }
        List<Predicate<SnapshotEntry>> each = new ArrayList<>();
        for (String filter : filters) {
            each.add(parse(filter));
        }
        return e -> each.stream().anyMatch(p -> p.test(e));
    }

    /** One filter; a predicate matching everything if it cannot be read. */
    static Predicate<SnapshotEntry> parse(String filter) {
        try {
            Predicate<SnapshotEntry> all = e -> true;
            for (String term : split(filter, ',')) {
                if (!term.isBlank()) {
                    all = all.and(term(term.strip()));
                }
            }
            return all;
        } catch (IllegalArgumentException e) {
            return x -> true;
        }
    }

    private static Predicate<SnapshotEntry> term(String term) {
        int at = operatorAt(term);
        if (at < 0) {
            List<String> field = fieldPath(term);
            return e -> {
                String v = value(e, field);
                return v != null && !v.isEmpty();
            };
        }
        String op = term.substring(at, at + 2);
        List<String> field = fieldPath(term.substring(0, at).strip());
        String wanted = unquote(term.substring(at + 2).strip());
        return switch (op) {
            case "==" -> e -> wanted.equals(valueOrEmpty(e, field));
            case "!=" -> e -> !wanted.equals(valueOrEmpty(e, field));
            default -> {
                Pattern pattern;
                try {
                    pattern = Pattern.compile(wanted);
                } catch (PatternSyntaxException bad) {
                    throw new IllegalArgumentException(bad);
                }
                yield e -> pattern.matcher(valueOrEmpty(e, field)).find();
            }
        };
    }

    private static String valueOrEmpty(SnapshotEntry e, List<String> field) {
        String v = value(e, field);
        return v == null ? "" : v;
    }

    private static String value(SnapshotEntry e, List<String> field) {
        return switch (field.getFirst()) {
            case "name" -> field.size() == 1 ? e.name() : null;
            case "parent" -> field.size() == 1 ? (e.parent() == null ? "" : e.parent()) : null;
            case "kind" -> field.size() == 1 ? kindName(e) : null;
            case "labels" -> field.size() == 2 ? e.labels().get(field.get(1)) : null;
            default -> throw new IllegalArgumentException("unknown field " + field);
        };
    }

    /** containerd's names of kinds in filters: {@code active}, {@code view}, {@code committed}. */
    private static String kindName(SnapshotEntry e) {
        return e.kind().dbName();
    }

    /** The position of the first operator outside quotes, or -1. */
    private static int operatorAt(String term) {
        boolean quoted = false;
        for (int i = 0; i + 1 < term.length(); i++) {
            char c = term.charAt(i);
            if (c == '\\' && quoted) {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && term.charAt(i + 1) == '=' && (c == '=' || c == '!' || c == '~')) {
                return i;
            }
        }
        return -1;
    }

    private static List<String> fieldPath(String text) {
        List<String> out = new ArrayList<>();
        for (String part : split(text, '.')) {
            out.add(unquote(part.strip()));
        }
        boolean known = switch (out.getFirst()) {
            case "name", "parent", "kind" -> out.size() == 1;
            case "labels" -> out.size() == 2;
            default -> false;
        };
        if (!known) {
            throw new IllegalArgumentException("unknown field " + text);
        }
        return out;
    }

    /** {@code text} split at {@code sep} outside double quotes. */
    private static List<String> split(String text, char sep) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && quoted && i + 1 < text.length()) {
                current.append(c).append(text.charAt(++i));
                continue;
            }
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == sep && !quoted) {
                out.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("unbalanced quote in " + text);
        }
        out.add(current.toString());
        return out;
    }

    private static String unquote(String s) {
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) {
            StringBuilder out = new StringBuilder();
            for (int i = 1; i < s.length() - 1; i++) {
                char c = s.charAt(i);
                if (c == '\\' && i + 1 < s.length() - 1) {
                    c = s.charAt(++i);
                }
                out.append(c);
            }
            return out.toString();
        }
        return s;
    }
}

package io.koperator.standin;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Query parameters of one request. Names are case-insensitive and unknown names are refused
 * with 400, as Cruise Control does, so a client's typo fails loudly instead of being ignored.
 */
public final class Params {
    /** A request Cruise Control would answer 400: bad or missing parameters. */
    public static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;

        public BadRequest(String message) {
            super(message);
        }
    }

    private final Map<String, String> values = new LinkedHashMap<>();

    public static Params parse(String rawQuery) {
        Params params = new Params();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            String name = decode(equals < 0 ? pair : pair.substring(0, equals));
            String value = equals < 0 ? "" : decode(pair.substring(equals + 1));
            params.values.put(name.toLowerCase(), value);
        }
        return params;
    }

    private static String decode(String text) {
        return URLDecoder.decode(text, StandardCharsets.UTF_8);
    }

    public void allowOnly(Set<String> allowed) throws BadRequest {
        SortedSet<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(allowed);
        if (!unknown.isEmpty()) {
            throw new BadRequest("Unrecognized endpoint parameters " + unknown + ", supported parameters: "
                    + new TreeSet<>(allowed) + ".");
        }
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public boolean bool(String name, boolean fallback) throws BadRequest {
        String value = values.get(name);
        if (value == null) {
            return fallback;
        }
        if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(value);
        }
        throw new BadRequest("Parameter " + name + " must be true or false, not '" + value + "'.");
    }

    /** A positive number, or 0 when absent. */
    public long positiveLong(String name) throws BadRequest {
        String value = values.get(name);
        if (value == null) {
            return 0;
        }
        try {
            long number = Long.parseLong(value.trim());
            if (number > 0) {
                return number;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new BadRequest("Parameter " + name + " must be a positive number, not '" + value + "'.");
    }

    /** Comma-separated values, trimmed, empty ones dropped. */
    public SortedSet<String> list(String name) {
        SortedSet<String> items = new TreeSet<>();
        for (String item : values.getOrDefault(name, "").split(",")) {
            if (!item.isBlank()) {
                items.add(item.trim());
            }
        }
        return items;
    }

    /** Comma-separated broker ids; `required` refuses an absent or empty list. */
    public SortedSet<Integer> brokerIds(String name, boolean required) throws BadRequest {
        SortedSet<Integer> ids = new TreeSet<>();
        for (String item : list(name)) {
            try {
                ids.add(Integer.parseInt(item));
            } catch (NumberFormatException e) {
                throw new BadRequest("Parameter " + name + " must list broker ids, not '" + item + "'.");
            }
        }
        if (required && ids.isEmpty()) {
            throw new BadRequest("Parameter " + name + " is required (comma-separated broker ids).");
        }
        return ids;
    }

    /** The excluded_topics regex as a topic filter; no parameter excludes nothing. */
    public Predicate<String> topicFilter(String name) throws BadRequest {
        String regex = values.get(name);
        if (regex == null || regex.isEmpty()) {
            return topic -> false;
        }
        try {
            Pattern pattern = Pattern.compile(regex);
            return topic -> pattern.matcher(topic).matches();
        } catch (PatternSyntaxException e) {
            throw new BadRequest("Parameter " + name + " is not a valid regex: " + e.getDescription());
        }
    }

    /** brokerid_and_logdirs=1-/kafka-logs2/kafka,2-/x: log dirs per broker. */
    public SortedMap<Integer, SortedSet<String>> brokerLogDirs(String name) throws BadRequest {
        SortedMap<Integer, SortedSet<String>> result = new TreeMap<>();
        for (String item : list(name)) {
            int dash = item.indexOf('-');
            try {
                int broker = Integer.parseInt(item.substring(0, Math.max(dash, 0)));
                String dir = item.substring(dash + 1);
                if (dir.isEmpty()) {
                    throw new NumberFormatException();
                }
                result.computeIfAbsent(broker, b -> new TreeSet<>()).add(dir);
            } catch (NumberFormatException e) {
                throw new BadRequest("Parameter " + name + " must list brokerId-logDir pairs, not '" + item + "'.");
            }
        }
        if (result.isEmpty()) {
            throw new BadRequest("Parameter " + name + " is required (e.g. 1-/kafka-logs2/kafka,2-/kafka-logs3/kafka).");
        }
        return result;
    }
}

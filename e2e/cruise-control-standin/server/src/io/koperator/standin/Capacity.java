package io.koperator.standin;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Broker capacities from capacity.json (the file Koperator writes next to
 * cruisecontrol.properties), used only to report DiskPct and the capacity fields of the load
 * endpoint. Re-read on every request; a missing or unreadable file means "unknown".
 */
public record Capacity(Map<Integer, Broker> brokers) {
    /** Capacities of one broker: disk in MB, network in KB/s, CPU in cores (as in capacity.json). */
    public record Broker(double diskMB, double networkInKBps, double networkOutKBps, double cpu) {}

    private static final Broker UNKNOWN = new Broker(-1, -1, -1, -1);

    public static Capacity read(Path configDir) {
        Map<Integer, Broker> brokers = new HashMap<>();
        Path file = configDir.resolve("capacity.json");
        try {
            JsonNode root = Json.mapper().readTree(Files.readString(file));
            for (JsonNode entry : root.path("brokerCapacities")) {
                JsonNode capacity = entry.path("capacity");
                brokers.put(Integer.parseInt(entry.path("brokerId").asText("-1").trim()), new Broker(
                        sum(capacity.path("DISK")), sum(capacity.path("NW_IN")), sum(capacity.path("NW_OUT")),
                        cpu(capacity.path("CPU"))));
            }
        } catch (Exception unreadable) {
            // No capacity.json (a hand-written test ConfigMap) or not the expected shape.
        }
        return new Capacity(brokers);
    }

    /** The broker's own entry, else the -1 default entry, else unknown (-1 everywhere). */
    public Broker of(int broker) {
        return brokers.getOrDefault(broker, brokers.getOrDefault(-1, UNKNOWN));
    }

    /** A number, a numeric string, or an object of them (DISK per log dir): their sum. */
    private static double sum(JsonNode node) {
        if (node.isObject()) {
            double total = 0;
            for (Iterator<JsonNode> values = node.elements(); values.hasNext(); ) {
                total += Math.max(0, sum(values.next()));
            }
            return total;
        }
        String text = node.asText("").trim();
        return text.isEmpty() ? -1 : Double.parseDouble(text);
    }

    /** CPU is a percentage-style number or {"num.cores": "N"}. */
    private static double cpu(JsonNode node) {
        return node.isObject() ? sum(node.path("num.cores")) : sum(node);
    }
}

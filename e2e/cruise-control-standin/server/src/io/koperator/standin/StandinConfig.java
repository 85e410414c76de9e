package io.koperator.standin;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * What the stand-in takes from cruisecontrol.properties. Every property the AdminClient knows
 * (bootstrap.servers, security.protocol, ssl.*, sasl.*, request.timeout.ms...) goes to it
 * unchanged, so a secured cluster works with the config Koperator writes for the real one, and
 * so do the config providers ({@code config.providers} and {@code config.providers.*}): the
 * AdminClient resolves {@code ${provider:path:key}} values itself, which is how the operator
 * hands over a PEM key without writing it into the ConfigMap.
 *
 * @param configDir the directory of cruisecontrol.properties (capacity.json lives next to it)
 * @param urlPrefix path prefix of every endpoint, from webserver.api.urlprefix
 * @param maxBlock how long a request waits for its answer before it gets 202 + progress
 * @param pollInterval how often a running execution asks Kafka for progress
 */
public record StandinConfig(
        Path configDir,
        String address,
        int port,
        String urlPrefix,
        Duration maxBlock,
        Duration pollInterval,
        Properties admin,
        List<String> defaultGoals,
        int numWindows) {

    static final String CONFIG_PROVIDERS = "config.providers";

    /** Cruise Control's default goals, reported as ready when the config names none. */
    static final List<String> DEFAULT_GOALS = List.of("RackAwareGoal", "ReplicaCapacityGoal", "DiskCapacityGoal",
            "NetworkInboundCapacityGoal", "NetworkOutboundCapacityGoal", "CpuCapacityGoal",
            "ReplicaDistributionGoal", "DiskUsageDistributionGoal", "NetworkInboundUsageDistributionGoal",
            "NetworkOutboundUsageDistributionGoal", "CpuUsageDistributionGoal", "TopicReplicaDistributionGoal",
            "LeaderReplicaDistributionGoal", "LeaderBytesInDistributionGoal", "PreferredLeaderElectionGoal");

    /**
     * @param port the start script's port argument, which wins over webserver.http.port as in
     *     Cruise Control; 0 when absent
     */
    public static StandinConfig load(Path file, int port) throws IOException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        Properties admin = new Properties();
        Set<String> adminNames = AdminClientConfig.configNames();
        for (String name : new TreeSet<>(properties.stringPropertyNames())) {
            if (adminNames.contains(name) || name.equals(CONFIG_PROVIDERS) || name.startsWith(CONFIG_PROVIDERS + ".")) {
                admin.setProperty(name, properties.getProperty(name).trim());
            }
        }
        admin.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "cruise-control-standin");
        String prefix = properties.getProperty("webserver.api.urlprefix", "/kafkacruisecontrol/*").trim();
        prefix = prefix.endsWith("*") ? prefix.substring(0, prefix.length() - 1) : prefix;
        prefix = prefix.endsWith("/") ? prefix : prefix + "/";
        return new StandinConfig(
                file.toAbsolutePath().getParent(),
                // Cruise Control's default is 127.0.0.1; a pod must listen on its own address.
                properties.getProperty("webserver.http.address", "0.0.0.0").trim(),
                port > 0 ? port : Integer.parseInt(properties.getProperty("webserver.http.port", "8090").trim()),
                prefix,
                Duration.ofMillis(Long.parseLong(
                        properties.getProperty("webserver.request.maxBlockTimeMs", "10000").trim())),
                Duration.ofMillis(Long.parseLong(
                        properties.getProperty("execution.progress.check.interval.ms", "1000").trim())),
                admin,
                goals(properties.getProperty("default.goals", properties.getProperty("goals", ""))),
                Integer.parseInt(properties.getProperty("num.partition.metrics.windows", "5").trim()));
    }

    /** Simple class names of a comma-separated goal list. */
    private static List<String> goals(String classes) {
        List<String> goals = new ArrayList<>();
        for (String name : classes.split(",")) {
            String trimmed = name.trim();
            if (!trimmed.isEmpty()) {
                goals.add(trimmed.substring(trimmed.lastIndexOf('.') + 1));
            }
        }
        return goals.isEmpty() ? DEFAULT_GOALS : goals;
    }

    /** The AdminClient settings, passwords masked, for the start-up log line. */
    public String adminSummary() {
        List<String> entries = new ArrayList<>();
        for (String name : new TreeSet<>(admin.stringPropertyNames())) {
            boolean secret = name.contains("password") || name.contains("jaas") || name.equals("ssl.keystore.key");
            entries.add(name + "=" + (secret ? "[hidden]" : admin.getProperty(name)));
        }
        return String.join(", ", entries);
    }
}

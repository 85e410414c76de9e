package io.koperator.standin;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** The endpoints the stand-in serves, with the parameters Cruise Control accepts for each. */
public enum Endpoint {
    STATE("GET", "State", List.of("substates", "super_verbose")),
    LOAD("GET", "Load", List.of("time", "start", "end", "allow_capacity_estimation", "populate_disk_info",
            "capacity_only", "brokerid")),
    KAFKA_CLUSTER_STATE("GET", "Kafka cluster state", List.of("topic")),
    USER_TASKS("GET", "User tasks", List.of("user_task_ids", "client_ids", "endpoints", "entries", "types",
            "fetch_completed_task")),
    ADD_BROKER("POST", "Add brokers", optimization("brokerid", "throttle_added_broker")),
    REMOVE_BROKER("POST", "Remove brokers", optimization("brokerid", "throttle_removed_broker",
            "destination_broker_ids")),
    REBALANCE("POST", "Rebalance", optimization("destination_broker_ids", "rebalance_disk",
            "intra_broker_replication_throttle", "concurrent_intra_broker_partition_movements")),
    REMOVE_DISKS("POST", "Remove disks", List.of("brokerid_and_logdirs", "dryrun", "stop_ongoing_execution")),
    STOP_PROPOSAL_EXECUTION("POST", "Stop proposal execution", List.of("force_stop", "stop_external_agent",
            "review_id"));

    /** Cruise Control endpoints the stand-in does not implement: 501, not 404. */
    static final Set<String> NOT_IMPLEMENTED = Set.of("bootstrap", "train", "proposals", "partition_load",
            "review_board", "permissions", "demote_broker", "fix_offline_replicas", "pause_sampling",
            "resume_sampling", "topic_configuration", "admin", "review", "rightsize");

    private final String method;
    private final String operation;
    private final Set<String> params = new HashSet<>();

    Endpoint(String method, String operation, List<String> params) {
        this.method = method;
        this.operation = operation;
        // Accepted by every endpoint (an enum constructor cannot read the enum's static fields).
        this.params.addAll(List.of("json", "verbose", "reason", "get_response_schema", "doas"));
        this.params.addAll(params);
    }

    /** Parameters of the endpoints that compute an optimization proposal. */
    private static List<String> optimization(String... specific) {
        List<String> names = new java.util.ArrayList<>(List.of("dryrun", "goals", "allow_capacity_estimation",
                "concurrent_partition_movements_per_broker", "max_partition_movements_in_cluster",
                "concurrent_leader_movements", "broker_concurrent_leader_movements", "skip_hard_goal_check",
                "excluded_topics", "kafka_assigner", "use_ready_default_goals", "exclude_recently_demoted_brokers",
                "exclude_recently_removed_brokers", "replica_movement_strategies", "ignore_proposal_cache",
                "execution_progress_check_interval_ms", "stop_ongoing_execution", "review_id", "data_from",
                "replication_throttle", "fast_mode"));
        names.addAll(List.of(specific));
        return names;
    }

    public String method() {
        return method;
    }

    /** Cruise Control's name for the operation, shown in progress answers. */
    public String operation() {
        return operation;
    }

    public Set<String> params() {
        return params;
    }

    public String path() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Endpoint names are case-insensitive in Cruise Control. */
    public static Optional<Endpoint> byPath(String path) {
        for (Endpoint endpoint : values()) {
            if (endpoint.path().equalsIgnoreCase(path)) {
                return Optional.of(endpoint);
            }
        }
        return Optional.empty();
    }
}

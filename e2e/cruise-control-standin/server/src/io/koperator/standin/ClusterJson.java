package io.koperator.standin;

import io.koperator.standin.Cluster.Broker;
import io.koperator.standin.Cluster.LogDir;
import io.koperator.standin.Cluster.Partition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;

/**
 * The answers of the GET endpoints that describe the cluster (state, kafka_cluster_state,
 * load), with Cruise Control's field names. Network and CPU figures are 0: the stand-in
 * collects no metrics.
 */
public final class ClusterJson {
    private ClusterJson() {}

    /** MonitorState: always RUNNING with full coverage, since nothing is sampled or trained. */
    public static Map<String, Object> monitorState(Cluster cluster, int windows) {
        Map<String, Object> monitor = new LinkedHashMap<>();
        monitor.put("state", "RUNNING");
        monitor.put("trainingPct", 100.0);
        monitor.put("trained", true);
        monitor.put("numFlawedPartitions", 0);
        monitor.put("numValidPartitions", cluster.partitions().size());
        monitor.put("numTotalPartitions", cluster.partitions().size());
        monitor.put("monitoringCoveragePct", 100.0);
        monitor.put("numMonitoredWindows", windows);
        monitor.put("bootstrapProgressPct", 100.0);
        return monitor;
    }

    public static Map<String, Object> analyzerState(List<String> goals) {
        Map<String, Object> analyzer = new LinkedHashMap<>();
        analyzer.put("isProposalReady", true);
        analyzer.put("readyGoals", goals);
        return analyzer;
    }

    /** Self-healing is never enabled: the stand-in detects no anomalies. */
    public static Map<String, Object> anomalyDetectorState(Cluster cluster) {
        Map<String, Object> detector = new LinkedHashMap<>();
        detector.put("selfHealingEnabled", List.of());
        detector.put("selfHealingDisabled", List.of("BROKER_FAILURE", "DISK_FAILURE", "GOAL_VIOLATION",
                "METRIC_ANOMALY", "TOPIC_ANOMALY", "MAINTENANCE_EVENT"));
        detector.put("recentGoalViolations", List.of());
        detector.put("recentBrokerFailures", List.of());
        detector.put("recentMetricAnomalies", List.of());
        detector.put("recentDiskFailures", List.of());
        detector.put("recentTopicAnomalies", List.of());
        detector.put("recentMaintenanceEvents", List.of());
        detector.put("ongoingSelfHealingAnomaly", "None");
        SortedMap<Integer, Integer> counts = cluster.replicaCounts();
        counts.keySet().retainAll(cluster.aliveBrokers().keySet());
        detector.put("balancednessScore", Proposal.balancedness(counts.values()));
        return detector;
    }

    public static Map<String, Object> kafkaClusterState(Cluster cluster, boolean verbose, String topicRegex) {
        SortedMap<String, Object> replicas = new TreeMap<>();
        SortedMap<String, Object> leaders = new TreeMap<>();
        SortedMap<String, Object> outOfSync = new TreeMap<>();
        SortedMap<String, Object> offlineReplicas = new TreeMap<>();
        SortedMap<String, Object> isController = new TreeMap<>();
        SortedMap<String, Object> onlineDirs = new TreeMap<>();
        SortedMap<String, Object> offlineDirs = new TreeMap<>();
        cluster.replicaCounts().forEach((id, n) -> replicas.put(id.toString(), n));
        cluster.leaderCounts().forEach((id, n) -> leaders.put(id.toString(), n));
        for (int id : cluster.aliveBrokers().keySet()) {
            isController.put(Integer.toString(id), id == cluster.controllerId());
            List<String> online = new ArrayList<>();
            List<String> offline = new ArrayList<>();
            for (LogDir dir : cluster.logDirs().getOrDefault(id, List.of())) {
                (dir.online() ? online : offline).add(dir.path());
            }
            onlineDirs.put(Integer.toString(id), online);
            offlineDirs.put(Integer.toString(id), offline);
        }
        List<Object> offlinePartitions = new ArrayList<>();
        List<Object> urp = new ArrayList<>();
        List<Object> withOfflineReplicas = new ArrayList<>();
        List<Object> other = new ArrayList<>();
        for (Partition partition : cluster.partitions()) {
            if (!topicRegex.isEmpty() && !partition.tp().topic().matches(topicRegex)) {
                continue;
            }
            List<Integer> notInSync = partition.replicas().stream().filter(r -> !partition.isr().contains(r)).toList();
            List<Integer> offline = partition.replicas().stream().filter(r -> !cluster.isAlive(r)).toList();
            notInSync.forEach(r -> outOfSync.merge(r.toString(), 1, (a, b) -> (Integer) a + (Integer) b));
            offline.forEach(r -> offlineReplicas.merge(r.toString(), 1, (a, b) -> (Integer) a + (Integer) b));
            Map<String, Object> entry = partitionEntry(partition, notInSync, offline);
            if (partition.leader() < 0) {
                offlinePartitions.add(entry);
            } else if (!offline.isEmpty()) {
                withOfflineReplicas.add(entry);
            } else if (!notInSync.isEmpty()) {
                urp.add(entry);
            } else if (verbose) {
                other.add(entry);
            }
        }
        Map<String, Object> brokers = new LinkedHashMap<>();
        brokers.put("LeaderCountByBrokerId", leaders);
        brokers.put("OutOfSyncCountByBrokerId", outOfSync);
        brokers.put("ReplicaCountByBrokerId", replicas);
        brokers.put("OfflineReplicaCountByBrokerId", offlineReplicas);
        brokers.put("IsController", isController);
        brokers.put("OnlineLogDirsByBrokerId", onlineDirs);
        brokers.put("OfflineLogDirsByBrokerId", offlineDirs);
        Map<String, Object> partitions = new LinkedHashMap<>();
        partitions.put("offline", offlinePartitions);
        partitions.put("with-offline-replicas", withOfflineReplicas);
        partitions.put("urp", urp);
        // min.insync.replicas is a per-topic config the stand-in does not read.
        partitions.put("under-min-isr", List.of());
        if (verbose) {
            partitions.put("other", other);
        }
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("KafkaBrokerState", brokers);
        state.put("KafkaPartitionState", partitions);
        state.put("version", 1);
        return state;
    }

    private static Map<String, Object> partitionEntry(Partition p, List<Integer> notInSync, List<Integer> offline) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("topic", p.tp().topic());
        entry.put("partition", p.tp().partition());
        entry.put("leader", p.leader());
        entry.put("replicas", p.replicas());
        entry.put("in-sync", p.isr());
        entry.put("out-of-sync", notInSync);
        entry.put("offline", offline);
        return entry;
    }

    /** load: one entry per alive broker (ALIVE) and per broker holding replicas while gone (DEAD). */
    public static Map<String, Object> load(Cluster cluster, Capacity capacity, boolean diskInfo) {
        SortedMap<Integer, Integer> replicas = cluster.replicaCounts();
        SortedMap<Integer, Integer> leaders = cluster.leaderCounts();
        SortedSet<Integer> dead = cluster.deadBrokers();
        List<Object> brokers = new ArrayList<>();
        Map<String, Map<String, Object>> hosts = new TreeMap<>();
        for (int id : replicas.keySet()) {
            Broker broker = cluster.aliveBrokers().getOrDefault(id, new Broker(id, "", ""));
            List<LogDir> dirs = cluster.logDirs().getOrDefault(id, List.of());
            double diskMB = dirs.stream().flatMap(d -> d.replicaBytes().values().stream()).mapToLong(Long::longValue)
                    .sum() / (double) Proposal.MB;
            Capacity.Broker configured = capacity.of(id);
            long reportedBytes = dirs.stream().mapToLong(LogDir::totalBytes).filter(b -> b > 0).sum();
            double capacityMB = configured.diskMB() > 0 ? configured.diskMB() : reportedBytes / (double) Proposal.MB;
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("Broker", id);
            entry.put("BrokerState", dead.contains(id) ? "DEAD" : "ALIVE");
            entry.put("Host", broker.host());
            entry.put("Rack", broker.rack());
            entry.put("Replicas", replicas.get(id));
            entry.put("Leaders", leaders.getOrDefault(id, 0));
            entry.put("DiskMB", diskMB);
            entry.put("DiskPct", capacityMB > 0 ? 100.0 * diskMB / capacityMB : 0.0);
            entry.put("CpuPct", 0.0);
            entry.put("LeaderNwInRate", 0.0);
            entry.put("FollowerNwInRate", 0.0);
            entry.put("NwInRate", 0.0);
            entry.put("NwOutRate", 0.0);
            entry.put("PnwOutRate", 0.0);
            entry.put("DiskCapacityMB", capacityMB);
            entry.put("NetworkInCapacity", configured.networkInKBps());
            entry.put("NetworkOutCapacity", configured.networkOutKBps());
            entry.put("NumCore", configured.cpu());
            if (diskInfo) {
                Map<String, Object> disks = new TreeMap<>();
                for (LogDir dir : dirs) {
                    Map<String, Object> disk = new LinkedHashMap<>();
                    disk.put("DiskMB", dir.replicaBytes().values().stream().mapToLong(Long::longValue).sum()
                            / (double) Proposal.MB);
                    disk.put("DiskCapacityMB", dir.totalBytes() > 0 ? dir.totalBytes() / (double) Proposal.MB : -1.0);
                    disk.put("NumReplicas", dir.replicaBytes().size());
                    disk.put("NumLeaderReplicas", dir.replicaBytes().keySet().stream()
                            .filter(tp -> cluster.partitions().stream()
                                    .anyMatch(p -> p.tp().equals(tp) && p.leader() == id))
                            .count());
                    disk.put("online", dir.online());
                    disks.put(dir.path(), disk);
                }
                entry.put("DiskState", disks);
            }
            brokers.add(entry);
            Map<String, Object> host = hosts.computeIfAbsent(broker.host(), h -> newHost(h, broker.rack()));
            host.merge("NumBrokers", 1, (a, b) -> (Integer) a + (Integer) b);
            host.merge("Replicas", replicas.get(id), (a, b) -> (Integer) a + (Integer) b);
            host.merge("Leaders", leaders.getOrDefault(id, 0), (a, b) -> (Integer) a + (Integer) b);
            host.merge("DiskMB", diskMB, (a, b) -> (Double) a + (Double) b);
        }
        Map<String, Object> load = new LinkedHashMap<>();
        load.put("hosts", new ArrayList<>(hosts.values()));
        load.put("brokers", brokers);
        load.put("version", 1);
        return load;
    }

    private static Map<String, Object> newHost(String name, String rack) {
        Map<String, Object> host = new LinkedHashMap<>();
        host.put("Host", name);
        host.put("Rack", rack);
        host.put("NumBrokers", 0);
        host.put("Replicas", 0);
        host.put("Leaders", 0);
        host.put("DiskMB", 0.0);
        host.put("CpuPct", 0.0);
        host.put("NwInRate", 0.0);
        host.put("NwOutRate", 0.0);
        return host;
    }
}

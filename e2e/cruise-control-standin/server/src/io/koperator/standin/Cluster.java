package io.koperator.standin;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One look at the Kafka cluster: brokers, partitions, log dirs and running reassignments, read
 * together so that a plan or an answer never mixes two moments. Immutable; the planner copies
 * what it changes.
 */
public final class Cluster {

    /** A partition; ordered by topic then partition so every plan is deterministic. */
    public record Tp(String topic, int partition) implements Comparable<Tp> {
        @Override
        public int compareTo(Tp other) {
            int byTopic = topic.compareTo(other.topic);
            return byTopic != 0 ? byTopic : Integer.compare(partition, other.partition);
        }

        @Override
        public String toString() {
            return topic + "-" + partition;
        }
    }

    public record Broker(int id, String host, String rack) {}

    /** Replicas in Kafka's order: the first one is the preferred leader. Leader -1 = offline. */
    public record Partition(Tp tp, List<Integer> replicas, int leader, List<Integer> isr) {}

    /**
     * A broker's log dir. Offline dirs (Kafka reports an error for them) carry no replicas.
     * Capacity is what the broker reports (KRaft brokers do, since Kafka 3.3), -1 if unknown.
     */
    public record LogDir(String path, boolean online, SortedMap<Tp, Long> replicaBytes, long totalBytes) {}

    private final SortedMap<Integer, Broker> aliveBrokers;
    private final int controllerId;
    private final List<Partition> partitions;
    private final SortedMap<Integer, List<LogDir>> logDirs;
    private final Set<Tp> reassigning;
    private final Map<Tp, Long> partitionBytes = new TreeMap<>();

    public Cluster(
            SortedMap<Integer, Broker> aliveBrokers,
            int controllerId,
            List<Partition> partitions,
            SortedMap<Integer, List<LogDir>> logDirs,
            Set<Tp> reassigning) {
        this.aliveBrokers = Collections.unmodifiableSortedMap(new TreeMap<>(aliveBrokers));
        this.controllerId = controllerId;
        this.partitions = partitions.stream().sorted((a, b) -> a.tp().compareTo(b.tp())).toList();
        this.logDirs = Collections.unmodifiableSortedMap(new TreeMap<>(logDirs));
        this.reassigning = Collections.unmodifiableSet(new TreeSet<>(reassigning));
        // A partition's size is its largest replica: a follower still catching up is smaller.
        for (List<LogDir> dirs : logDirs.values()) {
            for (LogDir dir : dirs) {
                dir.replicaBytes().forEach((tp, bytes) -> partitionBytes.merge(tp, bytes, Math::max));
            }
        }
    }

    public SortedMap<Integer, Broker> aliveBrokers() {
        return aliveBrokers;
    }

    public int controllerId() {
        return controllerId;
    }

    public List<Partition> partitions() {
        return partitions;
    }

    /** Log dirs of the alive brokers that answered DescribeLogDirs. */
    public SortedMap<Integer, List<LogDir>> logDirs() {
        return logDirs;
    }

    public Set<Tp> reassigning() {
        return reassigning;
    }

    public long bytes(Tp tp) {
        return partitionBytes.getOrDefault(tp, 0L);
    }

    public boolean isAlive(int broker) {
        return aliveBrokers.containsKey(broker);
    }

    /** Brokers that hold replicas but are not in the cluster's metadata: stopped or gone. */
    public SortedSet<Integer> deadBrokers() {
        SortedSet<Integer> dead = new TreeSet<>();
        for (Partition p : partitions) {
            for (int replica : p.replicas()) {
                if (!isAlive(replica)) {
                    dead.add(replica);
                }
            }
        }
        return dead;
    }

    /** Replica count per broker, alive (0 when empty) and dead. */
    public SortedMap<Integer, Integer> replicaCounts() {
        SortedMap<Integer, Integer> counts = new TreeMap<>();
        aliveBrokers.keySet().forEach(id -> counts.put(id, 0));
        for (Partition p : partitions) {
            p.replicas().forEach(id -> counts.merge(id, 1, Integer::sum));
        }
        return counts;
    }

    /** Leader count per broker, alive (0 when leading nothing) and dead. */
    public SortedMap<Integer, Integer> leaderCounts() {
        SortedMap<Integer, Integer> counts = new TreeMap<>();
        replicaCounts().keySet().forEach(id -> counts.put(id, 0));
        for (Partition p : partitions) {
            if (p.leader() >= 0) {
                counts.merge(p.leader(), 1, Integer::sum);
            }
        }
        return counts;
    }

    /** The log dir of `broker` that holds `tp`, if the broker reported it. */
    public Optional<String> logDirOf(int broker, Tp tp) {
        return logDirs.getOrDefault(broker, List.of()).stream()
                .filter(dir -> dir.replicaBytes().containsKey(tp))
                .map(LogDir::path)
                .findFirst();
    }
}

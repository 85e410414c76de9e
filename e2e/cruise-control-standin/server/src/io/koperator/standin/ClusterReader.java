package io.koperator.standin;

import io.koperator.standin.Cluster.Broker;
import io.koperator.standin.Cluster.LogDir;
import io.koperator.standin.Cluster.Partition;
import io.koperator.standin.Cluster.Tp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

/** Reads a {@link Cluster} through the AdminClient: metadata, log dirs, running reassignments. */
public final class ClusterReader {
    private final KafkaAdmin kafka;
    private final Duration timeout;

    public ClusterReader(KafkaAdmin kafka, Duration timeout) {
        this.kafka = kafka;
        this.timeout = timeout;
    }

    public Cluster read() throws ExecutionException, InterruptedException, TimeoutException {
        Admin admin = kafka.get();
        DescribeClusterResult described = admin.describeCluster();
        Collection<Node> nodes = get(described.nodes());
        Node controller = get(described.controller());
        SortedMap<Integer, Broker> alive = new TreeMap<>();
        for (Node node : nodes) {
            alive.put(node.id(), new Broker(node.id(), node.host(), node.rack() == null ? "" : node.rack()));
        }
        Set<String> topics = get(admin.listTopics(new ListTopicsOptions().listInternal(true)).names());
        List<Partition> partitions = new ArrayList<>();
        // Per topic, so that a topic deleted between the two calls does not fail the whole read.
        for (Map.Entry<String, KafkaFuture<TopicDescription>> entry
                : admin.describeTopics(topics).topicNameValues().entrySet()) {
            TopicDescription description;
            try {
                description = get(entry.getValue());
            } catch (ExecutionException gone) {
                continue;
            }
            for (TopicPartitionInfo info : description.partitions()) {
                partitions.add(new Partition(
                        new Tp(description.name(), info.partition()),
                        info.replicas().stream().map(Node::id).toList(),
                        info.leader() == null || info.leader().isEmpty() ? -1 : info.leader().id(),
                        info.isr().stream().map(Node::id).toList()));
            }
        }
        Set<Tp> reassigning = new TreeSet<>();
        for (TopicPartition tp : get(admin.listPartitionReassignments().reassignments()).keySet()) {
            reassigning.add(new Tp(tp.topic(), tp.partition()));
        }
        return new Cluster(alive, controller == null ? -1 : controller.id(), partitions, logDirs(admin, alive.keySet()),
                reassigning);
    }

    /** Log dirs per broker; a broker that does not answer is left out rather than failing the read. */
    private SortedMap<Integer, List<LogDir>> logDirs(Admin admin, Collection<Integer> brokers)
            throws InterruptedException, TimeoutException {
        SortedMap<Integer, List<LogDir>> result = new TreeMap<>();
        if (brokers.isEmpty()) {
            return result;
        }
        for (Map.Entry<Integer, KafkaFuture<Map<String, LogDirDescription>>> entry
                : admin.describeLogDirs(brokers).descriptions().entrySet()) {
            Map<String, LogDirDescription> described;
            try {
                described = get(entry.getValue());
            } catch (ExecutionException unavailable) {
                continue;
            }
            List<LogDir> dirs = new ArrayList<>();
            for (Map.Entry<String, LogDirDescription> dir : new TreeMap<>(described).entrySet()) {
                LogDirDescription description = dir.getValue();
                SortedMap<Tp, Long> replicas = new TreeMap<>();
                for (Map.Entry<TopicPartition, ReplicaInfo> replica : description.replicaInfos().entrySet()) {
                    // A future replica is the target of a running log dir move, not a second copy.
                    if (!replica.getValue().isFuture()) {
                        TopicPartition tp = replica.getKey();
                        replicas.put(new Tp(tp.topic(), tp.partition()), replica.getValue().size());
                    }
                }
                dirs.add(new LogDir(dir.getKey(), description.error() == null, replicas,
                        description.totalBytes().orElse(-1L)));
            }
            result.put(entry.getKey(), dirs);
        }
        return result;
    }

    private <T> T get(KafkaFuture<T> future) throws ExecutionException, InterruptedException, TimeoutException {
        return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}

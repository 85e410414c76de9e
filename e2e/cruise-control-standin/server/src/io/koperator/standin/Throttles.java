package io.koperator.standin;

import io.koperator.standin.Proposal.Move;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;

/**
 * Replication throttling for one execution, the way kafka-reassign-partitions and Cruise Control
 * do it: a rate on every broker that sends or receives a moved replica, and the moved
 * partitions listed in their topics' throttled-replica configs (leaders: the current replicas,
 * followers: the new ones). The list entries are appended and later subtracted, so throttles
 * someone else set on the same topics survive; the broker rates are deleted at the end.
 */
public final class Throttles {
    static final String LEADER_RATE = "leader.replication.throttled.rate";
    static final String FOLLOWER_RATE = "follower.replication.throttled.rate";
    static final String LEADER_REPLICAS = "leader.replication.throttled.replicas";
    static final String FOLLOWER_REPLICAS = "follower.replication.throttled.replicas";

    private final Admin admin;
    private final Duration timeout;
    private final long bytesPerSecond;
    private final SortedSet<Integer> brokers = new TreeSet<>();
    private final Map<String, List<String>> leaderEntries = new TreeMap<>();
    private final Map<String, List<String>> followerEntries = new TreeMap<>();

    public Throttles(Admin admin, Duration timeout, long bytesPerSecond, Collection<Move> moves) {
        this.admin = admin;
        this.timeout = timeout;
        this.bytesPerSecond = bytesPerSecond;
        for (Move move : moves) {
            brokers.addAll(move.from());
            brokers.addAll(move.to());
            String topic = move.tp().topic();
            for (int broker : move.from()) {
                leaderEntries.computeIfAbsent(topic, t -> new ArrayList<>()).add(move.tp().partition() + ":" + broker);
            }
            for (int broker : move.added()) {
                followerEntries.computeIfAbsent(topic, t -> new ArrayList<>()).add(move.tp().partition() + ":" + broker);
            }
        }
    }

    public SortedSet<Integer> brokers() {
        return brokers;
    }

    public void apply() throws ExecutionException, InterruptedException, TimeoutException {
        alter(AlterConfigOp.OpType.SET, AlterConfigOp.OpType.APPEND);
    }

    public void clear() throws ExecutionException, InterruptedException, TimeoutException {
        alter(AlterConfigOp.OpType.DELETE, AlterConfigOp.OpType.SUBTRACT);
    }

    private void alter(AlterConfigOp.OpType brokerOp, AlterConfigOp.OpType topicOp)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<ConfigResource, Collection<AlterConfigOp>> changes = new TreeMap<>(
                (a, b) -> (a.type() + "/" + a.name()).compareTo(b.type() + "/" + b.name()));
        String rate = Long.toString(bytesPerSecond);
        for (int broker : brokers) {
            changes.put(new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(broker)), List.of(
                    new AlterConfigOp(new ConfigEntry(LEADER_RATE, rate), brokerOp),
                    new AlterConfigOp(new ConfigEntry(FOLLOWER_RATE, rate), brokerOp)));
        }
        for (String topic : leaderEntries.keySet()) {
            List<AlterConfigOp> ops = new ArrayList<>();
            ops.add(new AlterConfigOp(new ConfigEntry(LEADER_REPLICAS, String.join(",", leaderEntries.get(topic))),
                    topicOp));
            List<String> followers = followerEntries.getOrDefault(topic, List.of());
            if (!followers.isEmpty()) {
                ops.add(new AlterConfigOp(new ConfigEntry(FOLLOWER_REPLICAS, String.join(",", followers)), topicOp));
            }
            changes.put(new ConfigResource(ConfigResource.Type.TOPIC, topic), ops);
        }
        admin.incrementalAlterConfigs(changes).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}

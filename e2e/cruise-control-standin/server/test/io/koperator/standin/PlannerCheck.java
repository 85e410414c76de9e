package io.koperator.standin;

import io.koperator.standin.Cluster.Broker;
import io.koperator.standin.Cluster.LogDir;
import io.koperator.standin.Cluster.Partition;
import io.koperator.standin.Cluster.Tp;
import io.koperator.standin.Proposal.Move;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Checks of the pure planners, run by build.sh before the jar is installed (no Kafka, no test
 * framework: a failed check exits non-zero with its message).
 */
public final class PlannerCheck {
    private static int checks;

    public static void main(String[] args) throws Exception {
        addBrokerEvensOutOntoTheNewBroker();
        removeBrokerDrainsIt();
        unknownOrImpossibleRequestsFail();
        rebalanceHonoursExcludedTopicsAndDestinations();
        diskPlansMoveBetweenLogDirs();
        System.out.println("PlannerCheck: " + checks + " checks passed");
    }

    static void addBrokerEvensOutOntoTheNewBroker() throws Exception {
        Cluster cluster = cluster(3, topic("events", 6, List.of(0, 1), List.of(1, 0)));
        Proposal proposal = Planner.addBrokers(cluster, new TreeSet<>(Set.of(2)), t -> false);
        Map<Integer, Integer> after = countsAfter(cluster, proposal);
        check(after.equals(Map.of(0, 4, 1, 4, 2, 4)), "add_broker evens out 6,6,0 to 4,4,4: " + after);
        check(proposal.numReplicaMovements() == 4, "4 replica moves: " + proposal.numReplicaMovements());
        for (Move move : proposal.moves()) {
            check(new HashSet<>(move.to()).size() == move.to().size(), "no broker twice in " + move);
            check(move.added().equals(new TreeSet<>(Set.of(2))), "only broker 2 receives: " + move);
        }
        Proposal again = Planner.addBrokers(cluster, new TreeSet<>(Set.of(2)), t -> false);
        check(again.moves().equals(proposal.moves()), "the plan is deterministic");
    }

    static void removeBrokerDrainsIt() throws Exception {
        Cluster cluster = cluster(3, topic("events", 6, List.of(0, 1, 2), List.of(1, 2, 0)),
                topic("logs", 3, List.of(2, 0), List.of(1, 2)));
        cluster = cluster(4, cluster.partitions());
        Proposal proposal = Planner.removeBrokers(cluster, new TreeSet<>(Set.of(2)), new TreeSet<>(), t -> false);
        Map<Integer, Integer> after = countsAfter(cluster, proposal);
        check(after.get(2) == 0, "remove_broker leaves broker 2 empty: " + after);
        check(after.get(3) > 0, "the empty broker 3 takes replicas: " + after);
        Proposal onlyTo3 = Planner.removeBrokers(cluster, new TreeSet<>(Set.of(2)), new TreeSet<>(Set.of(3)),
                t -> false);
        check(countsAfter(cluster, onlyTo3).get(3) == 9, "destination_broker_ids routes all 9 to broker 3");
    }

    static void unknownOrImpossibleRequestsFail() {
        Cluster cluster = cluster(3, topic("events", 3, List.of(0, 1, 2)));
        expectFailure(() -> Planner.addBrokers(cluster, new TreeSet<>(Set.of(99)), t -> false), "Broker 99");
        expectFailure(() -> Planner.removeBrokers(cluster, new TreeSet<>(Set.of(99)), new TreeSet<>(), t -> false),
                "Broker 99");
        expectFailure(() -> Planner.removeBrokers(cluster, new TreeSet<>(Set.of(1)), new TreeSet<>(), t -> false),
                "only 2 alive brokers");
        expectFailure(() -> DiskPlanner.removeDisks(cluster, new TreeMap<>(Map.of(0,
                new TreeSet<>(Set.of("/kafka-logs/kafka"))))), "no other online log dir");
    }

    static void rebalanceHonoursExcludedTopicsAndDestinations() throws Exception {
        Cluster cluster = cluster(3, topic("a", 4, List.of(0, 1)), topic("b", 4, List.of(0, 1)));
        Proposal all = Planner.rebalance(cluster, new TreeSet<>(), t -> false);
        Map<Integer, Integer> after = countsAfter(cluster, all);
        check(after.values().stream().mapToInt(Integer::intValue).max().getAsInt()
                - after.values().stream().mapToInt(Integer::intValue).min().getAsInt() <= 1, "even: " + after);
        Proposal withoutA = Planner.rebalance(cluster, new TreeSet<>(), t -> t.equals("a"));
        check(withoutA.moves().stream().noneMatch(m -> m.tp().topic().equals("a")), "topic a stays put");
        check(withoutA.excludedTopics().equals(List.of("a")), "excludedTopics lists a: " + withoutA.excludedTopics());
        Proposal to2 = Planner.rebalance(cluster, new TreeSet<>(Set.of(2)), t -> false);
        check(to2.moves().stream().allMatch(m -> m.added().equals(new TreeSet<>(Set.of(2)))), "only 2 receives");
    }

    static void diskPlansMoveBetweenLogDirs() throws Exception {
        Cluster base = cluster(1, topic("a", 4, List.of(0)));
        SortedMap<Tp, Long> all = new TreeMap<>();
        base.partitions().forEach(p -> all.put(p.tp(), 10L));
        SortedMap<Integer, List<LogDir>> dirs = new TreeMap<>(Map.of(0, List.of(
                new LogDir("/d1", true, all, -1), new LogDir("/d2", true, new TreeMap<>(), -1))));
        Cluster cluster = new Cluster(base.aliveBrokers(), 0, base.partitions(), dirs, Set.of());
        Proposal spread = DiskPlanner.rebalanceDisks(cluster, new TreeSet<>(), t -> false);
        check(spread.diskMoves().size() == 2, "4 replicas on /d1 spread 2+2: " + spread.diskMoves());
        Proposal removed = DiskPlanner.removeDisks(cluster, new TreeMap<>(Map.of(0, new TreeSet<>(Set.of("/d1")))));
        check(removed.diskMoves().size() == 4 && removed.diskMoves().stream().allMatch(m -> m.toDir().equals("/d2")),
                "remove_disks moves all 4 to /d2: " + removed.diskMoves());
        expectFailure(() -> DiskPlanner.removeDisks(cluster, new TreeMap<>(Map.of(0, new TreeSet<>(Set.of("/x"))))),
                "no online log dir /x");
    }

    private static Map<Integer, Integer> countsAfter(Cluster cluster, Proposal proposal) {
        return new HashMap<>(proposal.brokerCountsAfter());
    }

    /** A topic whose partitions cycle through the given replica lists. */
    @SafeVarargs
    private static List<Partition> topic(String name, int partitions, List<Integer>... assignments) {
        List<Partition> result = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            List<Integer> replicas = assignments[p % assignments.length];
            result.add(new Partition(new Tp(name, p), replicas, replicas.get(0), replicas));
        }
        return result;
    }

    @SafeVarargs
    private static Cluster cluster(int brokers, List<Partition>... topics) {
        List<Partition> partitions = new ArrayList<>();
        for (List<Partition> topic : topics) {
            partitions.addAll(topic);
        }
        return cluster(brokers, partitions);
    }

    private static Cluster cluster(int brokers, List<Partition> partitions) {
        SortedMap<Integer, Broker> alive = new TreeMap<>();
        SortedMap<Integer, List<LogDir>> dirs = new TreeMap<>();
        for (int id = 0; id < brokers; id++) {
            alive.put(id, new Broker(id, "kafka-" + id, ""));
            SortedMap<Tp, Long> replicas = new TreeMap<>();
            for (Partition p : partitions) {
                if (p.replicas().contains(id)) {
                    replicas.put(p.tp(), 1024L);
                }
            }
            dirs.put(id, List.of(new LogDir("/kafka-logs/kafka", true, replicas, -1)));
        }
        return new Cluster(alive, 0, partitions, dirs, Set.of());
    }

    interface Planning {
        Proposal plan() throws Exception;
    }

    private static void expectFailure(Planning planning, String expected) {
        try {
            planning.plan();
        } catch (PlanningException e) {
            check(e.getMessage().contains(expected), "error mentions '" + expected + "': " + e.getMessage());
            return;
        } catch (Exception e) {
            check(false, "expected a PlanningException, got " + e);
        }
        check(false, "expected a PlanningException mentioning '" + expected + "'");
    }

    private static void check(boolean condition, String what) {
        checks++;
        if (!condition) {
            System.err.println("PlannerCheck FAILED: " + what);
            System.exit(1);
        }
    }
}

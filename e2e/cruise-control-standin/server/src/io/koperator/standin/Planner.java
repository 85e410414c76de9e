package io.koperator.standin;

import io.koperator.standin.Cluster.Partition;
import io.koperator.standin.Cluster.Tp;
import io.koperator.standin.Proposal.Move;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Plans replica moves between brokers from replica counts alone (the stand-in has no load
 * model). Pure and deterministic: brokers are chosen by (replica count, id), partitions in
 * (topic, partition) order. A moved replica takes the place of the one it replaces in the
 * replica list, so a partition whose preferred leader moves gets the new broker as its
 * preferred leader and keeps every other replica's rank.
 */
public final class Planner {
    private Planner() {}

    /** add_broker: replicas move onto `added` until no added broker is below the average count. */
    public static Proposal addBrokers(Cluster cluster, SortedSet<Integer> added, Predicate<String> excluded)
            throws PlanningException {
        requireAlive(cluster, added, "add_broker");
        Assignment assignment = new Assignment(cluster);
        int alive = cluster.aliveBrokers().size();
        int total = cluster.aliveBrokers().keySet().stream().mapToInt(assignment::count).sum();
        int target = total / alive;
        while (true) {
            int destination = assignment.leastLoaded(added, tp -> false).orElseThrow();
            if (assignment.count(destination) >= target
                    || !assignment.moveOneOnto(destination, notIn(added), movable(cluster, excluded))) {
                break;
            }
        }
        return assignment.proposal(excludedTopics(cluster, excluded));
    }

    /**
     * remove_broker: every replica on `removed` moves to the alive, non-removed broker (one of
     * `destinations` when given) with the fewest replicas that does not hold the partition yet.
     */
    public static Proposal removeBrokers(Cluster cluster, SortedSet<Integer> removed, SortedSet<Integer> destinations,
            Predicate<String> excluded) throws PlanningException {
        requireAlive(cluster, destinations, "remove_broker");
        SortedSet<Integer> known = new TreeSet<>(cluster.aliveBrokers().keySet());
        known.addAll(cluster.deadBrokers());
        for (int id : removed) {
            if (!known.contains(id)) {
                throw new PlanningException("Broker " + id + " does not exist in the cluster (neither alive nor "
                        + "holding replicas), so remove_broker cannot drain it.");
            }
        }
        SortedSet<Integer> remaining = new TreeSet<>(destinations.isEmpty() ? cluster.aliveBrokers().keySet()
                : destinations);
        remaining.removeAll(removed);
        Assignment assignment = new Assignment(cluster);
        for (Partition partition : cluster.partitions()) {
            if (excluded.test(partition.tp().topic())) {
                continue;
            }
            for (int replica : partition.replicas()) {
                if (!removed.contains(replica)) {
                    continue;
                }
                Tp tp = partition.tp();
                int destination = assignment.leastLoaded(remaining, b -> assignment.holds(tp, b)).orElseThrow(
                        () -> new PlanningException("Cannot move " + tp + " off broker " + replica + ": it has "
                                + partition.replicas().size() + " replicas and only " + remaining.size()
                                + " alive brokers would remain (" + remaining + ")."));
                assignment.replace(tp, replica, destination);
            }
        }
        return assignment.proposal(excludedTopics(cluster, excluded));
    }

    /**
     * rebalance: replicas move from the most to the least loaded broker until counts differ by
     * at most one; with `destinations`, only those brokers receive replicas.
     */
    public static Proposal rebalance(Cluster cluster, SortedSet<Integer> destinations, Predicate<String> excluded)
            throws PlanningException {
        requireAlive(cluster, destinations, "rebalance");
        SortedSet<Integer> receivers = destinations.isEmpty() ? new TreeSet<>(cluster.aliveBrokers().keySet())
                : destinations;
        Assignment assignment = new Assignment(cluster);
        // Every move lowers the sum of squared counts, so this ends; the cap is a safety net.
        int cap = cluster.partitions().stream().mapToInt(p -> p.replicas().size()).sum() + 1;
        for (int i = 0; i < cap; i++) {
            int destination = assignment.leastLoaded(receivers, b -> false).orElseThrow();
            if (!assignment.moveOneOnto(destination, b -> b != destination, movable(cluster, excluded))) {
                break;
            }
        }
        return assignment.proposal(excludedTopics(cluster, excluded));
    }

    private static void requireAlive(Cluster cluster, SortedSet<Integer> ids, String endpoint)
            throws PlanningException {
        for (int id : ids) {
            if (!cluster.isAlive(id)) {
                throw new PlanningException("Broker " + id + " does not exist or is not alive (alive brokers: "
                        + cluster.aliveBrokers().keySet() + "), so " + endpoint + " cannot move replicas to it.");
            }
        }
    }

    private static Predicate<Integer> notIn(SortedSet<Integer> brokers) {
        return b -> !brokers.contains(b);
    }

    /** Partitions a balancing move may pick: not excluded and not being reassigned by someone else. */
    private static Predicate<Tp> movable(Cluster cluster, Predicate<String> excluded) {
        return tp -> !excluded.test(tp.topic()) && !cluster.reassigning().contains(tp);
    }

    static List<String> excludedTopics(Cluster cluster, Predicate<String> excluded) {
        return cluster.partitions().stream().map(p -> p.tp().topic()).distinct().filter(excluded).sorted().toList();
    }

    /** The replica lists being planned, with per-broker counts kept in step. */
    private static final class Assignment {
        private final Cluster cluster;
        private final SortedMap<Tp, List<Integer>> replicas = new TreeMap<>();
        private final SortedMap<Integer, Integer> counts;

        Assignment(Cluster cluster) {
            this.cluster = cluster;
            this.counts = cluster.replicaCounts();
            cluster.partitions().forEach(p -> replicas.put(p.tp(), new ArrayList<>(p.replicas())));
        }

        int count(int broker) {
            return counts.getOrDefault(broker, 0);
        }

        boolean holds(Tp tp, int broker) {
            return replicas.get(tp).contains(broker);
        }

        void replace(Tp tp, int from, int to) {
            List<Integer> list = replicas.get(tp);
            list.set(list.indexOf(from), to);
            counts.merge(from, -1, Integer::sum);
            counts.merge(to, 1, Integer::sum);
        }

        /** Of `candidates`, the broker with the fewest replicas (then lowest id) not `skip`ped. */
        Optional<Integer> leastLoaded(SortedSet<Integer> candidates, Predicate<Integer> skip) {
            return candidates.stream()
                    .filter(skip.negate())
                    .min(Comparator.comparingInt(this::count).thenComparingInt(Integer::intValue));
        }

        /**
         * Moves one replica onto `destination` from the most loaded alive broker accepted by
         * `source` that holds at least two more replicas (so the move narrows the spread).
         */
        boolean moveOneOnto(int destination, Predicate<Integer> source, Predicate<Tp> movable) {
            List<Integer> sources = cluster.aliveBrokers().keySet().stream()
                    .filter(source)
                    .sorted(Comparator.comparingInt(this::count).reversed().thenComparingInt(Integer::intValue))
                    .toList();
            for (int from : sources) {
                if (count(from) < count(destination) + 2) {
                    return false;
                }
                for (Map.Entry<Tp, List<Integer>> entry : replicas.entrySet()) {
                    Tp tp = entry.getKey();
                    if (entry.getValue().contains(from) && !entry.getValue().contains(destination) && movable.test(tp)) {
                        replace(tp, from, destination);
                        return true;
                    }
                }
            }
            return false;
        }

        Proposal proposal(List<String> excludedTopics) {
            List<Move> moves = new ArrayList<>();
            for (Partition partition : cluster.partitions()) {
                List<Integer> planned = replicas.get(partition.tp());
                if (!planned.equals(partition.replicas())) {
                    moves.add(new Move(partition.tp(), partition.replicas(), List.copyOf(planned),
                            cluster.bytes(partition.tp())));
                }
            }
            SortedMap<Integer, Integer> before = new TreeMap<>(cluster.replicaCounts());
            before.keySet().retainAll(cluster.aliveBrokers().keySet());
            SortedMap<Integer, Integer> after = new TreeMap<>(counts);
            after.keySet().retainAll(cluster.aliveBrokers().keySet());
            return new Proposal(moves, List.of(), excludedTopics, before, after);
        }
    }
}

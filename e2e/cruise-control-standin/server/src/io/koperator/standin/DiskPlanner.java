package io.koperator.standin;

import io.koperator.standin.Cluster.LogDir;
import io.koperator.standin.Cluster.Tp;
import io.koperator.standin.Proposal.DiskMove;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Plans replica moves between the log dirs of one broker (JBOD), by replica count. Pure and
 * deterministic: dirs are chosen by (replica count, path), replicas in (topic, partition) order.
 */
public final class DiskPlanner {
    private DiskPlanner() {}

    /**
     * rebalance with rebalance_disk=true: on each broker (all alive ones, or `brokers`), replicas
     * move from the fullest to the emptiest online log dir until counts differ by at most one.
     */
    public static Proposal rebalanceDisks(Cluster cluster, SortedSet<Integer> brokers, Predicate<String> excluded)
            throws PlanningException {
        SortedSet<Integer> scope = brokers.isEmpty() ? new TreeSet<>(cluster.aliveBrokers().keySet()) : brokers;
        List<DiskMove> moves = new ArrayList<>();
        for (int broker : scope) {
            SortedMap<String, SortedSet<Tp>> dirs = onlineDirs(cluster, broker);
            Map<Tp, String> origin = new TreeMap<>();
            dirs.forEach((path, tps) -> tps.forEach(tp -> origin.put(tp, path)));
            while (dirs.size() > 1) {
                String fullest = extreme(dirs, true);
                String emptiest = extreme(dirs, false);
                if (dirs.get(fullest).size() < dirs.get(emptiest).size() + 2) {
                    break;
                }
                Tp tp = dirs.get(fullest).stream()
                        .filter(t -> !excluded.test(t.topic()) && !cluster.reassigning().contains(t))
                        .findFirst()
                        .orElse(null);
                if (tp == null) {
                    break;
                }
                dirs.get(fullest).remove(tp);
                dirs.get(emptiest).add(tp);
            }
            dirs.forEach((path, tps) -> tps.stream()
                    .filter(tp -> !origin.get(tp).equals(path))
                    .forEach(tp -> moves.add(new DiskMove(tp, broker, origin.get(tp), path, bytes(cluster, broker, tp)))));
        }
        return proposal(cluster, moves, Planner.excludedTopics(cluster, excluded));
    }

    /**
     * remove_disks: every replica in a removed log dir moves to the broker's remaining online
     * log dir with the fewest replicas. Like Cruise Control, excluded_topics does not apply: a
     * disk being removed must be emptied.
     */
    public static Proposal removeDisks(Cluster cluster, SortedMap<Integer, SortedSet<String>> removed)
            throws PlanningException {
        List<DiskMove> moves = new ArrayList<>();
        for (Map.Entry<Integer, SortedSet<String>> request : removed.entrySet()) {
            int broker = request.getKey();
            SortedMap<String, SortedSet<Tp>> dirs = onlineDirs(cluster, broker);
            for (String path : request.getValue()) {
                if (!dirs.containsKey(path)) {
                    throw new PlanningException("Broker " + broker + " has no online log dir " + path
                            + " (its online log dirs: " + dirs.keySet() + ").");
                }
            }
            SortedMap<String, SortedSet<Tp>> remaining = new TreeMap<>(dirs);
            remaining.keySet().removeAll(request.getValue());
            if (remaining.isEmpty()) {
                throw new PlanningException("Cannot remove log dirs " + request.getValue() + " of broker " + broker
                        + ": no other online log dir would be left to take their replicas.");
            }
            for (String path : request.getValue()) {
                for (Tp tp : dirs.get(path)) {
                    String destination = extreme(remaining, false);
                    remaining.get(destination).add(tp);
                    moves.add(new DiskMove(tp, broker, path, destination, bytes(cluster, broker, tp)));
                }
            }
        }
        return proposal(cluster, moves, List.of());
    }

    /** The broker's online log dirs and the replicas in each; fails for unknown brokers. */
    private static SortedMap<String, SortedSet<Tp>> onlineDirs(Cluster cluster, int broker) throws PlanningException {
        if (!cluster.isAlive(broker)) {
            throw new PlanningException("Broker " + broker + " does not exist or is not alive (alive brokers: "
                    + cluster.aliveBrokers().keySet() + ").");
        }
        List<LogDir> dirs = cluster.logDirs().get(broker);
        if (dirs == null) {
            throw new PlanningException("Broker " + broker + " did not describe its log dirs.");
        }
        SortedMap<String, SortedSet<Tp>> online = new TreeMap<>();
        for (LogDir dir : dirs) {
            if (dir.online()) {
                online.put(dir.path(), new TreeSet<>(dir.replicaBytes().keySet()));
            }
        }
        return online;
    }

    /** The dir with the most (or fewest) replicas; ties go to the first path. */
    private static String extreme(SortedMap<String, SortedSet<Tp>> dirs, boolean most) {
        Comparator<Map.Entry<String, SortedSet<Tp>>> bySize = Comparator.comparingInt(e -> e.getValue().size());
        Comparator<Map.Entry<String, SortedSet<Tp>>> order = most ? bySize.reversed() : bySize;
        return dirs.entrySet().stream().min(order.thenComparing(Map.Entry::getKey)).orElseThrow().getKey();
    }

    private static long bytes(Cluster cluster, int broker, Tp tp) {
        return cluster.logDirs().get(broker).stream()
                .mapToLong(dir -> dir.replicaBytes().getOrDefault(tp, 0L))
                .sum();
    }

    private static Proposal proposal(Cluster cluster, List<DiskMove> moves, List<String> excludedTopics) {
        SortedMap<Integer, Integer> counts = new TreeMap<>(cluster.replicaCounts());
        counts.keySet().retainAll(cluster.aliveBrokers().keySet());
        return new Proposal(List.of(), List.copyOf(moves), excludedTopics, counts, counts);
    }
}

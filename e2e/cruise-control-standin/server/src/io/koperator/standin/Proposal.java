package io.koperator.standin;

import io.koperator.standin.Cluster.Tp;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What a request would change: partition reassignments between brokers and replica moves
 * between one broker's log dirs. Computed by {@link Planner} or {@link DiskPlanner}, executed
 * by {@link Execution}, summarised in the OptimizationResult.
 *
 * @param brokerCountsBefore replica count per alive broker before the moves
 * @param brokerCountsAfter replica count per alive broker after them
 */
public record Proposal(
        List<Move> moves,
        List<DiskMove> diskMoves,
        List<String> excludedTopics,
        Map<Integer, Integer> brokerCountsBefore,
        Map<Integer, Integer> brokerCountsAfter) {

    static final long MB = 1024L * 1024L;

    /** A partition's replica list changes from `from` to `to` (same length, order significant). */
    public record Move(Tp tp, List<Integer> from, List<Integer> to, long bytes) {
        /** Brokers that receive a copy of the partition. */
        public SortedSet<Integer> added() {
            SortedSet<Integer> added = new TreeSet<>(to);
            added.removeAll(from);
            return added;
        }

        /** Whether the preferred leader (the first replica) changes. */
        public boolean leaderChanges() {
            return !from.get(0).equals(to.get(0));
        }
    }

    /** `broker`'s replica of `tp` moves from log dir `fromDir` to `toDir`. */
    public record DiskMove(Tp tp, int broker, String fromDir, String toDir, long bytes) {}

    public boolean isEmpty() {
        return moves.isEmpty() && diskMoves.isEmpty();
    }

    public int numReplicaMovements() {
        return moves.stream().mapToInt(m -> m.added().size()).sum();
    }

    public long dataToMoveMB() {
        return toMB(moves.stream().mapToLong(m -> m.bytes() * m.added().size()).sum());
    }

    public int numLeaderMovements() {
        return (int) moves.stream().filter(Move::leaderChanges).count();
    }

    public long intraBrokerDataToMoveMB() {
        return toMB(diskMoves.stream().mapToLong(DiskMove::bytes).sum());
    }

    /**
     * The stand-in's own balancedness measure (Cruise Control weighs goal priorities instead):
     * 100 when every alive broker holds the same number of replicas, 0 when one holds them all.
     */
    public static double balancedness(Collection<Integer> counts) {
        if (counts.isEmpty()) {
            return 100.0;
        }
        int max = counts.stream().mapToInt(Integer::intValue).max().orElse(0);
        int min = counts.stream().mapToInt(Integer::intValue).min().orElse(0);
        return max == 0 ? 100.0 : 100.0 * (1.0 - (double) (max - min) / max);
    }

    static long toMB(long bytes) {
        return (bytes + MB - 1) / MB;
    }
}

package io.koperator.standin;

import io.koperator.standin.Proposal.DiskMove;
import io.koperator.standin.Proposal.Move;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeReplicaLogDirsResult.ReplicaLogDirInfo;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionReplica;
import org.apache.kafka.common.errors.ElectionNotNeededException;

/**
 * Carries out one proposal against Kafka: throttles, partition reassignments (all submitted at
 * once, then polled until Kafka no longer lists them and the replica lists equal the plan), log
 * dir moves, preferred leader elections, throttles removed. A stop cancels the reassignments
 * still running, which returns those partitions to their previous replicas (what Cruise
 * Control's force stop does). The task ends Completed only if every planned move landed.
 */
final class Execution implements Runnable {
    /** How long a finished reassignment may be described with other replicas than planned. */
    private static final Duration UNCONFIRMED_LIMIT = Duration.ofSeconds(30);

    private final Executor executor;
    private final Admin admin;
    private final Duration timeout;
    private final Duration pollInterval;
    private final UserTask task;
    private final Proposal proposal;
    private final long throttle;
    private final Set<Integer> removedBrokers;
    private final List<String> errors = new ArrayList<>();
    private volatile Executor.State state = Executor.State.STARTING_EXECUTION;
    private volatile String stoppedBy;
    private final AtomicInteger interInProgress = new AtomicInteger();
    private final AtomicInteger interFinished = new AtomicInteger();
    private final AtomicInteger interDead = new AtomicInteger();
    private final AtomicInteger interCancelled = new AtomicInteger();
    private final AtomicInteger intraInProgress = new AtomicInteger();
    private final AtomicInteger intraFinished = new AtomicInteger();
    private final AtomicInteger intraDead = new AtomicInteger();
    private final AtomicInteger leaderFinished = new AtomicInteger();
    private final AtomicLong finishedBytes = new AtomicLong();

    Execution(Executor executor, Admin admin, Duration timeout, Duration pollInterval, UserTask task,
            Proposal proposal, long throttle, Set<Integer> removedBrokers) {
        this.executor = executor;
        this.admin = admin;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
        this.task = task;
        this.proposal = proposal;
        this.throttle = throttle;
        this.removedBrokers = Set.copyOf(removedBrokers);
    }

    void requestStop(String byTask) {
        stoppedBy = byTask;
        state = Executor.State.STOPPING_EXECUTION;
    }

    private boolean stopping() {
        return stoppedBy != null;
    }

    @Override
    public void run() {
        Throttles throttles = throttle > 0 ? new Throttles(admin, timeout, throttle, proposal.moves()) : null;
        try {
            task.step("STARTING_EXECUTION", "Applying throttles and submitting the proposal.");
            if (throttles != null && !proposal.moves().isEmpty()) {
                throttles.apply();
                Log.info("task " + task.id() + ": throttled brokers " + throttles.brokers() + " to " + throttle + " B/s");
            }
            if (!stopping() && !proposal.moves().isEmpty()) {
                moveBetweenBrokers();
            }
            if (!stopping() && !proposal.diskMoves().isEmpty()) {
                moveBetweenDisks();
            }
            if (!stopping()) {
                electPreferredLeaders();
            }
        } catch (Exception e) {
            errors.add(Log.describe(e));
        } finally {
            if (throttles != null && !proposal.moves().isEmpty()) {
                try {
                    throttles.clear();
                } catch (Exception e) {
                    errors.add("removing the replication throttles failed: " + Log.describe(e));
                }
            }
            String failure = stopping() ? "The execution was stopped by user task " + stoppedBy + "."
                    : errors.isEmpty() ? null : String.join("; ", errors);
            Log.info("task " + task.id() + ": execution " + (failure == null ? "completed" : "ended: " + failure));
            executor.finished(this, failure == null, removedBrokers);
            task.finish(failure);
        }
    }

    private void moveBetweenBrokers() throws Exception {
        Map<TopicPartition, Optional<NewPartitionReassignment>> request = new LinkedHashMap<>();
        Map<TopicPartition, Move> planned = new HashMap<>();
        for (Move move : proposal.moves()) {
            TopicPartition tp = new TopicPartition(move.tp().topic(), move.tp().partition());
            request.put(tp, Optional.of(new NewPartitionReassignment(move.to())));
            planned.put(tp, move);
        }
        Set<TopicPartition> running = new HashSet<>();
        for (Map.Entry<TopicPartition, KafkaFuture<Void>> submitted
                : admin.alterPartitionReassignments(request).values().entrySet()) {
            try {
                get(submitted.getValue());
                running.add(submitted.getKey());
            } catch (ExecutionException e) {
                interDead.incrementAndGet();
                errors.add("reassigning " + submitted.getKey() + " failed: " + Log.describe(e));
            }
        }
        interInProgress.set(running.size());
        if (!stopping()) {
            state = Executor.State.INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS;
        }
        task.step("INTER_BROKER_REPLICA_MOVEMENT", running.size() + " partition reassignments submitted.");
        // Kafka lists a reassignment until the controller finishes it, but describeTopics is
        // answered from a broker's metadata cache, which may still show the intermediate replica
        // list for a moment: a move counts as done once it is no longer listed and described
        // with the planned replicas; a mismatch that outlasts UNCONFIRMED_LIMIT is a failure.
        Map<TopicPartition, Long> unconfirmedSince = new HashMap<>();
        while (!running.isEmpty()) {
            if (stopping()) {
                cancel(running);
                return;
            }
            Thread.sleep(pollInterval.toMillis());
            Set<TopicPartition> ended = new HashSet<>(running);
            ended.removeAll(get(admin.listPartitionReassignments(running).reassignments()).keySet());
            if (ended.isEmpty()) {
                continue;
            }
            Set<String> topics = new HashSet<>();
            ended.forEach(tp -> topics.add(tp.topic()));
            Map<String, TopicDescription> described = get(admin.describeTopics(topics).allTopicNames());
            long now = System.nanoTime();
            for (TopicPartition tp : ended) {
                List<Integer> actual = described.get(tp.topic()).partitions().stream()
                        .filter(info -> info.partition() == tp.partition())
                        .flatMap(info -> info.replicas().stream())
                        .map(Node::id)
                        .toList();
                Move move = planned.get(tp);
                if (actual.equals(move.to())) {
                    running.remove(tp);
                    interFinished.incrementAndGet();
                    finishedBytes.addAndGet(move.bytes() * move.added().size());
                } else if (now - unconfirmedSince.computeIfAbsent(tp, t -> now) > UNCONFIRMED_LIMIT.toNanos()) {
                    running.remove(tp);
                    interDead.incrementAndGet();
                    errors.add("reassignment of " + tp + " ended with replicas " + actual + ", not " + move.to());
                }
            }
            interInProgress.set(running.size());
        }
    }

    /** Cancels `running` reassignments and waits until Kafka no longer lists them. */
    private void cancel(Set<TopicPartition> running) throws Exception {
        Map<TopicPartition, Optional<NewPartitionReassignment>> cancellation = new LinkedHashMap<>();
        running.forEach(tp -> cancellation.put(tp, Optional.empty()));
        task.step("STOPPING_EXECUTION", "Cancelling " + running.size() + " partition reassignments.");
        for (KafkaFuture<Void> cancelled : admin.alterPartitionReassignments(cancellation).values().values()) {
            try {
                get(cancelled);
            } catch (ExecutionException finishedMeanwhile) {
                // NoReassignmentInProgress: the move completed just before the stop.
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!get(admin.listPartitionReassignments(running).reassignments()).isEmpty()
                && System.nanoTime() < deadline) {
            Thread.sleep(pollInterval.toMillis());
        }
        interCancelled.set(running.size());
        interInProgress.set(0);
    }

    private void moveBetweenDisks() throws Exception {
        Map<TopicPartitionReplica, String> request = new LinkedHashMap<>();
        for (DiskMove move : proposal.diskMoves()) {
            request.put(new TopicPartitionReplica(move.tp().topic(), move.tp().partition(), move.broker()), move.toDir());
        }
        state = Executor.State.INTRA_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS;
        task.step("INTRA_BROKER_REPLICA_MOVEMENT", request.size() + " log dir moves submitted.");
        Set<TopicPartitionReplica> running = new HashSet<>();
        for (Map.Entry<TopicPartitionReplica, KafkaFuture<Void>> submitted
                : admin.alterReplicaLogDirs(request).values().entrySet()) {
            try {
                get(submitted.getValue());
                running.add(submitted.getKey());
            } catch (ExecutionException e) {
                intraDead.incrementAndGet();
                errors.add("moving " + submitted.getKey() + " to " + request.get(submitted.getKey()) + " failed: "
                        + Log.describe(e));
            }
        }
        intraInProgress.set(running.size());
        // Kafka cannot cancel a log dir move; a stop only stops waiting for them.
        while (!running.isEmpty() && !stopping()) {
            Thread.sleep(pollInterval.toMillis());
            Map<TopicPartitionReplica, ReplicaLogDirInfo> infos = get(admin.describeReplicaLogDirs(running).all());
            for (Map.Entry<TopicPartitionReplica, ReplicaLogDirInfo> info : infos.entrySet()) {
                String target = request.get(info.getKey());
                if (target.equals(info.getValue().getCurrentReplicaLogDir())
                        && info.getValue().getFutureReplicaLogDir() == null) {
                    running.remove(info.getKey());
                    intraFinished.incrementAndGet();
                }
            }
            intraInProgress.set(running.size());
        }
    }

    /** Makes each moved partition's new first replica its leader; a refusal is logged, not fatal. */
    private void electPreferredLeaders() throws Exception {
        Set<TopicPartition> partitions = new HashSet<>();
        proposal.moves().stream().filter(Move::leaderChanges)
                .forEach(m -> partitions.add(new TopicPartition(m.tp().topic(), m.tp().partition())));
        if (partitions.isEmpty()) {
            return;
        }
        state = Executor.State.LEADER_MOVEMENT_TASK_IN_PROGRESS;
        task.step("LEADER_MOVEMENT", partitions.size() + " preferred leader elections.");
        Map<TopicPartition, Optional<Throwable>> results =
                get(admin.electLeaders(ElectionType.PREFERRED, partitions).partitions());
        for (Map.Entry<TopicPartition, Optional<Throwable>> result : results.entrySet()) {
            Throwable error = result.getValue().orElse(null);
            if (error == null || error instanceof ElectionNotNeededException) {
                leaderFinished.incrementAndGet();
            } else {
                Log.info("task " + task.id() + ": preferred leader election for " + result.getKey() + " refused: "
                        + error.getMessage());
            }
        }
    }

    private <T> T get(KafkaFuture<T> future) throws Exception {
        return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** This execution's part of the ExecutorState, with Cruise Control's field names. */
    Map<String, Object> stateJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("state", state.name());
        json.put("triggeredUserTaskId", task.id());
        json.put("triggeredSelfHealingTaskId", "");
        json.put("triggeredTaskReason", task.requestUrl());
        int total = proposal.moves().size();
        int pending = Math.max(0, total - interInProgress.get() - interFinished.get() - interDead.get()
                - interCancelled.get());
        json.put("numTotalPartitionMovements", total);
        json.put("numPendingPartitionMovements", pending);
        json.put("numInProgressPartitionMovements", interInProgress.get());
        json.put("abortingPartitions", state == Executor.State.STOPPING_EXECUTION ? interInProgress.get() : 0);
        json.put("numFinishedPartitionMovements", interFinished.get() + interDead.get());
        json.put("numCancelledPartitionMovements", interCancelled.get());
        json.put("finishedDataMovement", Proposal.toMB(finishedBytes.get()));
        json.put("totalDataToMove", proposal.dataToMoveMB());
        json.put("numTotalIntraBrokerPartitionMovements", proposal.diskMoves().size());
        json.put("numInProgressIntraBrokerPartitionMovements", intraInProgress.get());
        json.put("numFinishedIntraBrokerPartitionMovements", intraFinished.get() + intraDead.get());
        json.put("totalIntraBrokerDataToMove", proposal.intraBrokerDataToMoveMB());
        json.put("numTotalLeadershipMovements", proposal.numLeaderMovements());
        json.put("numFinishedLeadershipMovements", leaderFinished.get());
        return json;
    }
}

package io.koperator.standin;

import io.koperator.standin.Proposal.DiskMove;
import io.koperator.standin.Proposal.Move;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The answers about user tasks: OptimizationResult, 202 progress, user_tasks, errors. */
public final class TaskJson {
    private TaskJson() {}

    /** Name of the single pseudo-goal the stand-in optimises: even replica counts. */
    static final String GOAL = "ReplicaDistributionGoal";

    public static Map<String, Object> optimizationResult(Proposal proposal, int windows, boolean verbose) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("numIntraBrokerReplicaMovements", proposal.diskMoves().size());
        summary.put("numReplicaMovements", proposal.numReplicaMovements());
        summary.put("onDemandBalancednessScoreAfter", Proposal.balancedness(proposal.brokerCountsAfter().values()));
        summary.put("intraBrokerDataToMoveMB", proposal.intraBrokerDataToMoveMB());
        summary.put("monitoredPartitionsPercentage", 100.0);
        summary.put("provisionRecommendation", "");
        summary.put("excludedBrokersForReplicaMove", List.of());
        summary.put("excludedBrokersForLeadership", List.of());
        summary.put("provisionStatus", "RIGHT_SIZED");
        summary.put("onDemandBalancednessScoreBefore",
                Proposal.balancedness(proposal.brokerCountsBefore().values()));
        summary.put("recentWindows", windows);
        summary.put("dataToMoveMB", proposal.dataToMoveMB());
        summary.put("excludedTopics", proposal.excludedTopics());
        summary.put("numLeaderMovements", proposal.numLeaderMovements());
        Map<String, Object> goal = new LinkedHashMap<>();
        goal.put("goal", GOAL);
        goal.put("status", proposal.isEmpty() ? "NO-ACTION" : "FIXED");
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("summary", summary);
        result.put("goalSummary", List.of(goal));
        if (verbose) {
            result.put("proposals", proposals(proposal));
        }
        result.put("version", 1);
        return result;
    }

    private static List<Object> proposals(Proposal proposal) {
        List<Object> list = new ArrayList<>();
        for (Move move : proposal.moves()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("topicPartition", Map.of("topic", move.tp().topic(), "partition", move.tp().partition()));
            entry.put("oldLeader", move.from().get(0));
            entry.put("oldReplicas", move.from());
            entry.put("newReplicas", move.to());
            list.add(entry);
        }
        for (DiskMove move : proposal.diskMoves()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("topicPartition", Map.of("topic", move.tp().topic(), "partition", move.tp().partition()));
            entry.put("broker", move.broker());
            entry.put("oldLogDir", move.fromDir());
            entry.put("newLogDir", move.toDir());
            list.add(entry);
        }
        return list;
    }

    /** The 202 answer while a task computes its proposal. */
    public static Map<String, Object> progress(UserTask task) {
        Map<String, Object> step = new LinkedHashMap<>();
        step.put("step", task.step());
        step.put("description", task.stepDescription());
        step.put("time-in-ms", System.currentTimeMillis() - task.stepStartMs());
        step.put("completionPercentage", 0.0);
        Map<String, Object> operation = new LinkedHashMap<>();
        operation.put("operation", task.operation());
        operation.put("operationProgress", List.of(step));
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("progress", List.of(operation));
        result.put("version", 1);
        return result;
    }

    public static Map<String, Object> userTasks(List<UserTask> tasks) {
        List<Object> entries = new ArrayList<>();
        for (UserTask task : tasks) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("UserTaskId", task.id());
            entry.put("RequestURL", task.requestUrl());
            entry.put("ClientIdentity", task.clientIdentity());
            entry.put("StartMs", Long.toString(task.startMs()));
            entry.put("Status", task.status().name());
            if (!task.error().isEmpty()) {
                entry.put("ErrorMessage", task.error());
            }
            entries.add(entry);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("userTasks", entries);
        result.put("version", 1);
        return result;
    }

    public static Map<String, Object> stopped() {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("message", "Proposal execution stopped.");
        result.put("version", 1);
        return result;
    }

    /** Cruise Control's error body; the stack trace is the stand-in's own (or empty). */
    public static String error(String message, Throwable cause) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("errorMessage", message);
        result.put("stackTrace", stackTrace(cause));
        result.put("version", 1);
        return Json.write(result);
    }

    private static String stackTrace(Throwable cause) {
        if (cause == null) {
            return "";
        }
        StringWriter trace = new StringWriter();
        Log.root(cause).printStackTrace(new PrintWriter(trace));
        return trace.toString();
    }
}

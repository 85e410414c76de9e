package io.koperator.standin;

import io.koperator.standin.UserTask.Answer;
import java.time.Duration;
import java.util.Set;

/**
 * The work behind each POST, run on a worker thread for its user task: read the cluster, plan,
 * answer with the OptimizationResult, and (unless dryrun) hand the proposal to the executor.
 * Every failure becomes the task's error answer; nothing escapes to the HTTP thread.
 */
public final class Operations {
    /** How long stop_ongoing_execution=true waits for the running execution to stop. */
    private static final Duration STOP_WAIT = Duration.ofMinutes(2);

    private final ClusterReader reader;
    private final Executor executor;
    private final StandinConfig config;

    public Operations(ClusterReader reader, Executor executor, StandinConfig config) {
        this.reader = reader;
        this.executor = executor;
        this.config = config;
    }

    public void run(UserTask task, Endpoint endpoint, Params params) {
        try {
            if (endpoint == Endpoint.STOP_PROPOSAL_EXECUTION) {
                executor.requestStop(task.id());
                task.answer(new Answer(200, Json.write(TaskJson.stopped())), UserTask.Status.Completed);
            } else {
                optimize(task, endpoint, params);
            }
        } catch (Params.BadRequest e) {
            fail(task, 400, e.getMessage(), null);
        } catch (PlanningException | IllegalStateException e) {
            fail(task, 500, e.getMessage(), null);
        } catch (Exception e) {
            Log.error("task " + task.id() + " failed", e);
            fail(task, 500, Log.describe(e), e);
        }
    }

    private void fail(UserTask task, int code, String message, Throwable cause) {
        task.fail(new Answer(code, TaskJson.error(message, cause)), message);
    }

    private void optimize(UserTask task, Endpoint endpoint, Params params) throws Exception {
        boolean dryrun = params.bool("dryrun", true);
        long throttle = params.positiveLong("replication_throttle");
        boolean verbose = params.bool("verbose", false);
        if (!dryrun && executor.busy()) {
            if (!params.bool("stop_ongoing_execution", false)) {
                throw new IllegalStateException(Executor.ONGOING_EXECUTION);
            }
            task.step("STOPPING_ONGOING_EXECUTION", "Waiting for the ongoing execution to stop.");
            executor.requestStop(task.id());
            if (!executor.awaitIdle(STOP_WAIT)) {
                throw new IllegalStateException("The ongoing execution did not stop within " + STOP_WAIT + ".");
            }
        }
        task.step("WAITING_FOR_CLUSTER_MODEL", "Reading the cluster's metadata and log dirs.");
        Cluster cluster = reader.read();
        task.step("OPTIMIZING", "Planning replica moves by replica counts.");
        Proposal proposal = plan(endpoint, params, cluster);
        Answer answer = new Answer(200, Json.write(TaskJson.optimizationResult(proposal, config.numWindows(), verbose)));
        Log.info("task " + task.id() + ": " + proposal.moves().size() + " partition moves, "
                + proposal.diskMoves().size() + " log dir moves" + (dryrun ? " (dry run)" : ""));
        if (dryrun || proposal.isEmpty()) {
            task.answer(answer, UserTask.Status.Completed);
            return;
        }
        Set<Integer> removed = endpoint == Endpoint.REMOVE_BROKER ? params.brokerIds("brokerid", true) : Set.of();
        executor.start(task, proposal, answer, throttle, removed);
    }

    private static Proposal plan(Endpoint endpoint, Params params, Cluster cluster) throws Exception {
        return switch (endpoint) {
            case ADD_BROKER -> Planner.addBrokers(cluster, params.brokerIds("brokerid", true),
                    params.topicFilter("excluded_topics"));
            case REMOVE_BROKER -> Planner.removeBrokers(cluster, params.brokerIds("brokerid", true),
                    params.brokerIds("destination_broker_ids", false), params.topicFilter("excluded_topics"));
            case REBALANCE -> params.bool("rebalance_disk", false)
                    ? DiskPlanner.rebalanceDisks(cluster, params.brokerIds("destination_broker_ids", false),
                            params.topicFilter("excluded_topics"))
                    : Planner.rebalance(cluster, params.brokerIds("destination_broker_ids", false),
                            params.topicFilter("excluded_topics"));
            case REMOVE_DISKS -> DiskPlanner.removeDisks(cluster, params.brokerLogDirs("brokerid_and_logdirs"));
            default -> throw new IllegalStateException(endpoint.path() + " is not an optimization");
        };
    }
}

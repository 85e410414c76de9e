package io.koperator.standin;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs at most one {@link Execution} at a time, like Cruise Control's executor: a request that
 * would execute while another execution runs is refused. Also remembers the brokers that
 * recently finished a remove_broker (reported as recentlyRemovedBrokers).
 */
public final class Executor {
    public enum State {
        NO_TASK_IN_PROGRESS,
        STARTING_EXECUTION,
        INTER_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS,
        INTRA_BROKER_REPLICA_MOVEMENT_TASK_IN_PROGRESS,
        LEADER_MOVEMENT_TASK_IN_PROGRESS,
        STOPPING_EXECUTION
    }

    /** Cruise Control's own words, so clients that match on them keep working. */
    public static final String ONGOING_EXECUTION = "Cannot start a new execution while there is an ongoing "
            + "execution. Please use stop_ongoing_execution=true to stop ongoing execution and start a new one.";

    private final KafkaAdmin kafka;
    private final Duration timeout;
    private final Duration pollInterval;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(runnable -> {
        Thread t = new Thread(runnable, "execution");
        t.setDaemon(true);
        return t;
    });
    private final SortedSet<Integer> recentlyRemoved = new TreeSet<>();
    private Execution current;

    public Executor(KafkaAdmin kafka, Duration timeout, Duration pollInterval) {
        this.kafka = kafka;
        this.timeout = timeout;
        this.pollInterval = pollInterval;
    }

    public synchronized boolean busy() {
        return current != null;
    }

    /**
     * Starts executing `proposal` for `task`, answering the task's request with `answer` first
     * (so the answer never arrives after the task already ended).
     *
     * @param throttle replication throttle in bytes/s, 0 for none
     * @throws IllegalStateException when another execution is running
     */
    public synchronized void start(UserTask task, Proposal proposal, UserTask.Answer answer, long throttle,
            Set<Integer> removedBrokers) {
        if (current != null) {
            throw new IllegalStateException(ONGOING_EXECUTION);
        }
        current = new Execution(this, kafka.get(), timeout, pollInterval, task, proposal, throttle, removedBrokers);
        task.answer(answer, UserTask.Status.InExecution);
        thread.submit(current);
    }

    /** Asks the running execution, if any, to stop; returns at once. */
    public void requestStop(String byTask) {
        Execution running;
        synchronized (this) {
            running = current;
        }
        if (running != null) {
            running.requestStop(byTask);
        }
    }

    /** Waits until no execution runs, at most `max`; true when idle. */
    public boolean awaitIdle(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (busy()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(200);
        }
        return true;
    }

    synchronized void finished(Execution execution, boolean succeeded, Set<Integer> removedBrokers) {
        if (current == execution) {
            current = null;
        }
        if (succeeded) {
            recentlyRemoved.addAll(removedBrokers);
        }
    }

    /** The ExecutorState object of the state endpoint. */
    public synchronized Map<String, Object> stateJson() {
        Map<String, Object> state = new LinkedHashMap<>();
        if (current == null) {
            state.put("state", State.NO_TASK_IN_PROGRESS.name());
        } else {
            state.putAll(current.stateJson());
        }
        if (!recentlyRemoved.isEmpty()) {
            state.put("recentlyRemovedBrokers", new TreeSet<>(recentlyRemoved));
        }
        return state;
    }
}

package io.koperator.standin;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * One POST request as Cruise Control tracks it: Active while its proposal is computed,
 * InExecution while the proposal runs, then Completed or CompletedWithError. The HTTP answer
 * (the OptimizationResult or an error) is known before the task ends: an executing task has
 * already answered 200.
 */
public final class UserTask {
    public enum Status { Active, InExecution, Completed, CompletedWithError }

    /** A finished HTTP answer: status code and JSON body. */
    public record Answer(int code, String body) {}

    private final String id = UUID.randomUUID().toString();
    private final String endpoint;
    private final String requestUrl;
    private final String clientIdentity;
    private final String operation;
    private final long startMs = System.currentTimeMillis();
    private final CompletableFuture<Answer> answer = new CompletableFuture<>();
    private volatile Status status = Status.Active;
    private volatile String step = "PENDING";
    private volatile String stepDescription = "The request is queued.";
    private volatile long stepStartMs = startMs;
    private volatile String error = "";

    /**
     * @param operation Cruise Control's name for the work, shown in 202 progress answers
     *     ("Rebalance", "Add brokers"...)
     */
    public UserTask(String endpoint, String requestUrl, String clientIdentity, String operation) {
        this.endpoint = endpoint;
        this.requestUrl = requestUrl;
        this.clientIdentity = clientIdentity;
        this.operation = operation;
    }

    public String id() {
        return id;
    }

    public String endpoint() {
        return endpoint;
    }

    public String requestUrl() {
        return requestUrl;
    }

    public String clientIdentity() {
        return clientIdentity;
    }

    public String operation() {
        return operation;
    }

    public long startMs() {
        return startMs;
    }

    public Status status() {
        return status;
    }

    public String step() {
        return step;
    }

    public String stepDescription() {
        return stepDescription;
    }

    public long stepStartMs() {
        return stepStartMs;
    }

    /** Why the task ended CompletedWithError, empty otherwise. */
    public String error() {
        return error;
    }

    public CompletableFuture<Answer> answer() {
        return answer;
    }

    public boolean finished() {
        return status == Status.Completed || status == Status.CompletedWithError;
    }

    /** Records the step shown in 202 progress answers. */
    public void step(String name, String description) {
        step = name;
        stepDescription = description;
        stepStartMs = System.currentTimeMillis();
    }

    /** Answers the request; the task goes on in `next` (InExecution) or ends (Completed...). */
    public void answer(Answer result, Status next) {
        status = next;
        answer.complete(result);
    }

    /** Ends the task after its execution; `failure` is null on success. */
    public void finish(String failure) {
        if (failure != null) {
            error = failure;
        }
        status = failure == null ? Status.Completed : Status.CompletedWithError;
        step("COMPLETED", failure == null ? "The execution finished." : failure);
    }

    /** Fails the task before any execution started: the answer is the error. */
    public void fail(Answer errorAnswer, String message) {
        error = message;
        status = Status.CompletedWithError;
        step("COMPLETED", message);
        answer.complete(errorAnswer);
    }
}

package io.koperator.standin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Routes /kafkacruisecontrol/* requests. GETs answer at once; a POST becomes a user task whose
 * answer the request waits for up to webserver.request.maxBlockTimeMs, else it gets 202 with
 * the task's progress. Re-sending the request with the header User-Task-ID waits on that task
 * again. Every answer is JSON and every request is logged in one line.
 */
public final class HttpApi implements HttpHandler {
    static final String TASK_HEADER = "User-Task-ID";
    private static final Set<String> SUBSTATES = Set.of("monitor", "executor", "analyzer", "anomaly_detector");

    private record Reply(int code, String body, String taskId) {}

    private final StandinConfig config;
    private final ClusterReader reader;
    private final Executor executor;
    private final UserTasks tasks;
    private final Operations operations;
    private final ExecutorService workers;

    public HttpApi(StandinConfig config, ClusterReader reader, Executor executor, UserTasks tasks,
            Operations operations, ExecutorService workers) {
        this.config = config;
        this.reader = reader;
        this.executor = executor;
        this.tasks = tasks;
        this.operations = operations;
        this.workers = workers;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        long start = System.nanoTime();
        Reply reply;
        try {
            reply = route(exchange);
        } catch (Params.BadRequest e) {
            reply = new Reply(400, TaskJson.error(e.getMessage(), null), null);
        } catch (Throwable e) {
            reply = new Reply(500, TaskJson.error(Log.describe(e), e), null);
        }
        try (exchange) {
            byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            if (reply.taskId() != null) {
                exchange.getResponseHeaders().set(TASK_HEADER, reply.taskId());
            }
            exchange.sendResponseHeaders(reply.code(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        } finally {
            Log.info(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " -> " + reply.code() + " in "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms"
                    + (reply.taskId() == null ? "" : " (" + TASK_HEADER + " " + reply.taskId() + ")")
                    + (reply.code() >= 400 ? " " + reply.body().lines().findFirst().orElse("") : ""));
        }
    }

    private Reply route(HttpExchange exchange) throws Exception {
        URI uri = exchange.getRequestURI();
        String path = uri.getPath();
        if (!path.startsWith(config.urlPrefix())) {
            return new Reply(404, TaskJson.error("Unrecognized endpoint " + path + ": every endpoint is under "
                    + config.urlPrefix(), null), null);
        }
        String name = path.substring(config.urlPrefix().length()).replaceAll("/+$", "");
        Optional<Endpoint> found = Endpoint.byPath(name);
        if (found.isEmpty()) {
            boolean known = Endpoint.NOT_IMPLEMENTED.contains(name.toLowerCase(Locale.ROOT));
            return new Reply(known ? 501 : 404, TaskJson.error(known
                    ? "The test bed's Cruise Control stand-in does not implement " + name + "."
                    : "Unrecognized endpoint " + name + ".", null), null);
        }
        Endpoint endpoint = found.get();
        if (!endpoint.method().equalsIgnoreCase(exchange.getRequestMethod())) {
            return new Reply(405, TaskJson.error(endpoint.path() + " takes " + endpoint.method() + ", not "
                    + exchange.getRequestMethod() + ".", null), null);
        }
        Params params = Params.parse(uri.getRawQuery());
        params.allowOnly(endpoint.params());
        return endpoint.method().equals("GET") ? get(endpoint, params) : post(exchange, endpoint, params);
    }

    private Reply get(Endpoint endpoint, Params params) throws Exception {
        Object body = switch (endpoint) {
            case STATE -> state(params);
            case LOAD -> ClusterJson.load(reader.read(), Capacity.read(config.configDir()),
                    params.bool("populate_disk_info", false));
            case KAFKA_CLUSTER_STATE -> ClusterJson.kafkaClusterState(reader.read(), params.bool("verbose", false),
                    params.string("topic", ""));
            case USER_TASKS -> userTasks(params);
            default -> throw new IllegalStateException(endpoint.path() + " is not a GET endpoint");
        };
        return new Reply(200, Json.write(body), null);
    }

    private Map<String, Object> state(Params params) throws Exception {
        SortedSet<String> substates = new TreeSet<>();
        params.list("substates").forEach(s -> substates.add(s.toLowerCase(Locale.ROOT)));
        for (String substate : substates) {
            if (!SUBSTATES.contains(substate)) {
                throw new Params.BadRequest("Unknown substate " + substate + ", known: " + SUBSTATES + ".");
            }
        }
        Set<String> wanted = substates.isEmpty() ? SUBSTATES : Set.copyOf(substates);
        // The executor alone needs no Kafka call: it answers even while Kafka is unreachable.
        Cluster cluster = wanted.contains("monitor") || wanted.contains("anomaly_detector") ? reader.read() : null;
        Map<String, Object> state = new LinkedHashMap<>();
        if (wanted.contains("monitor")) {
            state.put("MonitorState", ClusterJson.monitorState(cluster, config.numWindows()));
        }
        if (wanted.contains("executor")) {
            state.put("ExecutorState", executor.stateJson());
        }
        if (wanted.contains("analyzer")) {
            state.put("AnalyzerState", ClusterJson.analyzerState(config.defaultGoals()));
        }
        if (wanted.contains("anomaly_detector")) {
            state.put("AnomalyDetectorState", ClusterJson.anomalyDetectorState(cluster));
        }
        state.put("version", 1);
        return state;
    }

    private Map<String, Object> userTasks(Params params) throws Params.BadRequest {
        List<UserTask> listed = tasks.list(params.list("user_task_ids"));
        long entries = params.positiveLong("entries");
        if (entries > 0 && listed.size() > entries) {
            listed = listed.subList((int) (listed.size() - entries), listed.size());
        }
        return TaskJson.userTasks(listed);
    }

    private Reply post(HttpExchange exchange, Endpoint endpoint, Params params) throws Exception {
        String header = exchange.getRequestHeaders().getFirst(TASK_HEADER);
        UserTask task;
        if (header != null && !header.isBlank()) {
            task = tasks.get(header.trim()).orElse(null);
            if (task == null) {
                return new Reply(400, TaskJson.error("User task " + header.trim() + " is not known here (Cruise "
                        + "Control forgets its user tasks when it restarts).", null), null);
            }
            if (!task.endpoint().equals(endpoint.path())) {
                return new Reply(400, TaskJson.error("User task " + task.id() + " belongs to " + task.requestUrl()
                        + ", not to " + endpoint.path() + ".", null), null);
            }
        } else {
            URI uri = exchange.getRequestURI();
            String url = "POST " + uri.getPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
            String client = exchange.getRemoteAddress().getAddress().getHostAddress();
            UserTask created = tasks.add(new UserTask(endpoint.path(), url, client, endpoint.operation()));
            workers.submit(() -> operations.run(created, endpoint, params));
            task = created;
        }
        try {
            UserTask.Answer answer = task.answer().get(config.maxBlock().toMillis(), TimeUnit.MILLISECONDS);
            return new Reply(answer.code(), answer.body(), task.id());
        } catch (TimeoutException stillComputing) {
            return new Reply(202, Json.write(TaskJson.progress(task)), task.id());
        }
    }
}

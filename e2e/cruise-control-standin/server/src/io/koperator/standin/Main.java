package io.koperator.standin;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The test bed's Cruise Control: speaks Cruise Control's REST API and moves replicas for real
 * through Kafka's AdminClient, planning from replica counts instead of a load model.
 *
 * <p>Usage: {@code Main cruisecontrol.properties [port]}, like kafka-cruise-control-start.sh.
 */
public final class Main {
    /** Timeout of each AdminClient call. */
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(30);
    /** Timeout of the reads behind GET answers: a client should hear of an unreachable Kafka soon. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(15);

    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Main cruisecontrol.properties [port]");
            System.exit(2);
        }
        StandinConfig config = StandinConfig.load(Path.of(args[0]), args.length > 1 ? Integer.parseInt(args[1]) : 0);
        Log.info("Cruise Control stand-in: AdminClient " + config.adminSummary());

        KafkaAdmin kafka = new KafkaAdmin(config.admin());
        ClusterReader reader = new ClusterReader(kafka, READ_TIMEOUT);
        Executor executor = new Executor(kafka, KAFKA_TIMEOUT, config.pollInterval());
        UserTasks tasks = new UserTasks();
        Operations operations = new Operations(reader, executor, config);

        // Requests block up to maxBlockTimeMs each, so the server needs many threads.
        ExecutorService requestThreads = Executors.newFixedThreadPool(32, daemon("http"));
        ExecutorService workers = Executors.newCachedThreadPool(daemon("user-task"));
        HttpServer server = HttpServer.create(new InetSocketAddress(config.address(), config.port()), 64);
        server.createContext(config.urlPrefix(), new HttpApi(config, reader, executor, tasks, operations, workers));
        server.createContext("/", new HttpApi(config, reader, executor, tasks, operations, workers));
        server.setExecutor(requestThreads);
        server.start();
        Log.info("Cruise Control stand-in listening on " + config.address() + ":" + config.port()
                + config.urlPrefix() + " (maxBlockTimeMs " + config.maxBlock().toMillis() + ")");

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Log.info("shutting down");
            server.stop(1);
            kafka.close(Duration.ofSeconds(5));
        }, "shutdown"));
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}

package com.linkedin.kafka.cruisecontrol.metricsreporter;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The test bed's stand-in for Cruise Control's metrics reporter. It has the real reporter's
 * class name and reads the real reporter's settings, so brokers configured with
 * {@code metric.reporters=com.linkedin.kafka.cruisecontrol.metricsreporter.CruiseControlMetricsReporter}
 * start, and it writes to the metrics topic as the real one does: a producer built from the
 * {@code cruise.control.metrics.reporter.*} settings with the prefix stripped (bootstrap
 * servers, security protocol, ssl.*), so a test sees the broker reach its cluster with the
 * client settings the operator wrote, TLS included. What it sends is a small JSON record per
 * interval, not Cruise Control's binary metrics: the Cruise Control stand-in plans from replica
 * counts and reads none.
 *
 * <p>Like the real reporter it creates the topic only with
 * {@code cruise.control.metrics.topic.auto.create=true} (and a partition count and replication
 * factor); otherwise it waits for the topic instead of letting the producer auto-create it.
 */
public class CruiseControlMetricsReporter implements MetricsReporter {
    static final String PREFIX = "cruise.control.metrics.reporter.";
    private static final String TOPIC = "cruise.control.metrics.topic";
    private static final String DEFAULT_TOPIC = "__CruiseControlMetrics";
    private static final String INTERVAL = PREFIX + "metrics.reporting.interval.ms";
    private static final long DEFAULT_INTERVAL_MS = 60_000;
    private static final String AUTO_CREATE = TOPIC + ".auto.create";
    private static final String PARTITIONS = TOPIC + ".num.partitions";
    private static final String REPLICATION_FACTOR = TOPIC + ".replication.factor";
    /** The first report goes out this soon after start (or after the interval, if shorter). */
    private static final long FIRST_REPORT_MS = 5_000;
    private static final long CALL_TIMEOUT_MS = 30_000;
    private static final Logger LOG = LoggerFactory.getLogger(CruiseControlMetricsReporter.class);

    private final Properties client = new Properties();
    private String topic = DEFAULT_TOPIC;
    private long intervalMs = DEFAULT_INTERVAL_MS;
    private String brokerId = "-1";
    private NewTopic topicToCreate;
    private volatile boolean shutdown;
    private Thread runner;

    @Override
    public void configure(Map<String, ?> configs) {
        Map<String, Object> logged = new TreeMap<>();
        configs.forEach((key, value) -> {
            if (key.startsWith(PREFIX) && value != null) {
                client.setProperty(key.substring(PREFIX.length()), String.valueOf(value));
                logged.put(key, shown(key, String.valueOf(value)));
            }
        });
        topic = string(configs, TOPIC, DEFAULT_TOPIC);
        intervalMs = Long.parseLong(string(configs, INTERVAL, Long.toString(DEFAULT_INTERVAL_MS)));
        brokerId = string(configs, "node.id", string(configs, "broker.id", "-1"));
        if (Boolean.parseBoolean(string(configs, AUTO_CREATE, "false"))) {
            int partitions = Integer.parseInt(string(configs, PARTITIONS, "-1"));
            short replicationFactor = Short.parseShort(string(configs, REPLICATION_FACTOR, "-1"));
            if (partitions > 0 && replicationFactor > 0) {
                topicToCreate = new NewTopic(topic, partitions, replicationFactor);
            } else {
                LOG.warn("{} needs {} and {}: the topic is not created", AUTO_CREATE, PARTITIONS, REPLICATION_FACTOR);
            }
        }
        LOG.info("CruiseControlMetricsReporter (test bed stand-in) configured with {}", logged);
    }

    @Override
    public void init(List<KafkaMetric> metrics) {
        runner = new Thread(this::run, "CruiseControlMetricsReporterRunner");
        runner.setDaemon(true);
        runner.start();
    }

    private void run() {
        if (!client.containsKey(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)) {
            LOG.warn("CruiseControlMetricsReporter: no {}bootstrap.servers, nothing is reported", PREFIX);
            return;
        }
        try (Admin admin = Admin.create(only(AdminClientConfig.configNames()));
                KafkaProducer<String, String> producer = new KafkaProducer<>(
                        only(ProducerConfig.configNames()), new StringSerializer(), new StringSerializer())) {
            long wait = Math.min(FIRST_REPORT_MS, intervalMs);
            boolean reported = false;
            while (!shutdown) {
                Thread.sleep(wait);
                wait = intervalMs;
                try {
                    if (topicToCreate != null) {
                        createTopic(admin);
                    }
                    // Describing first keeps the producer from auto-creating the topic.
                    admin.describeTopics(List.of(topic)).allTopicNames().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    long now = System.currentTimeMillis();
                    String record = "{\"brokerId\":" + brokerId + ",\"time\":" + now + ",\"standin\":true}";
                    producer.send(new ProducerRecord<>(topic, brokerId, record))
                            .get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    if (!reported) {
                        LOG.info("CruiseControlMetricsReporter: broker {} reported to {} over {}", brokerId, topic,
                                client.getProperty(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT"));
                        reported = true;
                    }
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        LOG.info("CruiseControlMetricsReporter: waiting for topic {}", topic);
                    } else {
                        LOG.warn("CruiseControlMetricsReporter: reporting to {} failed", topic, e.getCause());
                    }
                } catch (TimeoutException e) {
                    LOG.warn("CruiseControlMetricsReporter: reporting to {} timed out", topic);
                }
            }
        } catch (InterruptedException e) {
            // close(): the clients are closed on the way out, which an interrupted thread could not do.
            Thread.interrupted();
        } catch (RuntimeException e) {
            LOG.error("CruiseControlMetricsReporter: stopped", e);
        }
    }

    private void createTopic(Admin admin) throws InterruptedException, ExecutionException, TimeoutException {
        try {
            admin.createTopics(List.of(topicToCreate)).all().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            LOG.info("CruiseControlMetricsReporter: created topic {}", topic);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
        topicToCreate = null;
    }

    /** The client settings among the reporter's that `names` (a client's config names) knows. */
    private Properties only(Set<String> names) {
        Properties properties = new Properties();
        client.forEach((key, value) -> {
            if (names.contains((String) key)) {
                properties.put(key, value);
            }
        });
        return properties;
    }

    private static String string(Map<String, ?> configs, String key, String fallback) {
        Object value = configs.get(key);
        return value == null || String.valueOf(value).isBlank() ? fallback : String.valueOf(value).trim();
    }

    /**
     * A setting's value as logged: passwords, JAAS and private keys hidden, PEM certificates
     * (which the broker resolved from its config provider) summarised to keep the line one line.
     */
    static String shown(String key, String value) {
        if (key.contains("password") || key.contains("jaas") || key.endsWith("ssl.keystore.key")) {
            return "[hidden]";
        }
        return value.contains("-----BEGIN") ? "[PEM, " + value.length() + " characters]" : value;
    }

    @Override
    public void metricChange(KafkaMetric metric) {
        // Nothing is read from the metrics.
    }

    @Override
    public void metricRemoval(KafkaMetric metric) {
        // Nothing is read from the metrics.
    }

    @Override
    public void close() {
        shutdown = true;
        if (runner != null) {
            runner.interrupt();
            try {
                runner.join(Duration.ofSeconds(10).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

package com.linkedin.kafka.cruisecontrol.metricsreporter;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The test bed's stand-in for Cruise Control's metrics reporter. It has the real reporter's
 * class name, so brokers configured with
 * {@code metric.reporters=com.linkedin.kafka.cruisecontrol.metricsreporter.CruiseControlMetricsReporter}
 * start, but it sends nothing: the Cruise Control stand-in plans from replica counts and reads
 * no metrics. It logs its {@code cruise.control.metrics.reporter.*} settings once, so a test can
 * see the broker loaded it with the configuration the operator wrote.
 */
public class CruiseControlMetricsReporter implements MetricsReporter {
    static final String PREFIX = "cruise.control.metrics.reporter.";
    private static final Logger LOG = LoggerFactory.getLogger(CruiseControlMetricsReporter.class);

    @Override
    public void configure(Map<String, ?> configs) {
        Map<String, Object> settings = new TreeMap<>();
        configs.forEach((key, value) -> {
            if (key.startsWith(PREFIX)) {
                boolean secret = key.contains("password") || key.contains("jaas");
                settings.put(key, secret ? "[hidden]" : value);
            }
        });
        LOG.info("CruiseControlMetricsReporter (test bed stand-in, reports no metrics) configured with {}", settings);
    }

    @Override
    public void init(List<KafkaMetric> metrics) {
        // Nothing is reported.
    }

    @Override
    public void metricChange(KafkaMetric metric) {
        // Nothing is reported.
    }

    @Override
    public void metricRemoval(KafkaMetric metric) {
        // Nothing is reported.
    }

    @Override
    public void close() {
        // Nothing to release.
    }
}

package io.koperator.standin;

import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaException;

/**
 * The AdminClient, created on first use and again after a failed creation. Creating it fails
 * while no bootstrap server resolves (the cluster's Services may appear after Cruise Control
 * starts), and a request should then get an error answer rather than the process dying.
 */
public final class KafkaAdmin {
    private final Properties config;
    private Admin admin;

    public KafkaAdmin(Properties config) {
        this.config = config;
    }

    public synchronized Admin get() {
        if (admin == null) {
            try {
                admin = Admin.create(config);
            } catch (KafkaException e) {
                throw new KafkaException("cannot create the Kafka AdminClient for bootstrap.servers="
                        + config.getProperty("bootstrap.servers") + ": " + Log.describe(e), e);
            }
        }
        return admin;
    }

    public synchronized void close(java.time.Duration timeout) {
        if (admin != null) {
            admin.close(timeout);
        }
    }
}

#!/usr/bin/env bash
# Writes bin/ and config/ of a Kafka distribution whose libs/ already holds the jars from
# Maven Central, laid out like /opt/kafka in the official images:
#
#   kafka-dist.sh KAFKA_HOME VERSION
#
# Main classes moved between releases (3.9 → 4.x moved most tools to org.apache.kafka.tools),
# so each script gets the first candidate class that really exists in libs/.
set -euo pipefail

home=$1
version=$2
mkdir -p "$home/bin" "$home/config"

class_index=$(mktemp)
trap 'rm -f "$class_index"' EXIT
for jar in "$home"/libs/*.jar; do
    unzip -Z1 "$jar" 2>/dev/null | sed -n 's#\.class$##p' | tr / .
done | sort -u > "$class_index"

pick_class() {
    local candidate
    for candidate in "$@"; do
        if grep -qxF "$candidate" "$class_index"; then
            echo "$candidate"
            return
        fi
    done
    echo "kafka-dist: none of [$*] exists in $home/libs" >&2
    return 1
}

if [[ $version == 3.* ]]; then
    log4j=1
else
    log4j=2
fi

# --- config/ -------------------------------------------------------------------------
if ((log4j == 1)); then
    cat > "$home/config/log4j.properties" <<'EOF'
# Broker logging: everything to stdout (the test bed's pod logs), like the official images.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.zookeeper=INFO
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.controller=TRACE
log4j.logger.kafka.log.LogCleaner=INFO
log4j.logger.state.change.logger=INFO
log4j.logger.kafka.authorizer.logger=INFO
EOF
    cat > "$home/config/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
EOF
    server_log4j_opts='-Dlog4j.configuration=file:$base_dir/../config/log4j.properties'
    tools_log4j_opts='-Dlog4j.configuration=file:$base_dir/../config/tools-log4j.properties'
else
    # Properties syntax: log4j2.yaml (Kafka's default) would need jackson-dataformat-yaml.
    cat > "$home/config/log4j2.properties" <<'EOF'
# Broker logging: everything to stdout (the test bed's pod logs), like the official images.
status = warn
name = KafkaServer
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.statechange.name = state.change.logger
logger.statechange.level = info
EOF
    cat > "$home/config/tools-log4j2.properties" <<'EOF'
status = warn
name = KafkaTools
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
EOF
    server_log4j_opts='-Dlog4j2.configurationFile=$base_dir/../config/log4j2.properties'
    tools_log4j_opts='-Dlog4j2.configurationFile=$base_dir/../config/tools-log4j2.properties'
fi

cat > "$home/config/server.properties" <<'EOF'
# Single-node KRaft sample (broker and controller in one process) on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF

# --- bin/kafka-run-class.sh ------------------------------------------------------------
cat > "$home/bin/kafka-run-class.sh" <<EOF
#!/usr/bin/env bash
# Runs a Kafka class with libs/* on the classpath, honouring the environment variables
# of Apache Kafka's own script: JAVA_HOME, KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS,
# KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS/JMX_PORT, KAFKA_LOG4J_OPTS, KAFKA_OPTS, LOG_DIR, CLASSPATH.
# Kafka $version, log4j $log4j.x.
if [ \$# -lt 1 ]; then
  echo "USAGE: \$0 [-daemon] [-name servicename] [-loggc] classname [opts]" >&2
  exit 1
fi
base_dir=\$(cd "\$(dirname "\$0")" && pwd)

CLASSPATH="\${CLASSPATH:+\$CLASSPATH:}\$base_dir/../libs/*"

if [ -z "\$KAFKA_JMX_OPTS" ]; then
  KAFKA_JMX_OPTS="-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
fi
if [ -n "\$JMX_PORT" ]; then
  KAFKA_JMX_OPTS="\$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.port=\$JMX_PORT"
  if ! echo "\$KAFKA_JMX_OPTS" | grep -qF -- "-Dcom.sun.management.jmxremote.rmi.port=" ; then
    KAFKA_JMX_OPTS="\$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.rmi.port=\$JMX_PORT"
  fi
fi

LOG_DIR=\${LOG_DIR:-\$base_dir/../logs}
if [ -z "\$KAFKA_LOG4J_OPTS" ]; then
  KAFKA_LOG4J_OPTS="$tools_log4j_opts"
EOF
if ((log4j == 2)); then
    cat >> "$home/bin/kafka-run-class.sh" <<'EOF'
elif echo "$KAFKA_LOG4J_OPTS" | grep -qE -- "-Dlog4j\.config(uration)?="; then
  # A Log4j 1.x configuration: the log4j-1.2-api bridge reads it in compatibility mode.
  KAFKA_LOG4J_OPTS="$KAFKA_LOG4J_OPTS -Dlog4j1.compatibility=true"
EOF
fi
cat >> "$home/bin/kafka-run-class.sh" <<'EOF'
fi
KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"

KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256M}
if [ -z "$KAFKA_JVM_PERFORMANCE_OPTS" ]; then
  KAFKA_JVM_PERFORMANCE_OPTS="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
fi

if [ -n "$JAVA_HOME" ]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="java"
fi

DAEMON_MODE=false
GC_LOG_ENABLED=false
DAEMON_NAME=""
while [ $# -gt 0 ]; do
  case "$1" in
    -name) DAEMON_NAME=$2; CONSOLE_OUTPUT_FILE=$LOG_DIR/$DAEMON_NAME.out; shift 2 ;;
    -loggc) GC_LOG_ENABLED=true; shift ;;
    -daemon) DAEMON_MODE=true; shift ;;
    *) break ;;
  esac
done

if [ "$GC_LOG_ENABLED" = "true" ]; then
  mkdir -p "$LOG_DIR"
  KAFKA_GC_LOG_OPTS="-Xlog:gc*:file=$LOG_DIR/${DAEMON_NAME:-kafka}-gc.log:time,tags:filecount=10,filesize=100M"
fi

# Word splitting of the *_OPTS variables is intended, as in Kafka's script.
# shellcheck disable=SC2086
if [ "$DAEMON_MODE" = "true" ]; then
  mkdir -p "$LOG_DIR"
  nohup "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS \
    -cp "$CLASSPATH" $KAFKA_OPTS "$@" > "${CONSOLE_OUTPUT_FILE:-$LOG_DIR/kafka.out}" 2>&1 < /dev/null &
else
  exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS \
    -cp "$CLASSPATH" $KAFKA_OPTS "$@"
fi
EOF

# --- bin/kafka-server-start.sh / kafka-server-stop.sh ----------------------------------
server_class=$(pick_class kafka.Kafka)
cat > "$home/bin/kafka-server-start.sh" <<EOF
#!/usr/bin/env bash
if [ \$# -lt 1 ]; then
  echo "USAGE: \$0 [-daemon] server.properties [--override property=value]*" >&2
  exit 1
fi
base_dir=\$(cd "\$(dirname "\$0")" && pwd)
if [ -z "\$KAFKA_LOG4J_OPTS" ]; then
  export KAFKA_LOG4J_OPTS="$server_log4j_opts"
fi
if [ -z "\$KAFKA_HEAP_OPTS" ]; then
  export KAFKA_HEAP_OPTS="-Xmx1G -Xms1G"
fi
EXTRA_ARGS=\${EXTRA_ARGS-'-name kafkaServer -loggc'}
if [ "\$1" = "-daemon" ]; then
  EXTRA_ARGS="-daemon \$EXTRA_ARGS"
  shift
fi
# shellcheck disable=SC2086
exec "\$base_dir/kafka-run-class.sh" \$EXTRA_ARGS $server_class "\$@"
EOF

cat > "$home/bin/kafka-server-stop.sh" <<'EOF'
#!/usr/bin/env bash
# Stops every Kafka server (kafka.Kafka JVM) visible to this process, like Kafka's script;
# --process-role broker|controller and --node-id N narrow it down by reading each server's
# properties file. SIGNAL overrides the default TERM.
SIGNAL=${SIGNAL:-TERM}
ROLE=""
NODE_ID=""
while [ $# -gt 0 ]; do
  case "$1" in
    --process-role) ROLE=$2; shift 2 ;;
    --node-id) NODE_ID=$2; shift 2 ;;
    *) echo "USAGE: $0 [--process-role broker|controller] [--node-id N]" >&2; exit 1 ;;
  esac
done

config_value() { sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" 2>/dev/null | tail -n1 | tr -d '[:space:]'; }

PIDS=""
for cmdline in /proc/[0-9]*/cmdline; do
  pid=${cmdline#/proc/}; pid=${pid%/cmdline}
  args=$(tr '\0' '\n' 2>/dev/null < "$cmdline") || continue
  echo "$args" | grep -qx 'kafka\.Kafka' || continue
  config=$(echo "$args" | grep -A1 -x 'kafka\.Kafka' | tail -n1)
  if [ -n "$ROLE" ] && [ "$(config_value "$config" process.roles)" != "$ROLE" ]; then continue; fi
  if [ -n "$NODE_ID" ] && [ "$(config_value "$config" node.id)" != "$NODE_ID" ]; then continue; fi
  PIDS="$PIDS $pid"
done

if [ -z "$PIDS" ]; then
  echo "No kafka server to stop"
  exit 1
fi
# shellcheck disable=SC2086
kill -s "$SIGNAL" $PIDS
EOF

# --- bin/<tool>.sh -----------------------------------------------------------------------
write_tool() {
    local script=$1 class
    shift
    class=$(pick_class "$@")
    cat > "$home/bin/$script" <<EOF
#!/usr/bin/env bash
exec "\$(dirname "\$0")/kafka-run-class.sh" $class "\$@"
EOF
}

write_tool kafka-storage.sh kafka.tools.StorageTool
write_tool kafka-topics.sh org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand
write_tool kafka-configs.sh org.apache.kafka.tools.ConfigCommand kafka.admin.ConfigCommand
write_tool kafka-metadata-quorum.sh org.apache.kafka.tools.MetadataQuorumCommand
write_tool kafka-console-producer.sh org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer
write_tool kafka-console-consumer.sh org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer
write_tool kafka-reassign-partitions.sh org.apache.kafka.tools.reassign.ReassignPartitionsCommand \
    kafka.admin.ReassignPartitionsCommand
write_tool kafka-broker-api-versions.sh org.apache.kafka.tools.BrokerApiVersionsCommand \
    kafka.admin.BrokerApiVersionsCommand
write_tool kafka-consumer-groups.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    kafka.admin.ConsumerGroupCommand
write_tool kafka-log-dirs.sh org.apache.kafka.tools.LogDirsCommand kafka.admin.LogDirsCommand
write_tool kafka-features.sh org.apache.kafka.tools.FeatureCommand kafka.admin.FeatureCommand
write_tool kafka-get-offsets.sh org.apache.kafka.tools.GetOffsetShell kafka.tools.GetOffsetShell
write_tool kafka-acls.sh org.apache.kafka.tools.AclCommand kafka.admin.AclCommand

if ((log4j == 1)); then
    zookeeper_class=$(pick_class org.apache.zookeeper.server.quorum.QuorumPeerMain)
    cat > "$home/bin/zookeeper-server-start.sh" <<EOF
#!/usr/bin/env bash
if [ \$# -lt 1 ]; then
  echo "USAGE: \$0 [-daemon] zookeeper.properties" >&2
  exit 1
fi
base_dir=\$(cd "\$(dirname "\$0")" && pwd)
if [ -z "\$KAFKA_LOG4J_OPTS" ]; then
  export KAFKA_LOG4J_OPTS="$server_log4j_opts"
fi
if [ -z "\$KAFKA_HEAP_OPTS" ]; then
  export KAFKA_HEAP_OPTS="-Xmx512M -Xms512M"
fi
EXTRA_ARGS=\${EXTRA_ARGS-'-name zookeeper -loggc'}
if [ "\$1" = "-daemon" ]; then
  EXTRA_ARGS="-daemon \$EXTRA_ARGS"
  shift
fi
# shellcheck disable=SC2086
exec "\$base_dir/kafka-run-class.sh" \$EXTRA_ARGS $zookeeper_class "\$@"
EOF
    cat > "$home/config/zookeeper.properties" <<'EOF'
dataDir=/tmp/zookeeper
clientPort=2181
maxClientCnxns=0
admin.enableServer=false
EOF
fi

chmod +x "$home"/bin/*.sh
echo "$version" > "$home/VERSION"

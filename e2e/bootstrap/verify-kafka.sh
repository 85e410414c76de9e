#!/usr/bin/env bash
# Proves a Kafka distribution works: formats storage, starts a single-node KRaft broker on
# loopback in a temporary directory, creates a topic with kafka-topics.sh, lists metadata
# with kcat (an independent client), then stops the broker.
#
#   verify-kafka.sh KAFKA_HOME VERSION
set -euo pipefail

home=$1
version=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/kafka-verify-$version.XXXXXX")
broker_pid=""

cleanup() {
    if [[ -n $broker_pid ]] && kill -0 "$broker_pid" 2>/dev/null; then
        kill "$broker_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

log() { printf '[verify-kafka %s %s] %s\n' "$version" "$(date +%H:%M:%S)" "$*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
controller_port=$(free_port)
node_id=$((7000 + RANDOM % 1000))

cat > "$work/server.properties" <<EOF
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$node_id@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$work/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
EOF

export KAFKA_HEAP_OPTS="-Xmx512M -Xms256M" LOG_DIR=$work/logs
cluster_id=$("$home/bin/kafka-storage.sh" random-uuid)
"$home/bin/kafka-storage.sh" format -t "$cluster_id" -c "$work/server.properties" > "$work/format.log"
log "formatted storage (cluster $cluster_id); starting broker on 127.0.0.1:$port"

"$home/bin/kafka-server-start.sh" "$work/server.properties" > "$work/server.log" 2>&1 &
broker_pid=$!

deadline=$((SECONDS + 90))
until "$home/bin/kafka-topics.sh" --bootstrap-server "127.0.0.1:$port" \
    --create --topic verify --partitions 3 --replication-factor 1 > "$work/topic.log" 2>&1; do
    if ! kill -0 "$broker_pid" 2>/dev/null || ((SECONDS > deadline)); then
        tail -n 40 "$work/server.log" "$work/topic.log" >&2
        log "FAILED: broker did not accept a topic"
        exit 1
    fi
    sleep 1
done
"$home/bin/kafka-topics.sh" --bootstrap-server "127.0.0.1:$port" --describe --topic verify | grep -q 'PartitionCount: 3'

metadata=$(kcat -L -b "127.0.0.1:$port" -t verify)
grep -q 'topic "verify" with 3 partitions' <<< "$metadata" || {
    echo "$metadata" >&2
    log "FAILED: kcat does not see the topic"
    exit 1
}
echo "hello" | kcat -P -b "127.0.0.1:$port" -t verify -p 0
[[ $(kcat -C -b "127.0.0.1:$port" -t verify -p 0 -o beginning -c 1 -e -q) == hello ]] || {
    log "FAILED: kcat round trip"
    exit 1
}

bootstrap=(--bootstrap-server "127.0.0.1:$port")
"$home/bin/kafka-metadata-quorum.sh" "${bootstrap[@]}" describe --status | grep -q "LeaderId:[[:space:]]*$node_id"
"$home/bin/kafka-configs.sh" "${bootstrap[@]}" --alter --entity-type topics --entity-name verify \
    --add-config retention.ms=3600000 > /dev/null
"$home/bin/kafka-configs.sh" "${bootstrap[@]}" --describe --entity-type topics --entity-name verify | grep -q retention.ms=3600000
"$home/bin/kafka-broker-api-versions.sh" "${bootstrap[@]}" | grep -q "(id: $node_id"
echo "from-console" | "$home/bin/kafka-console-producer.sh" "${bootstrap[@]}" --topic verify > /dev/null
"$home/bin/kafka-console-consumer.sh" "${bootstrap[@]}" --topic verify --from-beginning --max-messages 2 \
    --timeout-ms 30000 2> /dev/null | grep -q from-console
log "tools OK: metadata-quorum, configs, broker-api-versions, console producer/consumer"

# Our kafka-server-stop.sh, narrowed to this broker's (random) node id so that other
# brokers on the machine are left alone.
"$home/bin/kafka-server-stop.sh" --node-id "$node_id" > /dev/null
for _ in $(seq 1 60); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$broker_pid" 2>/dev/null; then
    log "FAILED: broker still running 30s after kafka-server-stop.sh"
    exit 1
fi
grep -qiE 'shut(ting)? ?down' "$work/server.log" || {
    log "FAILED: no shutdown in the broker log (is logging configured?)"
    exit 1
}
broker_pid=""
log "OK: KRaft broker started, topic created, kcat produced/consumed, broker stopped"

#!/usr/bin/env bash
# Proves a built Cruise Control stand-in works against a real broker, on loopback in a temporary
# directory: a single-node KRaft broker with two log dirs (JBOD) that loads the stand-in's
# metrics reporter, and the stand-in started through the image's own start script. Checks the
# GET endpoints, remove_disks that really empties a log dir, a rebalance_disk=true that really
# spreads the replicas over both again, error answers, and user_tasks. (Moves between brokers
# need several brokers: e2e/crates/e2e-tests/tests/cruise_control_standin.rs covers them.)
#
#   verify-cruise-control-standin.sh STANDIN_DIR KAFKA_HOME
set -euo pipefail

standin=$1/opt/cruise-control
home=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cc-standin-verify.XXXXXX")
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

log() { printf '[verify-cc-standin %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() {
    log "FAILED: $*"
    tail -n 30 "$work/standin.log" "$work/server.log" >&2 || true
    exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port=$(free_port)
controller_port=$(free_port)
cc_port=$(free_port)
node_id=$((8000 + RANDOM % 1000))
mkdir -p "$work/extensions" "$work/config"
cp "$standin/cruise-control/build/dependant-libs/cruise-control-metrics-reporter.jar" "$work/extensions/"
cat > "$work/server.properties" <<EOF
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$node_id@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$work/d1,$work/d2
offsets.topic.replication.factor=1
metric.reporters=com.linkedin.kafka.cruisecontrol.metricsreporter.CruiseControlMetricsReporter
cruise.control.metrics.reporter.bootstrap.servers=127.0.0.1:$port
cruise.control.metrics.reporter.metrics.reporting.interval.ms=1000
EOF
export KAFKA_HEAP_OPTS="-Xmx512M -Xms256M" LOG_DIR=$work/logs
"$home/bin/kafka-storage.sh" format -t "$("$home/bin/kafka-storage.sh" random-uuid)" \
    -c "$work/server.properties" > "$work/format.log"
CLASSPATH="$work/extensions/*" "$home/bin/kafka-server-start.sh" "$work/server.properties" > "$work/server.log" 2>&1 &
pids+=($!)

topics=("$home/bin/kafka-topics.sh" --bootstrap-server "127.0.0.1:$port")
deadline=$((SECONDS + 90))
until "${topics[@]}" --create --topic moved --replica-assignment "$(printf "$node_id,%.0s" 1 2 3 4)$node_id" \
    > /dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "the broker did not accept a topic"
    sleep 1
done
grep -q 'CruiseControlMetricsReporter (test bed stand-in) configured with' "$work/server.log" \
    || fail "the broker did not load the stand-in metrics reporter"
log "broker $node_id on 127.0.0.1:$port loaded the stand-in metrics reporter"

cat > "$work/config/cruisecontrol.properties" <<EOF
bootstrap.servers=127.0.0.1:$port
webserver.http.address=127.0.0.1
webserver.request.maxBlockTimeMs=300
EOF
# The image's start script, with the config dir the ConfigMap would be.
cp -r "$standin/." "$work/image"
cp "$work/config/cruisecontrol.properties" "$work/image/config/"
sed -i "s/ 8090\$/ $cc_port/" "$work/image/start.sh"
"$work/image/start.sh" > "$work/standin.log" 2>&1 &
pids+=($!)
cc=http://127.0.0.1:$cc_port/kafkacruisecontrol
deadline=$((SECONDS + 60))
until curl -sf "$cc/state?json=true" -o "$work/state.json"; do
    ((SECONDS < deadline)) || fail "the stand-in did not answer /state"
    sleep 1
done
grep -q '"ExecutorState":{"state":"NO_TASK_IN_PROGRESS"' "$work/state.json" || fail "state: $(cat "$work/state.json")"
grep -q '"MonitorState":{"state":"RUNNING"' "$work/state.json" || fail "state: $(cat "$work/state.json")"
curl -sf "$cc/kafka_cluster_state?json=true" | grep -q "\"OnlineLogDirsByBrokerId\":{\"$node_id\":\[\"$work/d1\",\"$work/d2\"\]" \
    || fail "kafka_cluster_state does not list both log dirs"
curl -sf "$cc/load?json=true" | grep -q "\"Broker\":$node_id,\"BrokerState\":\"ALIVE\"" || fail "load"

# replicas_in DIR: how many partitions of "moved" the broker keeps in DIR.
replicas_in() {
    "$home/bin/kafka-log-dirs.sh" --bootstrap-server "127.0.0.1:$port" --describe --broker-list "$node_id" \
        --topic-list moved 2>/dev/null | grep '^{' | python3 -c '
import json, sys
data = json.load(sys.stdin)
print(sum(len(d["partitions"]) for b in data["brokers"] for d in b["logDirs"] if d["logDir"] == sys.argv[1]))' "$1"
}
# post PATH: POSTs, follows 202 answers with User-Task-ID, prints "<code> <body>".
post() {
    local headers=$work/headers body code task=""
    for _ in $(seq 1 120); do
        code=$(curl -s -X POST -D "$headers" -o "$work/body" -w '%{http_code}' ${task:+-H "User-Task-ID: $task"} "$cc/$1")
        task=$(sed -n 's/^User-Task-ID: *\([^[:space:]]*\).*/\1/ip' "$headers")
        [[ $code == 202 ]] || break
        sleep 0.5
    done
    echo "$code $task $(cat "$work/body")"
}
wait_completed() {
    for _ in $(seq 1 120); do
        curl -sf "$cc/user_tasks?json=true&user_task_ids=$1" | grep -q '"Status":"Completed"' && return 0
        sleep 0.5
    done
    fail "task $1 did not complete: $(curl -s "$cc/user_tasks?json=true")"
}

# Kafka spreads new partitions over both log dirs: first gather them all in d1.
read -r code task body <<< "$(post "remove_disks?brokerid_and_logdirs=$node_id-$work/d2&dryrun=false&json=true")"
[[ $code == 200 ]] || fail "remove_disks: $code $body"
wait_completed "$task"
[[ $(replicas_in "$work/d1") == 5 && $(replicas_in "$work/d2") == 0 ]] || fail "remove_disks left replicas in d2"
log "remove_disks emptied $work/d2"

read -r code task body <<< "$(post 'rebalance?rebalance_disk=true&dryrun=false&json=true')"
[[ $code == 200 && $body == *'"numIntraBrokerReplicaMovements":2'* ]] || fail "rebalance_disk: $code $body"
wait_completed "$task"
[[ $(replicas_in "$work/d1") == 3 && $(replicas_in "$work/d2") == 2 ]] \
    || fail "after rebalance_disk: d1 $(replicas_in "$work/d1"), d2 $(replicas_in "$work/d2")"
log "rebalance_disk=true moved 2 of 5 replicas to the empty log dir"

read -r code task body <<< "$(post 'add_broker?brokerid=99&dryrun=false&json=true')"
[[ $code == 500 && $body == *'"errorMessage":"Broker 99 does not exist'* && -n $task ]] \
    || fail "add_broker 99: $code $body"
read -r code task body <<< "$(post "remove_disks?brokerid_and_logdirs=$node_id-$work/d1,$node_id-$work/d2&json=true")"
[[ $code == 500 && $body == *'no other online log dir'* ]] || fail "removing the last log dir: $code $body"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$cc/no_such_endpoint") == 404 ]] || fail "unknown endpoint is not 404"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$cc/rebalance?brokerids=1") == 400 ]] \
    || fail "an unknown parameter is not 400"
curl -sf "$cc/user_tasks?json=true" | grep -q '"Status":"CompletedWithError"' || fail "user_tasks lacks the failures"
log "OK: state, kafka_cluster_state, load, rebalance_disk, remove_disks, errors, user_tasks"

# The reporter waits for its topic (nothing auto-creates it here, and a topic from the start
# would change the replica counts above), then writes to it.
"${topics[@]}" --create --topic __CruiseControlMetrics --partitions 1 --replication-factor 1 > /dev/null
deadline=$((SECONDS + 30))
until [[ $("$home/bin/kafka-get-offsets.sh" --bootstrap-server "127.0.0.1:$port" --topic __CruiseControlMetrics \
    2>/dev/null | cut -d: -f3) -gt 0 ]]; do
    ((SECONDS < deadline)) || fail "the metrics reporter wrote nothing to __CruiseControlMetrics"
    sleep 1
done
grep -q "CruiseControlMetricsReporter: broker $node_id reported to __CruiseControlMetrics over PLAINTEXT" \
    "$work/server.log" || fail "the metrics reporter did not log its first report"
log "OK: the metrics reporter writes to __CruiseControlMetrics"

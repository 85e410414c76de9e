#!/usr/bin/env bash
# Benchmark of the topic controller (release build) on the test bed, against a real Kafka
# cluster: the combined KRaft sample (3 brokers, Kafka 3.9.1) named `kafka`. Creates N
# KafkaTopics (1 partition, 1 replica, one config key) as fast as the apiserver takes them and
# prints:
#   - time to create the N KafkaTopics (kubectl create, 8 in parallel)
#   - time from the last KafkaTopic created to N topics in Kafka (kcat's metadata)
#   - time from the last KafkaTopic created to all N settled (Ready True, or Degraded True);
#     every KafkaTopic is valid, so any not Ready at the end fails the benchmark
#   - topic controller RSS with N topics, idle
#   - API writes and Kafka write requests during one idle resync (the target is zero)
# Usage: e2e/bench/topic-controller.sh [N topics, default 10000]
# Environment: KAFKA_HEAP (default the sample's "-Xmx512M -Xms512M"), RESYNC (default 30s),
# RUST_LOG of the topic controller (default info; topic_controller=debug is always added: the
# idle measurement counts its "pass done" lines, which also give each pass's time),
# CLUSTER_RUST_LOG of the cluster controller (default info,cluster_controller=debug), KEEP (set:
# leave the namespace, the cluster and the KafkaTopics in place after the run), LIMIT
# (default 900: seconds after the last KafkaTopic created before giving up on Kafka or Ready).
# Logs: target/bench-topic-controller.log, target/bench-topic-cluster-controller.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One run at a time: the namespace and the ports are fixed.
mkdir -p target
exec 9>target/bench-topic-controller.lock
if ! flock -n 9; then
    echo "another e2e/bench/topic-controller.sh is running (same namespace and ports); try again later" >&2
    exit 1
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
export KUBECONFIG=$PWD/target/testbed/kubeconfig
source "${KOPERATOR_CACHE:-$HOME/.cache/koperator}/toolchain.env"
kubectl() { "$KUBECTL" "$@"; }
topics=${1:-10000}
namespace=bench-topic-controller
grpc=127.0.0.1:19592
cluster_metrics=127.0.0.1:18182
topic_metrics=127.0.0.1:18183
resync=${RESYNC:-30s}
heap=${KAFKA_HEAP:--Xmx512M -Xms512M}
bootstrap=kafka-all-broker.$namespace.svc.cluster.local:29092
log=target/bench-topic-controller.log
work=$(mktemp -d)

# KafkaTopics keep finalizers while no controller runs: strip them so the namespace can go.
strip_finalizers() {
    kubectl get kafkatopics -n "$namespace" -o name 2>/dev/null |
        xargs -r -P 8 -n 100 "$KUBECTL" patch -n "$namespace" --type merge \
            -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
}
remove_namespace() {
    kubectl get namespace "$namespace" >/dev/null 2>&1 || return 0
    strip_finalizers
    kubectl delete pods -n "$namespace" --all --grace-period=0 --force >/dev/null 2>&1 || true
    kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true
}

# The test bed outlives this run: its daemons must not inherit (and hold) the lock.
e2e/testbed up >/dev/null 9>&-
e2e/bench/build-release.sh cluster-controller topic-controller
kubectl apply --server-side -f deploy/crds/ >/dev/null
remove_namespace
kubectl wait --for=delete "namespace/$namespace" --timeout=180s >/dev/null 2>&1 || true
kubectl create namespace "$namespace" >/dev/null

RUST_LOG=${CLUSTER_RUST_LOG:-info,cluster_controller=debug} e2e/testbed exec -- \
    "$CARGO_TARGET_DIR/release/cluster-controller" --namespace "$namespace" \
    --leader-election=false --metrics-addr "$cluster_metrics" --grpc-addr "$grpc" \
    >target/bench-topic-cluster-controller.log 2>&1 9>&- &
cluster_controller=$!
RUST_LOG=${RUST_LOG:-info},topic_controller=debug e2e/testbed exec -- "$CARGO_TARGET_DIR/release/topic-controller" \
    --namespace "$namespace" --leader-election=false --metrics-addr "$topic_metrics" \
    --cluster-access-endpoint "http://$grpc" --resync-interval "$resync" >"$log" 2>&1 9>&- &
topic_controller=$!
for _ in $(seq 300); do
    curl -sf "http://$cluster_metrics/readyz" >/dev/null && curl -sf "http://$topic_metrics/readyz" >/dev/null && break
    sleep 0.2
done
cleanup() {
    if [[ -n ${KEEP:-} ]]; then
        # For profiling the controller against N in-sync topics: restart it by hand.
        kill -TERM "$topic_controller" "$cluster_controller" 2>/dev/null || true
        echo "KEEP set: namespace $namespace kept with its cluster and KafkaTopics; the next run removes them" >&2
        return
    fi
    # The cluster goes first: the topic controller then releases every deleted KafkaTopic
    # (nothing left to delete the topic from) instead of deleting 10,000 topics one by one.
    kubectl delete kafkacluster kafka -n "$namespace" --wait=false >/dev/null 2>&1 || true
    kubectl delete pods -n "$namespace" --all --grace-period=0 --force >/dev/null 2>&1 || true
    kubectl delete kafkatopics -n "$namespace" --all --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 120); do
        [[ $(kubectl get kafkatopics -n "$namespace" -o name 2>/dev/null | wc -l) -eq 0 ]] && break
        sleep 1
    done
    kill -TERM "$topic_controller" "$cluster_controller" 2>/dev/null || true
    remove_namespace
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
utc() { date -u -d "@$1" +%T.%1N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%7.1f", a - b}'; }
# The real binary's pid: `e2e/testbed exec` may run it as a child.
# Anchored: the wrapper's command line names the binary too, but does not start with it.
controller_pid() { pgrep -f "^$CARGO_TARGET_DIR/release/topic-controller --namespace $namespace" | head -n 1; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$(controller_pid)/status"; }
metrics() { curl -s "http://$topic_metrics/metrics"; }
# Sum of a counter's samples whose line matches the regular expression $2.
counter() { metrics | awk -v name="$1" -v pattern="${2:-.}" '$1 ~ "^"name && $0 ~ pattern {sum += $NF} END {print sum + 0}'; }
api_writes() { counter koperator_topic_controller_writes_total; }
kafka_writes() {
    counter koperator_topic_controller_kafka_requests_total \
        'operation="(CreateTopics|CreatePartitions|IncrementalAlterConfigs|DeleteTopics)"'
}
metadata_requests() { counter koperator_topic_controller_kafka_requests_total 'operation="Metadata"'; }
in_kafka() {
    e2e/testbed exec -- kcat -L -b "$bootstrap" -m 30 2>/dev/null | grep -c 'topic "bench-' || true
}
# Settled = Ready True, or Degraded True (waiting for the user). Polled: a `kubectl --watch`
# of 10,000 objects was closed by the apiserver mid-run. Listing 10,000 KafkaTopics takes a
# few seconds, which is the resolution of the "settled" figure.
settled_counts() {
    kubectl get kafkatopics -n "$namespace" --chunk-size=2000 \
        -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status},{.status.conditions[?(@.type=="Degraded")].status}{"\n"}{end}' |
        awk -F, '$1 == "True" {r++} $1 != "True" && $2 == "True" {d++} END {print r + 0, d + 0}'
}
passes() { sed 's/\x1b\[[0-9;]*m//g' "$log" | grep 'pass done' || true; }

# The cluster: the combined sample with small requests (the test bed does not enforce them).
sed -e "s|^      kafkaHeapOpts: .*|      kafkaHeapOpts: \"$heap\"\n      resourceRequirements: {requests: {cpu: 100m, memory: 512Mi}}|" \
    deploy/samples/kafkacluster-kraft-combined.yaml | kubectl apply -n "$namespace" -f - >/dev/null
cluster_start=$(now)
waited=0
until [[ $(kubectl get kafkacluster kafka -n "$namespace" -o jsonpath='{.status.state}') == ClusterRunning ]]; do
    sleep 1
    waited=$((waited + 1))
    if [[ $waited -eq 90 || $waited -ge 600 ]]; then
        echo "the cluster is not ClusterRunning after $waited s; its status:" >&2
        kubectl get kafkacluster kafka -n "$namespace" -o jsonpath='{.status}' >&2
        echo >&2
        [[ $waited -lt 600 ]] || exit 1
    fi
done
cluster_running=$(now)

# N KafkaTopics in files of 250, created 8 files at a time.
for ((i = 1; i <= topics; i++)); do
    printf -- '---\napiVersion: kafka.banzaicloud.io/v1alpha1\nkind: KafkaTopic\nmetadata:\n  name: bench-%05d\nspec:\n  clusterRef:\n    name: kafka\n  name: bench-%05d\n  partitions: 1\n  replicationFactor: 1\n  config:\n    retention.ms: "86400000"\n' "$i" "$i"
done | split -l $((250 * 13)) - "$work/topics-"
requests_before=$(metrics)
start=$(now)
printf '%s\n' "$work"/topics-* | xargs -P 8 -n 1 "$KUBECTL" create -n "$namespace" -f >/dev/null
created=$(now)

# Gives up after $limit s from the last KafkaTopic created, showing where the KafkaTopics stand.
limit=${LIMIT:-900}
give_up() {
    echo "$1 within $limit s of the last KafkaTopic created; KafkaTopics by state and Ready reason:" >&2
    kubectl get kafkatopics -n "$namespace" --chunk-size=2000 \
        -o jsonpath='{range .items[*]}{.status.state} {.status.conditions[?(@.type=="Ready")].reason}{"\n"}{end}' |
        sort | uniq -c >&2
    exit 1
}
until [[ $(in_kafka) -ge $topics ]]; do
    [[ $(seconds "$(now)" "$created" | cut -d. -f1) -lt $limit ]] || give_up "not all $topics topics are in Kafka"
    sleep 1
done
all_in_kafka=$(now)
while read -r settled_ready settled_degraded < <(settled_counts); ((settled_ready + settled_degraded < topics)); do
    [[ $(seconds "$(now)" "$created" | cut -d. -f1) -lt $limit ]] || give_up "not all $topics KafkaTopics are settled"
    sleep 1
done
all_settled=$(now)
arrival_passes=$(passes)
requests_after=$(metrics)
sleep 10
rss=$(rss_mib)

# One idle resync: counters before; a pass begins after that (one Metadata request each) and
# finishes (its "pass done" line); counters after. Nothing changed, so nothing should be written.
writes_before=$(api_writes)
kafka_before=$(kafka_writes)
metadata_before=$(metadata_requests)
until [[ $(metadata_requests) -gt $metadata_before ]]; do sleep 0.5; done
done_before=$(passes | wc -l)
until [[ $(passes | wc -l) -gt $done_before ]]; do sleep 0.5; done
writes_after=$(api_writes)
kafka_after=$(kafka_writes)
idle_pass=$(passes | tail -n 1 | grep -o 'elapsed=[^ ]*' | cut -d= -f2)

delta_of() {
    awk -v op="$1" '
        FNR == 1 {file++}
        $1 ~ /^koperator_topic_controller_kafka_requests_total/ && $0 ~ "operation=\"" op "\"" {sum[file] += $NF}
        END {print sum[2] - sum[1]}' <(echo "$requests_before") <(echo "$requests_after")
}
# API writes of resource $1 with a verb matching $2, as the client counted them.
writes_of() {
    awk -v kind="$1" -v verb="$2" '
        FNR == 1 {file++}
        $1 ~ /^koperator_topic_controller_writes_total/ && $0 ~ "kind=\"" kind "\"" && $0 ~ "verb=\"(" verb ")\"" {sum[file] += $NF}
        END {print sum[2] - sum[1]}' <(echo "$requests_before") <(echo "$requests_after")
}

printf '\ntopic-controller benchmark (%s KafkaTopics, 1 partition each, on 3 brokers; release build)\n' "$topics"
printf '  KafkaCluster apply -> ClusterRunning:        %s s\n' "$(seconds "$cluster_running" "$cluster_start")"
printf '  create %s KafkaTopics (kubectl, 8 parallel): %s s\n' "$topics" "$(seconds "$created" "$start")"
printf '  last created -> %s topics in Kafka:         %s s\n' "$topics" "$(seconds "$all_in_kafka" "$created")"
printf '  last created -> %s KafkaTopics settled:     %s s (%s Ready, %s Degraded)\n' \
    "$topics" "$(seconds "$all_settled" "$created")" "$settled_ready" "$settled_degraded"
printf '  timeline (UTC, as in the logs):             creating %s, created %s, in Kafka %s, settled %s\n' \
    "$(utc "$start")" "$(utc "$created")" "$(utc "$all_in_kafka")" "$(utc "$all_settled")"
printf '  topic controller RSS, idle:                 %7s MiB\n' "$rss"
printf '  Kafka requests to get there:                CreateTopics %s, IncrementalAlterConfigs %s, Metadata %s, DescribeConfigs %s\n' \
    "$(delta_of CreateTopics)" "$(delta_of IncrementalAlterConfigs)" "$(delta_of Metadata)" "$(delta_of DescribeConfigs)"
printf '  API writes to get there:                    finalizer %s, status %s, event %s\n' \
    "$(writes_of kafkatopics patch)" "$(writes_of kafkatopics/status apply)" "$(writes_of events 'create|patch')"
printf '  idle resync (every %s), one whole pass:     API writes %s, Kafka write requests %s\n' \
    "$resync" "$((writes_after - writes_before))" "$((kafka_after - kafka_before))"
printf '  idle pass over %s KafkaTopics took:         %s\n' "$topics" "$idle_pass"
printf '  passes while the KafkaTopics arrived (KafkaTopics seen: seconds):\n'
echo "$arrival_passes" | grep -o 'topics=[0-9]* elapsed=[0-9.]*[a-zµ]*' |
    awk -F'[= ]' '{t = $4; if (t ~ /ms$/) t = t / 1000; else if (t ~ /(µs|ns)$/) t = 0; else t = t + 0; printf "%s: %.1f  ", $2, t}
        NR % 6 == 0 {printf "\n"}' | sed -e 's/^/    /'
echo

# Every KafkaTopic asks for something valid: any that is not Ready is a controller bug.
not_ready=$(kubectl get kafkatopics -n "$namespace" --chunk-size=2000 \
    -o jsonpath='{range .items[*]}{.status.state} {.status.conditions[?(@.type=="Ready")].reason}{"\n"}{end}' |
    grep -v '^created InSync$' | sort | uniq -c || true)
if [[ -n $not_ready ]]; then
    printf '  FAILED: KafkaTopics not Ready at the end, by state and Ready reason:\n%s\n' "$not_ready"
    exit 1
fi

#!/usr/bin/env bash
# Memory of each deployable (release builds) on the test bed, the figures of the lean-deployables
# issue. With one real KRaft cluster (Koperator's split-role sample: 3 controllers + 3 brokers,
# Kafka 3.9.1, Cruise Control) and Koperator's quick-start topic, all four deployables running
# at once, idle for SETTLE seconds after ClusterRunning, prints for each:
#   - RSS, split into anonymous memory (what the process holds) and file pages (its binary's
#     code mapped from the page cache), and its thread count; then their sum.
# Unless --quick, then runs e2e/bench/cluster-controller.sh 20 (the cluster controller at 20
# clusters) and e2e/bench/topic-controller.sh 10000 (the topic controller at 10,000 topics)
# and repeats their RSS lines. The load average at each measurement is printed with it: on a
# busy machine the figures include more in-flight work.
# Usage: e2e/bench/memory.sh [--quick]
# Environment: SETTLE (seconds, default 60); MEMORY_LAUNCHER, a command the deployables run
# under (e2e/bench/hot-code.sh profiles them with valgrind). Logs: target/bench-memory-<deployable>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The benches' shared set-up (target dir, kubeconfig, kubectl); it starts all four itself.
source e2e/bench/cluster-controller-lib.sh
quick=${1:-}
settle=${SETTLE:-60}
namespace=bench-memory
grpc=127.0.0.1:19593
deployables=(cluster-controller topic-controller cruise-control-runner alert-receiver)
first_port=18190

e2e/testbed up >/dev/null
e2e/bench/build-release.sh "${deployables[@]}"
kubectl apply --server-side --force-conflicts -f deploy/crds/ >/dev/null
kubectl delete namespace "$namespace" --ignore-not-found --wait=true >/dev/null
kubectl create namespace "$namespace" >/dev/null

token=target/bench-memory-alert-receiver.token
(umask 077 && head -c 32 /dev/urandom | base64 >"$token")
declare -A pids=()
port=$first_port
for deployable in "${deployables[@]}"; do
    case $deployable in
        cluster-controller) args=(--leader-election=false --grpc-addr "$grpc") ;;
        topic-controller) args=(--leader-election=false --cluster-access-endpoint "http://$grpc") ;;
        cruise-control-runner) args=(--leader-election=false) ;;
        alert-receiver) args=(--listen-addr 127.0.0.1:19594 --token-file "$token" --cluster-actions-endpoint "http://$grpc") ;;
    esac
    # shellcheck disable=SC2086 # the launcher is a command with its arguments
    e2e/testbed exec -- ${MEMORY_LAUNCHER:-} "$CARGO_TARGET_DIR/release/$deployable" --namespace "$namespace" \
        --metrics-addr "127.0.0.1:$port" "${args[@]}" >"target/bench-memory-$deployable.log" 2>&1 &
    pids[$deployable]=$!
    port=$((port + 1))
done
cleanup() {
    # The KafkaTopics carry the topic controller's finalizer: they go while it runs. The cluster
    # controller makes Cruise Control's topic again until its KafkaCluster is gone, so the
    # cluster goes first and the topics after it.
    kubectl delete kafkaclusters -n "$namespace" --all --wait=true --timeout=120s >/dev/null 2>&1 || true
    kubectl delete kafkatopics -n "$namespace" --all --wait=true --timeout=120s >/dev/null 2>&1 || true
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

kubectl apply -n "$namespace" -f deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml >/dev/null
applied=$(date +%s)
kubectl wait -n "$namespace" kafkacluster/kafka --for=jsonpath='{.status.state}'=ClusterRunning --timeout=600s >/dev/null
running=$(($(date +%s) - applied))
kubectl apply -n "$namespace" -f deploy/samples/kafkatopic.yaml >/dev/null
kubectl wait -n "$namespace" kafkatopic/my-topic --for=condition=Ready --timeout=120s >/dev/null
sleep "$settle"

# RSS, anonymous and file pages of a process, in MiB, and its threads.
memory() {
    awk '/^VmRSS/ {rss = $2} /^RssAnon/ {anon = $2} /^RssFile/ {file = $2} /^Threads/ {threads = $2}
         END {printf "%.1f %.1f %.1f %d\n", rss / 1024, anon / 1024, file / 1024, threads}' "/proc/$1/status"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
printf '\nmemory of the deployables, release builds, one KRaft cluster (3 controllers + 3 brokers) idle %ss after ClusterRunning (%ss after apply); load %s\n' \
    "$settle" "$running" "$(load)"
printf '  %-22s %9s %10s %9s %8s\n' deployable "RSS MiB" "anon MiB" "file MiB" threads
total=0
for deployable in "${deployables[@]}"; do
    read -r rss anon file threads < <(memory "${pids[$deployable]}")
    printf '  %-22s %9s %10s %9s %8s\n' "$deployable" "$rss" "$anon" "$file" "$threads"
    total=$(awk -v a="$total" -v b="$rss" 'BEGIN {printf "%.1f", a + b}')
done
printf '  %-22s %9s\n' "sum" "$total"

if [[ $quick != --quick ]]; then
    cleanup
    trap - EXIT
    echo
    e2e/bench/cluster-controller.sh 20 | grep -E 'benchmark|RSS|per idle'
    echo "  (load $(load))"
    e2e/bench/topic-controller.sh 10000 | grep -E 'benchmark|RSS|idle resync'
    echo "  (load $(load))"
fi

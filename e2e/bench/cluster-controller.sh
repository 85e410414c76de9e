#!/usr/bin/env bash
# Benchmark of the cluster controller, on the test bed, with brokers that only listen on their
# ports (koperator-rs.test/idle-kafka, e2e/images/idle-kafka) so that dozens of clusters fit on two
# cores and the figures are the controller's, not Kafka's. Prints:
#   - time from applying one KafkaCluster to all its objects created, and to ClusterRunning
#   - controller RSS (release build) idle with 1 and with N clusters, split into anonymous
#     memory (the heap: what the controller holds) and file pages (its binary's code, mapped
#     from the page cache; grows with the binary, not with the clusters)
#   - write requests per idle resync (every cluster reconciled again with nothing changed)
# Usage: e2e/bench/cluster-controller.sh [N clusters, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
source e2e/bench/cluster-controller-lib.sh
clusters=${1:-20}
namespace=bench-cluster-controller
metrics=127.0.0.1:18181

start_cluster_controller "$namespace" "$metrics" 127.0.0.1:19191
controller=$bench_controller

# An external (absent) Cruise Control: the benchmark is about the controller, not about one
# Cruise Control JVM per cluster.
cluster_manifest() {
    sed -e "s/^  name: kafka$/  name: $1/" \
        -e 's|^  cruiseControlConfig:$|&\n    cruiseControlEndpoint: "bench-no-cruise-control:8090"|' \
        -e 's|clusterImage: .*|clusterImage: "koperator-rs.test/idle-kafka:2.13-3.8.1"|' \
        -e 's|^      kafkaHeapOpts: .*|&\n      resourceRequirements: {requests: {cpu: 50m, memory: 64Mi}}|' \
        deploy/samples/kafkacluster-kraft-combined.yaml
}
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%6.2f", a - b}'; }
rss_mib() {
    awk '/^VmRSS/ {rss = $2} /^RssAnon/ {anon = $2} /^RssFile/ {file = $2}
         END {printf "%6.1f MiB (anonymous %.1f, file %.1f)", rss / 1024, anon / 1024, file / 1024}' \
        "/proc/$controller/status"
}
writes() { curl -s "http://$metrics/metrics" | awk '/^koperator_cluster_controller_writes_total/ {sum += $2} END {print sum + 0}'; }
running() { kubectl get kafkaclusters -n "$namespace" -o jsonpath='{range .items[*]}{.status.state}{"\n"}{end}' | grep -c '^ClusterRunning$' || true; }
wait_running() {
    until [[ $(running) -ge $1 ]]; do sleep 0.2; done
}

sleep 2
start=$(now)
cluster_manifest c1 | kubectl apply -n "$namespace" -f - >/dev/null
until [[ $(kubectl get pods,pvc,configmaps -n "$namespace" -l kafka_cr=c1 -o name | wc -l) -ge 9 ]]; do sleep 0.1; done
created=$(now)
wait_running 1
one_running=$(now)
sleep 10
rss_one=$(rss_mib)

start_many=$(now)
for i in $(seq 2 "$clusters"); do cluster_manifest "c$i"; echo ---; done | kubectl apply -n "$namespace" -f - >/dev/null
wait_running "$clusters"
all_running=$(now)
sleep 20
rss_many=$(rss_mib)

rounds=3
before=$(writes)
for round in $(seq "$rounds"); do
    kubectl annotate kafkaclusters -n "$namespace" --all "bench/resync=$round" --overwrite >/dev/null
    sleep 5
done
after=$(writes)

printf '\ncluster-controller benchmark (%s clusters of 3 brokers, release build)\n' "$clusters"
printf '  apply -> all objects of one cluster created: %s s\n' "$(seconds "$created" "$start")"
printf '  apply -> one cluster ClusterRunning:         %s s\n' "$(seconds "$one_running" "$start")"
printf '  apply -> %s more clusters ClusterRunning:    %s s\n' "$((clusters - 1))" "$(seconds "$all_running" "$start_many")"
printf '  controller RSS idle, 1 cluster:              %s\n' "$rss_one"
printf '  controller RSS idle, %s clusters:             %s\n' "$clusters" "$rss_many"
printf '  write requests per idle resync:              %6s (over %s resyncs of %s clusters)\n' \
    "$(awk -v w="$((after - before))" -v n="$((rounds * clusters))" 'BEGIN {printf "%.2f", w / n}')" "$rounds" "$clusters"

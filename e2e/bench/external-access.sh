#!/usr/bin/env bash
# Benchmark of external access, on the test bed (real MetalLB, kube-proxy, Envoy, Kafka 3.9.1):
# the combined KRaft sample with a LoadBalancer listener (Envoy) and a NodePort listener.
# Prints:
#   - time from applying the KafkaCluster to the load balancer's address in
#     status.listenerStatuses.externalListeners, and to ClusterRunning
#   - acks=all produce latency (kafka-producer-perf-test, fixed rate, so the figures are the
#     path's, not saturation's): from the host through Envoy's any-broker address, from the
#     host through the node ports (kube-proxy only), and inside the cluster through the
#     internal listener as the baseline
# Usage: e2e/bench/external-access.sh [records per run, default 5000 at 500/s] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
source e2e/bench/cluster-controller-lib.sh
records=${1:-5000}
rounds=${2:-3}
namespace=bench-external-access
# The test bed's Kafka distribution has the tools jar, not every wrapper script.
perf_test=("$KAFKA_HOME_3_9_1/bin/kafka-run-class.sh" org.apache.kafka.tools.ProducerPerformance)

start_cluster_controller "$namespace" 127.0.0.1:18182 127.0.0.1:19192

# The sample with both listeners (as e2e external_access), no Cruise Control JVM.
cluster_manifest() {
    sed -e 's|^  cruiseControlConfig:$|&\n    cruiseControlEndpoint: "bench-no-cruise-control:8090"|' \
        -e 's|^  listenersConfig:$|&\n    externalListeners:\n      - {type: plaintext, name: external, externalStartingPort: 19090, containerPort: 9094}\n      - {type: plaintext, name: nodeport, externalStartingPort: 32090, containerPort: 9095, accessMethod: NodePort}|' \
        -e 's|^  brokerConfigGroups:$|  envoyConfig: {replicas: 1}\n&|' \
        -e 's|^    default:$|&\n      nodePortNodeAddressType: InternalIP|' \
        deploy/samples/kafkacluster-kraft-combined.yaml
}
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%6.1f", a - b}'; }
status_address() {
    kubectl get kafkacluster kafka -n "$namespace" \
        -o jsonpath="{.status.listenerStatuses.externalListeners.$1[?(@.name==\"$2\")].address}"
}
state() { kubectl get kafkacluster kafka -n "$namespace" -o jsonpath='{.status.state}'; }

sleep 2
start=$(now)
cluster_manifest | kubectl apply -n "$namespace" -f - >/dev/null
until [[ -n $(status_address external any-broker) ]]; do sleep 0.2; done
addressed=$(now)
until [[ $(state) == ClusterRunning ]]; do sleep 0.5; done
running=$(now)
any_broker=$(status_address external any-broker)
node_ports=$(for id in 0 1 2; do status_address nodeport "broker-$id"; echo; done | paste -sd,)
internal=kafka-all-broker.$namespace.svc.cluster.local:29092
echo "apply -> load balancer address in status: $(seconds "$addressed" "$start") s ($any_broker)"
echo "apply -> ClusterRunning:                  $(seconds "$running" "$start") s"

e2e/testbed exec -- kafka-topics --bootstrap-server "$internal" --create --topic latency \
    --partitions 3 --replication-factor 3 >/dev/null
sleep 5

# ProducerPerformance's (kafka-producer-perf-test's) last line: "... 3.45 ms avg latency, 120.00 ms max latency, 3 ms
# 50th, 5 ms 95th, 12 ms 99th, 80 ms 99.9th." One run prints "p50 p99" (or fails loudly).
perf() {
    local bootstrap=$1; shift
    local output line
    output=$(KAFKA_HEAP_OPTS=-Xmx256m "$@" "${perf_test[@]}" --topic latency --num-records "$records" \
        --record-size 512 --throughput 500 \
        --producer-props "bootstrap.servers=$bootstrap" acks=all linger.ms=0 2>&1) || true
    line=$(tail -1 <<<"$output")
    figure() { sed -n "s/.* \([0-9.]*\) ms $1.*/\1/p" <<<"$line"; }
    if [[ -z $(figure 50th) ]]; then
        echo "producing through $bootstrap failed:" >&2
        grep -m5 -E "Exception|ERROR|WARN" <<<"$output" >&2
        exit 1
    fi
    echo "$(figure 50th) $(figure 99th)"
}
# The brokers' JVMs are still compiling right after ClusterRunning, and two shared cores make
# any one run noisy: one warm-up run, then the paths take turns, round after round, and each
# path's median over the rounds is printed beside every round's figures.
perf "$internal" e2e/testbed exec -- >/dev/null
paths=("host -> Envoy any-broker" "host -> node ports (kube-proxy)" "in the cluster -> internal listener")
declare -A runs=()
for ((round = 1; round <= rounds; round++)); do
    runs[0]+="$(perf "$any_broker");"
    runs[1]+="$(perf "$node_ports");"
    runs[2]+="$(perf "$internal" e2e/testbed exec --);"
done
median() { tr ';' '\n' <<<"$1" | grep . | awk -v f="$2" '{print $f}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
echo "acks=all produce latency, $rounds rounds of $records records of 512 B at 500/s (median p50 / p99; each round's p50/p99):"
for i in 0 1 2; do
    printf '%-36s p50 %4s ms  p99 %4s ms   (%s)\n' "${paths[$i]}" "$(median "${runs[$i]}" 1)" "$(median "${runs[$i]}" 2)" \
        "$(tr ';' ',' <<<"${runs[$i]%;}" | sed 's/ /\//g; s/,/, /g')"
done

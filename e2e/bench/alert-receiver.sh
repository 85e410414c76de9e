#!/usr/bin/env bash
# Benchmark of the alert receiver (release build) on loopback with wrk: the same upScale webhook
# posted over and over, as Alertmanager does during an alert storm. The first post is carried
# out by the cluster controller (ClusterActions over gRPC, a real KafkaCluster on the test bed);
# every repeat must be answered from the receiver's dedupe cache without a gRPC call. Prints:
#   - wrk's requests/s and latency percentiles (p50/p75/p90/p99)
#   - the receiver's RSS before and after the run (VmRSS) and its peak (VmHWM)
#   - koperator_alert_receiver_actions_total: one accepted, the rest deduplicated
#   - the brokers in the KafkaCluster's spec before and after: exactly one more
# The KafkaCluster is not reconciled (the cluster controller watches another namespace; its
# status is set to ClusterRunning by hand), so no Kafka runs: only the webhook path is measured.
# Usage: e2e/bench/alert-receiver.sh [duration, default 20s]
# Environment: CONNECTIONS (default 32), THREADS (wrk threads, default 2), KEEP (set: leave the
# namespace in place). Logs: target/bench-alert-receiver.log, target/bench-alert-cluster-controller.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p target
exec 9>target/bench-alert-receiver.lock
if ! flock -n 9; then
    echo "another e2e/bench/alert-receiver.sh is running (same namespace and ports); try again later" >&2
    exit 1
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
export KUBECONFIG=$PWD/target/testbed/kubeconfig
source "${KOPERATOR_CACHE:-$HOME/.cache/koperator}/toolchain.env"
kubectl() { "$KUBECTL" "$@"; }
duration=${1:-20s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
namespace=bench-alert-receiver
grpc=127.0.0.1:19590
listen=127.0.0.1:19901
receiver_metrics=127.0.0.1:18191
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
    [[ -n ${KEEP:-} ]] || kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT

e2e/testbed up >/dev/null 9>&-
e2e/bench/build-release.sh cluster-controller alert-receiver
# Installed unless present: the e2e tests apply them with another field manager.
kubectl get crd kafkaclusters.kafka.banzaicloud.io >/dev/null 2>&1 || kubectl apply --server-side -f deploy/crds/ >/dev/null
# A previous run's namespace may still be going away.
kubectl wait --for=delete "namespace/$namespace" --timeout=180s >/dev/null 2>&1 || true
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl delete kafkacluster -n "$namespace" kafka --ignore-not-found >/dev/null
kubectl apply -n "$namespace" -f deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml >/dev/null
kubectl patch kafkacluster -n "$namespace" kafka --subresource=status --type merge \
    -p '{"status":{"state":"ClusterRunning"}}' >/dev/null
brokers_before=$(kubectl get kafkacluster -n "$namespace" kafka -o jsonpath='{.spec.brokers[*].id}')

head -c 32 /dev/urandom | base64 | tr -d '\n' >"$work/token"
token=$(cat "$work/token")
# Watching another namespace: it serves ClusterActions but does not reconcile the cluster.
"$CARGO_TARGET_DIR/release/cluster-controller" --leader-election=false --namespace "$namespace-unwatched" \
    --metrics-addr 127.0.0.1:0 --grpc-addr "$grpc" >target/bench-alert-cluster-controller.log 2>&1 &
pids+=($!)
"$CARGO_TARGET_DIR/release/alert-receiver" --listen-addr "$listen" --metrics-addr "$receiver_metrics" \
    --token-file "$work/token" --cluster-actions-endpoint "http://$grpc" >target/bench-alert-receiver.log 2>&1 &
receiver=$!
pids+=("$receiver")

cat >"$work/alert.json" <<JSON
{"version":"4","groupKey":"{}:{alertname=\"KafkaBrokersBusy\"}","truncatedAlerts":0,"status":"firing",
 "receiver":"koperator","groupLabels":{"alertname":"KafkaBrokersBusy"},"commonLabels":{},"commonAnnotations":{},
 "externalURL":"http://alertmanager:9093","alerts":[{"status":"firing",
 "labels":{"alertname":"KafkaBrokersBusy","namespace":"$namespace","kafka_cr":"kafka","severity":"warning"},
 "annotations":{"command":"upScale","brokerConfigGroup":"broker","summary":"brokers are busy"},
 "startsAt":"$(date -u +%FT%TZ)","endsAt":"0001-01-01T00:00:00Z",
 "generatorURL":"http://prometheus:9090/graph","fingerprint":"bench$(date +%s)"}]}
JSON
post() { curl -sS -o "$work/answer" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data-binary @"$work/alert.json" "http://$listen/webhook"; }
for _ in $(seq 1 100); do
    code=$(post 2>/dev/null || true)
    [[ $code == 200 ]] && break
    sleep 0.2
done
echo "first post: HTTP $code $(cat "$work/answer")"
grep -q '"outcome":"accepted"' "$work/answer" || { echo "the first post was not accepted" >&2; exit 1; }

cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
local file = io.open("$work/alert.json", "r")
wrk.body = file:read("*a")
file:close()
LUA
echo "receiver memory before wrk: $(grep -E '^VmRSS' /proc/$receiver/status | tr -s ' \t' ' ')"
echo "wrk: $threads threads, $connections connections, $duration"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$work/post.lua" "http://$listen/webhook"

echo "receiver memory after wrk: $(grep -E '^(VmRSS|VmHWM)' /proc/$receiver/status | tr -s ' \t' ' ' | paste -sd, -)"
curl -s "http://$receiver_metrics/metrics" | grep -E '^koperator_alert_receiver_(actions|requests)_total' || true
echo "brokers before: $brokers_before"
echo "brokers after:  $(kubectl get kafkacluster -n "$namespace" kafka -o jsonpath='{.spec.brokers[*].id}')"

#!/usr/bin/env bash
# `make run`: the local test bed, the controllers on the host, a sample KafkaCluster, a topic,
# one message produced and consumed with kcat, the status; then the controllers' logs until
# Ctrl-C. Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
export KUBECONFIG=$root/target/testbed/kubeconfig
source "${KOPERATOR_CACHE:-$HOME/.cache/koperator}/toolchain.env"
kubectl() { "$KUBECTL" "$@"; }
step() { printf '\n==> %s\n' "$*"; }

namespace=kafka
cluster=kafka
bootstrap=$cluster-all-broker.$namespace.svc.cluster.local:29092
controllers=(cluster-controller topic-controller cruise-control-runner alert-receiver)
grpc=127.0.0.1:19090
# The alert receiver's webhook and the bearer token Alertmanager must send to it.
alert_webhook=127.0.0.1:9001
alert_token=$root/target/testbed/alert-receiver.token
logs=$root/target/run/logs
mkdir -p "$logs"

step "starting the test bed (real etcd, kube-apiserver, controller-manager, scheduler, three kubelet nodes with containerd, kube-proxy and CoreDNS)"
e2e/testbed up

step "building the controllers"
cargo build --quiet --locked $(printf -- '-p %s ' "${controllers[@]}")

step "installing the CRDs"
kubectl apply --server-side -f deploy/crds/ >/dev/null
# A CRD created a moment ago may have no status yet, which kubectl wait takes as an error.
for attempt in {1..30}; do
    kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null 2>&1 && break
    ((attempt < 30)) || { echo "the CRDs did not become established" >&2; exit 1; }
    sleep 1
done

pids=()
stop_controllers() {
    if [[ -s $root/target/run/monitoring/pids ]]; then mapfile -t -O "${#pids[@]}" pids <"$root/target/run/monitoring/pids"; fi
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'stop_controllers; echo; echo "controllers stopped; the test bed keeps running (make testbed-down stops it)"' EXIT

step "starting the controllers on the host (logs in target/run/logs)"
if [[ ! -s $alert_token ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n' >"$alert_token")
fi
port=18080
for controller in "${controllers[@]}"; do
    case $controller in
        # The cluster controller serves ClusterAccess; the topic controller asks it where brokers are.
        cluster-controller) extra=(--grpc-addr "$grpc") ;;
        topic-controller) extra=(--cluster-access-endpoint "http://$grpc") ;;
        *) extra=() ;;
    esac
    election=(--leader-election=false)
    # The alert receiver elects no leader; it asks the cluster controller for every action.
    if [[ $controller == alert-receiver ]]; then
        election=()
        extra=(--listen-addr "$alert_webhook" --token-file "$alert_token" --cluster-actions-endpoint "http://$grpc")
    fi
    # Through the test bed's exec so they resolve cluster DNS names, as they would in a pod.
    e2e/testbed exec -- "$CARGO_TARGET_DIR/debug/$controller" "${election[@]}" \
        --metrics-addr "127.0.0.1:$port" "${extra[@]}" >"$logs/$controller.log" 2>&1 &
    pids+=($!)
    echo "  $controller: pid $!, metrics and probes on http://127.0.0.1:$port"
    port=$((port + 1))
done

step "applying deploy/samples/kafkacluster-kraft-combined.yaml to namespace $namespace"
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if [[ ${MONITORING:-0} == 1 ]]; then
    # On local-path volumes (local PersistentVolumes): the kubelet reports their usage, which
    # the disk alerts read; the default class's hostPath volumes report none.
    echo "  (MONITORING=1: its volumes in StorageClass local-path)"
    sed 's/^\( *\)pvcSpec:$/&\n\1  storageClassName: local-path/' deploy/samples/kafkacluster-kraft-combined.yaml |
        kubectl apply -n "$namespace" -f -
else
    kubectl apply -n "$namespace" -f deploy/samples/kafkacluster-kraft-combined.yaml
fi

step "waiting for the cluster to run (status.state = ClusterRunning)"
if ! kubectl wait -n "$namespace" kafkacluster/$cluster --for=jsonpath='{.status.state}'=ClusterRunning --timeout=300s; then
    kubectl get -n "$namespace" kafkacluster/$cluster -o jsonpath='{range .status.conditions[*]}{.type}={.status}: {.message}{"\n"}{end}'
    exit 1
fi

step "applying deploy/samples/kafkatopic.yaml (Koperator's quick-start topic my-topic)"
kubectl apply -n "$namespace" -f deploy/samples/kafkatopic.yaml
if ! kubectl wait -n "$namespace" kafkatopic/my-topic --for=condition=Ready --timeout=120s; then
    kubectl get -n "$namespace" kafkatopic/my-topic -o jsonpath='{range .status.conditions[*]}{.type}={.status}: {.message}{"\n"}{end}'
    exit 1
fi
e2e/testbed exec -- kafka-topics --bootstrap-server "$bootstrap" --describe --topic my-topic

step "sending a message to my-topic through $bootstrap"
message="hello from make run at $(date -u +%FT%TZ)"
echo "$message" | e2e/testbed exec -- kcat -P -b "$bootstrap" -t my-topic -p 0 -X acks=all
received=$(e2e/testbed exec -- kcat -C -b "$bootstrap" -t my-topic -p 0 -o -1 -e -q)
echo "  produced: $message"
echo "  consumed: $received"

if [[ ${MONITORING:-0} == 1 ]]; then
    step "starting Prometheus and Alertmanager with the shipped rules (deploy/monitoring)"
    rm -f "$root/target/run/monitoring/pids"
    e2e/run-monitoring.sh "$namespace" "$alert_webhook" "$alert_token" 18080 "${#controllers[@]}"
    claim=$(kubectl get pvc -n "$namespace" -l app=kafka,kafka_cr=$cluster -o jsonpath='{.items[0].metadata.name}')
    size=$(kubectl get pvc -n "$namespace" "$claim" -o jsonpath='{.spec.resources.requests.storage}')
    echo "  waiting for the demo disk alert to grow $claim ($size) through Alertmanager and the alert receiver"
    for attempt in {1..60}; do
        now=$(kubectl get pvc -n "$namespace" "$claim" -o jsonpath='{.spec.resources.requests.storage}')
        if [[ $now != "$size" ]]; then echo "  $claim: $size -> $now"; break; fi
        ((attempt < 60)) || echo "  not grown after 5 minutes; see http://127.0.0.1:9090/alerts and target/run/monitoring"
        sleep 5
    done
    kubectl get events -n "$namespace" --field-selector reason=AlertActionTaken -o custom-columns=ACTION:.message --no-headers 2>/dev/null | tail -3 || true
fi

step "status"
kubectl get -n "$namespace" kafkaclusters,kafkatopics,pods,pvc,services
broker=pod/$(kubectl get pods -n "$namespace" -l app=kafka,kafka_cr=$cluster -o jsonpath='{.items[0].metadata.name}')
step "the kubelet API on $broker: kubectl logs, exec and port-forward"
kubectl logs -n "$namespace" "$broker" -c kafka --tail=3
kubectl exec -n "$namespace" "$broker" -c kafka -- sh -c 'echo "$(hostname): $(id)"'
# The broker's internal listener on a local port; kcat asks it for the cluster's metadata.
forward_port=19092
kubectl port-forward -n "$namespace" "$broker" "$forward_port:29092" >"$logs/port-forward.log" 2>&1 &
forward=$!
for attempt in {1..50}; do
    if kcat -L -b "127.0.0.1:$forward_port" -m 5 2>/dev/null | grep -E '^ *[0-9]+ brokers:'; then break; fi
    ((attempt < 50)) || echo "  kubectl port-forward did not answer; see $logs/port-forward.log"
    sleep 0.2
done
kill "$forward" 2>/dev/null || true
kubectl get -n "$namespace" kafkacluster/$cluster -o jsonpath='{range .status.conditions[*]}  {.type}={.status}: {.message}{"\n"}{end}'

cat <<MSG

The cluster runs. Point kubectl at the test bed with:
  export KUBECONFIG=$KUBECONFIG
and run commands that need cluster DNS (kcat, kafka-topics, ...) through:
  e2e/testbed exec -- kcat -L -b $bootstrap

Alertmanager webhooks: POST http://$alert_webhook/webhook with the bearer token in
  $alert_token
$(if [[ ${MONITORING:-0} == 1 ]]; then echo "
Prometheus with the shipped rules: http://127.0.0.1:9090/alerts; Alertmanager: http://127.0.0.1:9093"; fi)

Following the controllers' logs; Ctrl-C stops the controllers (make testbed-down stops the test bed).
MSG
log_files=()
for controller in "${controllers[@]}"; do log_files+=("$logs/$controller.log"); done
tail -n +1 -F --pid "${pids[0]}" "${log_files[@]}" 2>/dev/null || true

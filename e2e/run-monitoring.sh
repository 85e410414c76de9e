#!/usr/bin/env bash
# `MONITORING=1 make run`: a real Prometheus and Alertmanager on the host (Debian's packages),
# loaded with the shipped rules (deploy/monitoring/prometheus-rules.yaml), scraping what the
# chart's PodMonitors select with their labels, the kubelets' volume stats and the controllers;
# every alert goes to the alert receiver. Called by e2e/run-local.sh once the cluster runs; the two
# processes run until `make run` stops.
#
# Their pids go to target/run/monitoring/pids.
#
# Usage: run-monitoring.sh <namespace> <alert webhook host:port> <token file> <first metrics port> <controller count>
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source "${KOPERATOR_CACHE:-$HOME/.cache/koperator}/toolchain.env"
export KUBECONFIG=$root/target/testbed/kubeconfig
namespace=$1 webhook=$2 token=$3 first_port=$4 controllers=$5
dir=$root/target/run/monitoring
mkdir -p "$dir"
pki=$root/target/testbed/pki
api_server=$("$KUBECTL" config view -o jsonpath='{.clusters[0].cluster.server}')
prometheus_port=${PROMETHEUS_PORT:-9090}
alertmanager_port=${ALERTMANAGER_PORT:-9093}

controller_targets=()
for ((i = 0; i < controllers; i++)); do controller_targets+=("\"127.0.0.1:$((first_port + i))\""); done

# Debian's Prometheus has no Kubernetes discovery: file_sd targets stand in for it, the Kafka
# pods rewritten every 15 s (a roll changes their addresses) with the labels the chart's
# PodMonitors give (app, kafka_cr, brokerId, namespace, pod), the kubelets through the API
# server's node proxy.
write_kafka_targets() {
    "$KUBECTL" get pods -n "$namespace" -l 'app in (kafka, cruisecontrol), kafka_cr' -o json | python3 -c '
import json, sys
groups = []
for pod in json.load(sys.stdin)["items"]:
    ip = pod["status"].get("podIP")
    labels = pod["metadata"].get("labels", {})
    for container in pod["spec"]["containers"]:
        for port in container.get("ports", []):
            if ip and port.get("name") == "metrics":
                target = {k: labels[k] for k in ("app", "kafka_cr", "brokerId") if k in labels}
                target.update(namespace=pod["metadata"]["namespace"], pod=pod["metadata"]["name"])
                groups.append({"targets": ["%s:%d" % (ip, port["containerPort"])], "labels": target})
json.dump(groups, sys.stdout)' >"$dir/kafka-targets.json.new" && mv "$dir/kafka-targets.json.new" "$dir/kafka-targets.json"
}
write_kafka_targets
"$KUBECTL" get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | python3 -c '
import json, sys
address = sys.argv[1]
json.dump([{"targets": [address], "labels": {"__metrics_path__": f"/api/v1/nodes/{node.strip()}/proxy/metrics"}}
           for node in sys.stdin if node.strip()], sys.stdout)' "${api_server#https://}" >"$dir/kubelet-targets.json"

cat >"$dir/prometheus.yml" <<YAML
global: {scrape_interval: 15s, scrape_timeout: 14s, evaluation_interval: 15s}
rule_files: [$root/deploy/monitoring/prometheus-rules.yaml, $dir/demo-rules.yaml]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$alertmanager_port"]}]}]
scrape_configs:
  - job_name: kafka
    file_sd_configs: [{files: [$dir/kafka-targets.json], refresh_interval: 15s}]
  - job_name: kubelet
    scheme: https
    tls_config: {ca_file: $pki/ca.crt, cert_file: $pki/admin.crt, key_file: $pki/admin.key}
    file_sd_configs: [{files: [$dir/kubelet-targets.json]}]
    metric_relabel_configs:
      - {source_labels: [__name__], regex: kubelet_volume_stats_.+, action: keep}
  - job_name: koperator-rs
    static_configs: [{targets: [$(IFS=,; echo "${controller_targets[*]}")]}]
YAML

cat >"$dir/alertmanager.yml" <<YAML
route: {receiver: koperator, group_by: [alertname], group_wait: 10s, group_interval: 1m, repeat_interval: 4h}
receivers:
  - name: koperator
    webhook_configs:
      - url: http://$webhook/webhook
        send_resolved: true
        http_config: {authorization: {type: Bearer, credentials_file: $token}}
YAML

# The demo: the shipped KafkaDiskSpaceLow rule with its threshold at 100% free, so each Kafka
# claim counts as low at once and the alert receiver grows it by 1Gi (once per firing).
cat >"$dir/demo-rules.yaml" <<'YAML'
groups:
  - name: make-run-demo
    rules:
      - alert: KafkaDiskSpaceLowDemo
        expr: >-
          kubelet_volume_stats_available_bytes{persistentvolumeclaim=~".+-[0-9]+-storage-[0-9]+-[a-z0-9]+"}
            / kubelet_volume_stats_capacity_bytes{persistentvolumeclaim=~".+-[0-9]+-storage-[0-9]+-[a-z0-9]+"} < 1
        labels: {severity: info}
        annotations:
          summary: 'make run demo: grow {{ $labels.persistentvolumeclaim }} by 1Gi'
          command: resizePvc
          incrementBy: 1Gi
YAML

promtool check config "$dir/prometheus.yml" >/dev/null
# Through the test bed's exec: pod addresses and cluster DNS, as inside the cluster.
e2e/testbed exec -- prometheus-alertmanager --config.file="$dir/alertmanager.yml" \
    --storage.path="$dir/alertmanager-data" --web.listen-address="127.0.0.1:$alertmanager_port" \
    --cluster.listen-address= >"$dir/alertmanager.log" 2>&1 &
echo $! >"$dir/pids"
echo "  alertmanager: pid $!, http://127.0.0.1:$alertmanager_port (log: $dir/alertmanager.log)"
e2e/testbed exec -- prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$dir/prometheus.log" 2>&1 &
echo $! >>"$dir/pids"
echo "  prometheus: pid $!, http://127.0.0.1:$prometheus_port/alerts (log: $dir/prometheus.log)"
(while sleep 15; do write_kafka_targets 2>/dev/null || true; done) &
echo $! >>"$dir/pids"

#!/usr/bin/env bash
# `MONITORING=1 make run`: a real Prometheus and Alertmanager on the host (Debian's packages),
# loaded with the shipped rules (deploy/monitoring/prometheus-rules.yaml), scraping the sample
# cluster as the chart's PodMonitors ask, the kubelets' volume stats and the controllers; every
# alert goes to the alert receiver. Called by e2e/run-local.sh once the cluster runs; the two
# processes run until `make run` stops.
#
# Their pids go to target/run/monitoring/pids.
#
# Usage: run-monitoring.sh <namespace> <alert webhook host:port> <token file> <first metrics port> <controller count>
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
namespace=$1 webhook=$2 token=$3 first_port=$4 controllers=$5
dir=$root/target/run/monitoring
mkdir -p "$dir"
pki=$root/target/testbed/pki
api_server=$("$KUBECTL" config view -o jsonpath='{.clusters[0].cluster.server}')
prometheus_port=${PROMETHEUS_PORT:-9090}
alertmanager_port=${ALERTMANAGER_PORT:-9093}

controller_targets=()
for ((i = 0; i < controllers; i++)); do controller_targets+=("\"127.0.0.1:$((first_port + i))\""); done

cat >"$dir/prometheus.yml" <<YAML
global: {scrape_interval: 15s, scrape_timeout: 14s, evaluation_interval: 15s}
rule_files: [$root/deploy/monitoring/prometheus-rules.yaml, $dir/demo-rules.yaml]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$alertmanager_port"]}]}]
scrape_configs:
  # What the chart's PodMonitors ask the Prometheus Operator for.
  - job_name: kafka
    kubernetes_sd_configs:
      - role: pod
        api_server: $api_server
        namespaces: {names: [$namespace]}
        tls_config: {ca_file: $pki/ca.crt, cert_file: $pki/admin.crt, key_file: $pki/admin.key}
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_label_app], regex: kafka|cruisecontrol, action: keep}
      - {source_labels: [__meta_kubernetes_pod_label_kafka_cr], regex: .+, action: keep}
      - {source_labels: [__meta_kubernetes_pod_container_port_name], regex: metrics, action: keep}
      - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
      - {source_labels: [__meta_kubernetes_pod_label_app], target_label: app}
      - {source_labels: [__meta_kubernetes_pod_label_kafka_cr], target_label: kafka_cr}
      - {source_labels: [__meta_kubernetes_pod_label_brokerId], target_label: brokerId}
  # The kubelets' volume stats, through the API server's node proxy.
  - job_name: kubelet
    scheme: https
    tls_config: {ca_file: $pki/ca.crt, cert_file: $pki/admin.crt, key_file: $pki/admin.key}
    kubernetes_sd_configs:
      - role: node
        api_server: $api_server
        tls_config: {ca_file: $pki/ca.crt, cert_file: $pki/admin.crt, key_file: $pki/admin.key}
    relabel_configs:
      - {target_label: __address__, replacement: "${api_server#https://}"}
      - {source_labels: [__meta_kubernetes_node_name], target_label: __metrics_path__, replacement: /api/v1/nodes/\$1/proxy/metrics}
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

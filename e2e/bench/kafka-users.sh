#!/usr/bin/env bash
# Benchmark of the KafkaUser reconciler (release build) on the test bed, against a real Kafka
# cluster: the combined KRaft sample (3 nodes, Kafka 3.9.1) with TLS from the operator's CA on
# its listeners and the StandardAuthorizer. Creates N KafkaUsers, each a client certificate
# (signed by the cluster controller over ClusterAccess) and one write grant (4 ACLs), as fast as
# the apiserver takes them, and prints:
#   - time to create the N KafkaUsers (kubectl create, 8 in parallel)
#   - time from the last KafkaUser created to N Secrets, to 4N ACLs in Kafka (DescribeAcls),
#     and to all N Ready; any not Ready at the end fails the benchmark
#   - topic controller RSS with N users, idle
#   - API writes and Kafka write requests during one idle resync (the target is zero)
# Usage: e2e/bench/kafka-users.sh [N users, default 1000]
# Environment: RESYNC (default 30s), LIMIT (default 600: seconds after the last KafkaUser created
# before giving up), KEEP (set: leave the namespace in place).
# Logs: target/bench-kafka-users.log, target/bench-kafka-users-cluster-controller.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p target
exec 9>target/bench-kafka-users.lock
if ! flock -n 9; then
    echo "another e2e/bench/kafka-users.sh is running (same namespace and ports); try again later" >&2
    exit 1
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
export KUBECONFIG=$PWD/target/testbed/kubeconfig
source "${KOPERATOR_CACHE:-$HOME/.cache/koperator}/toolchain.env"
kubectl() { "$KUBECTL" "$@"; }
users=${1:-1000}
namespace=bench-kafka-users
grpc=127.0.0.1:19593
cluster_metrics=127.0.0.1:18184
topic_metrics=127.0.0.1:18185
resync=${RESYNC:-30s}
bootstrap=kafka-all-broker.$namespace.svc.cluster.local:29092
log=target/bench-kafka-users.log
work=$(mktemp -d)

strip_finalizers() {
    kubectl get kafkausers,kafkatopics -n "$namespace" -o name 2>/dev/null |
        xargs -r -P 8 -n 100 "$KUBECTL" patch -n "$namespace" --type merge \
            -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
}
remove_namespace() {
    kubectl get namespace "$namespace" >/dev/null 2>&1 || return 0
    strip_finalizers
    kubectl delete pods -n "$namespace" --all --grace-period=0 --force >/dev/null 2>&1 || true
    kubectl delete namespace "$namespace" --wait=false >/dev/null 2>&1 || true
}

e2e/testbed up >/dev/null 9>&-
e2e/bench/build-release.sh cluster-controller topic-controller
cargo build --quiet --locked -p e2e-tests --bin acl-probe
kubectl apply --server-side -f deploy/crds/ >/dev/null
remove_namespace
kubectl wait --for=delete "namespace/$namespace" --timeout=180s >/dev/null 2>&1 || true
kubectl create namespace "$namespace" >/dev/null

RUST_LOG=info e2e/testbed exec -- "$CARGO_TARGET_DIR/release/cluster-controller" --namespace "$namespace" \
    --leader-election=false --metrics-addr "$cluster_metrics" --grpc-addr "$grpc" \
    >target/bench-kafka-users-cluster-controller.log 2>&1 9>&- &
cluster_controller=$!
RUST_LOG=info,topic_controller=debug e2e/testbed exec -- "$CARGO_TARGET_DIR/release/topic-controller" \
    --namespace "$namespace" --leader-election=false --metrics-addr "$topic_metrics" \
    --cluster-access-endpoint "http://$grpc" --resync-interval "$resync" >"$log" 2>&1 9>&- &
topic_controller=$!
for _ in $(seq 300); do
    curl -sf "http://$cluster_metrics/readyz" >/dev/null && curl -sf "http://$topic_metrics/readyz" >/dev/null && break
    sleep 0.2
done
cleanup() {
    if [[ -n ${KEEP:-} ]]; then
        kill -TERM "$topic_controller" "$cluster_controller" 2>/dev/null || true
        echo "KEEP set: namespace $namespace kept; the next run removes it" >&2
        return
    fi
    # The cluster goes first: the topic controller then releases every deleted KafkaUser (no
    # ACL left to remove) instead of deleting thousands of ACLs.
    kubectl delete kafkacluster kafka -n "$namespace" --wait=false >/dev/null 2>&1 || true
    kubectl delete pods -n "$namespace" --all --grace-period=0 --force >/dev/null 2>&1 || true
    kubectl delete kafkausers,kafkatopics -n "$namespace" --all --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 120); do
        [[ $(kubectl get kafkausers -n "$namespace" -o name 2>/dev/null | wc -l) -eq 0 ]] && break
        sleep 1
    done
    kill -TERM "$topic_controller" "$cluster_controller" 2>/dev/null || true
    remove_namespace
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%7.1f", a - b}'; }
controller_pid() { pgrep -f "^$CARGO_TARGET_DIR/release/topic-controller --namespace $namespace" | head -n 1; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$(controller_pid)/status"; }
metrics() { curl -s "http://$topic_metrics/metrics"; }
counter() { metrics | awk -v name="$1" -v pattern="${2:-.}" '$1 ~ "^"name && $0 ~ pattern {sum += $NF} END {print sum + 0}'; }
api_writes() { counter koperator_topic_controller_writes_total; }
kafka_writes() {
    counter koperator_topic_controller_kafka_requests_total \
        'operation="(CreateAcls|DeleteAcls|AlterUserScramCredentials|AlterClientQuotas)"'
}
describe_acls_requests() { counter koperator_topic_controller_kafka_requests_total 'operation="DescribeAcls"'; }
passes() { sed 's/\x1b\[[0-9;]*m//g' "$log" | grep 'users pass done' || true; }
secrets() { kubectl get secrets -n "$namespace" -l kafka_cr=kafka --no-headers 2>/dev/null | grep -c '^bench-' || true; }
ready_count() {
    kubectl get kafkausers -n "$namespace" --chunk-size=1000 \
        -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true
}
# The benchmark's own client certificate, signed here with openssl by the cluster's CA: a super
# user by the spec, for DescribeAcls through acl-probe (our kafka-admin). An X.509 v3 one, with
# extensions: rustls refuses to present a v1 certificate (UnsupportedCertVersion), which is what
# `openssl x509 -req` makes without them.
admin_files() {
    kubectl get secret kafka-ca -n "$namespace" -o jsonpath='{.data.ca\.crt}' | base64 -d >"$work/ca.crt"
    kubectl get secret kafka-ca -n "$namespace" -o jsonpath='{.data.tls\.key}' | base64 -d >"$work/ca.key"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=bench-admin \
        -keyout "$work/admin.key" -out "$work/admin.csr" 2>/dev/null
    openssl x509 -req -in "$work/admin.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
        -days 1 -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n') \
        -out "$work/admin.crt" 2>/dev/null
}
acls_in_kafka() {
    e2e/testbed exec -- "$CARGO_TARGET_DIR/debug/acl-probe" --tls "$work/ca.crt" "$work/admin.crt" "$work/admin.key" \
        "$bootstrap" describe '-,-,-,-,-,-,-' 2>/dev/null | grep -c 'User:CN=bench-' || true
}

# The cluster: the combined sample, TLS on both listeners from the operator's CA, ACLs enforced.
sed -e 's|^      kafkaHeapOpts: .*|      kafkaHeapOpts: "-Xmx512M -Xms512M"\n      resourceRequirements: {requests: {cpu: 100m, memory: 512Mi}}|' \
    -e 's|^    transaction.state.log.min.isr=2$|    transaction.state.log.min.isr=2\n    authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n    allow.everyone.if.no.acl.found=false\n    super.users=User:CN=bench-admin|' \
    -e 's|type: "plaintext"|type: "ssl"|' \
    -e 's|^  listenersConfig:$|  listenersConfig:\n    sslSecrets: {tlsSecretName: kafka-ca, create: true, pkiBackend: operator-ca}|' \
    deploy/samples/kafkacluster-kraft-combined.yaml >"$work/cluster.yaml"
grep -q StandardAuthorizer "$work/cluster.yaml" || { echo "the sample changed: no authorizer set" >&2; exit 1; }
kubectl apply -n "$namespace" -f "$work/cluster.yaml" >/dev/null
cluster_start=$(now)
waited=0
until [[ $(kubectl get kafkacluster kafka -n "$namespace" -o jsonpath='{.status.state}') == ClusterRunning ]]; do
    sleep 1
    waited=$((waited + 1))
    if [[ $waited -ge 600 ]]; then
        echo "the cluster is not ClusterRunning after $waited s; its status:" >&2
        kubectl get kafkacluster kafka -n "$namespace" -o jsonpath='{.status}' >&2
        exit 1
    fi
done
cluster_running=$(now)
admin_files

# N KafkaUsers in files of 250, created 8 files at a time.
for ((i = 1; i <= users; i++)); do
    printf -- '---\napiVersion: kafka.banzaicloud.io/v1alpha1\nkind: KafkaUser\nmetadata:\n  name: bench-%05d\nspec:\n  clusterRef:\n    name: kafka\n  secretName: bench-%05d\n  topicGrants:\n  - topicName: bench-%05d\n    accessType: write\n' "$i" "$i" "$i"
done | split -l $((250 * 12)) - "$work/users-"
start=$(now)
printf '%s\n' "$work"/users-* | xargs -P 8 -n 1 "$KUBECTL" create -n "$namespace" -f >/dev/null
created=$(now)

limit=${LIMIT:-600}
give_up() {
    echo "$1 within $limit s of the last KafkaUser created; KafkaUsers by Ready reason:" >&2
    kubectl get kafkausers -n "$namespace" --chunk-size=1000 \
        -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].reason}{"\n"}{end}' | sort | uniq -c >&2
    exit 1
}
elapsed() { seconds "$(now)" "$created" | cut -d. -f1; }
until [[ $(secrets) -ge $users ]]; do
    [[ $(elapsed) -lt $limit ]] || give_up "not all $users Secrets exist"
    sleep 1
done
all_secrets=$(now)
until [[ $(acls_in_kafka) -ge $((users * 4)) ]]; do
    [[ $(elapsed) -lt $limit ]] || give_up "not all $((users * 4)) ACLs are in Kafka"
    sleep 1
done
all_acls=$(now)
until [[ $(ready_count) -ge $users ]]; do
    [[ $(elapsed) -lt $limit ]] || give_up "not all $users KafkaUsers are Ready"
    sleep 1
done
all_ready=$(now)
sleep 10
rss=$(rss_mib)

# One idle resync: a pass begins (one DescribeAcls) and finishes; nothing should be written.
writes_before=$(api_writes)
kafka_before=$(kafka_writes)
describes_before=$(describe_acls_requests)
until [[ $(describe_acls_requests) -gt $describes_before ]]; do sleep 0.5; done
done_before=$(passes | wc -l)
until [[ $(passes | wc -l) -gt $done_before ]]; do sleep 0.5; done
writes_after=$(api_writes)
kafka_after=$(kafka_writes)

printf '\nKafkaUser benchmark (%s users, a certificate from the operator CA and 4 ACLs each, on 3 nodes; release build)\n' "$users"
printf '  KafkaCluster apply -> ClusterRunning:     %s s\n' "$(seconds "$cluster_running" "$cluster_start")"
printf '  create %s KafkaUsers (kubectl, 8 parallel): %s s\n' "$users" "$(seconds "$created" "$start")"
printf '  last created -> %s Secrets:              %s s\n' "$users" "$(seconds "$all_secrets" "$created")"
printf '  last created -> %s ACLs in Kafka:        %s s\n' "$((users * 4))" "$(seconds "$all_acls" "$created")"
printf '  last created -> %s KafkaUsers Ready:     %s s\n' "$users" "$(seconds "$all_ready" "$created")"
printf '  topic controller RSS, idle:               %7s MiB\n' "$rss"
printf '  idle resync (every %s), one whole pass:   API writes %s, Kafka write requests %s\n' \
    "$resync" "$((writes_after - writes_before))" "$((kafka_after - kafka_before))"
echo
if ((writes_after != writes_before || kafka_after != kafka_before)); then
    echo "  FAILED: an idle pass wrote" >&2
    exit 1
fi

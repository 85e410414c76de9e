# Sourced by the benchmarks that run the cluster controller (release build) against the test
# bed in a namespace of their own: `start_cluster_controller NAMESPACE METRICS_ADDR GRPC_ADDR`
# brings the bed up, builds, recreates the namespace, starts the controller (log in
# target/bench-<namespace>.log) and, on exit, stops it and deletes the namespace. memory.sh
# sources it only for the set-up below.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
export KUBECONFIG=$PWD/target/testbed/kubeconfig
source "${KOPERATOR_CACHE:-$HOME/.cache/koperator}/toolchain.env"
kubectl() { "$KUBECTL" "$@"; }

start_cluster_controller() {
    local namespace=$1 metrics=$2 grpc=$3
    e2e/testbed up >/dev/null
    e2e/bench/build-release.sh cluster-controller
    kubectl apply --server-side --force-conflicts -f deploy/crds/ >/dev/null
    kubectl delete namespace "$namespace" --ignore-not-found --wait=true >/dev/null
    kubectl create namespace "$namespace" >/dev/null
    e2e/testbed exec -- "$CARGO_TARGET_DIR/release/cluster-controller" --namespace "$namespace" \
        --leader-election=false --metrics-addr "$metrics" --grpc-addr "$grpc" \
        >"target/$namespace.log" 2>&1 &
    bench_controller=$!
    bench_namespace=$namespace
    trap stop_cluster_controller EXIT
}

stop_cluster_controller() {
    kill -TERM "$bench_controller" 2>/dev/null || true
    kubectl delete namespace "$bench_namespace" --wait=false >/dev/null 2>&1 || true
}

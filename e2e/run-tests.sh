#!/usr/bin/env bash
# Runs the end-to-end suite on the local test bed. Starts the test bed when it is not up and,
# in that case, stops it again afterwards; a test bed you started yourself is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}

started_here=false
stop_if_started() {
    if $started_here; then
        e2e/testbed down || echo "run-tests: e2e/testbed down failed; see target/testbed/logs" >&2
    fi
}
# Set before `up`: an `up` that fails half-way (a full disk, a port in use) leaves processes
# and mounts that only `down` removes.
trap stop_if_started EXIT
# A test bed whose apiserver was started by someone else is theirs, even if a health check
# hiccups right now: `up` is idempotent, but only a test bed this script started is stopped.
if [[ ! -f target/testbed/run/kube-apiserver.pid ]] || ! e2e/testbed status >/dev/null 2>&1; then
    [[ -f target/testbed/run/kube-apiserver.pid ]] || started_here=true
    e2e/testbed up
fi
# A scenario's error names what it waited for; a backtrace of where anyhow made it adds 60
# lines after it and pushes the cause out of a CI log's tail. Panics keep RUST_BACKTRACE.
export RUST_LIB_BACKTRACE=0

# The suite runs our controllers as processes: build them first.
cargo build --locked -p cluster-controller -p topic-controller -p cruise-control-runner -p alert-receiver
# The chart's pods run our images: build them from the Dockerfiles (cached by content) and
# import them into the nodes now, not while other binaries run.
e2e/testbed import-images "$(e2e/images/deployables.sh)"
# The library's own tests (helpers) first, the usual way.
cargo test --locked -p e2e-tests --lib

# Each tests/*.rs is one binary; cargo test would run them one after the other, and most of a
# scenario's time is spent waiting for JVMs and Kafka. They run side by side instead, at most
# E2E_PARALLEL binaries at once with E2E_TEST_THREADS tests each, longest first; every binary's
# output (with the test runner's own "test result:" line) is printed when it ends. A failing
# binary does not stop the others.
binaries=$(cargo test --locked -p e2e-tests --tests --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
longest_first = ["rolling_upgrade", "rack_awareness", "tls_cluster", "monitoring", "alerts", "cluster_takeover", "graceful_scaling", "tls_migration", "tls_user_certificates", "kafka_users", "chart", "cruise_control_runner", "topics"]
found = []
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["kind"] == ["test"] and message.get("executable"):
        found.append((message["target"]["name"], message["executable"]))
rank = lambda name: next((i for i, prefix in enumerate(longest_first) if name.startswith(prefix)), len(longest_first))
for name, path in sorted(found, key=lambda f: (rank(f[0]), f[0])):
    print(name, path)
')
[[ -n $binaries ]] || { echo "run-tests: no e2e test binary was built" >&2; exit 1; }
logs=$(mktemp -d)
declare -A running=()
failed=()
finish_one() {
    local pid status=0 name
    wait -n -p pid "${!running[@]}" || status=$?
    name=${running[$pid]}
    unset "running[$pid]"
    echo "===== e2e: $name (exit $status) ====="
    cat "$logs/$name.log"
    ((status == 0)) || failed+=("$name")
}
while read -r name path; do
    while ((${#running[@]} >= ${E2E_PARALLEL:-3})); do finish_one; done
    echo "run-tests: starting $name"
    # Binaries run from their package directory, as cargo test runs them.
    (cd e2e/crates/e2e-tests && exec "$path" --test-threads="${E2E_TEST_THREADS:-2}") >"$logs/$name.log" 2>&1 &
    running[$!]=$name
done <<<"$binaries"
while ((${#running[@]} > 0)); do finish_one; done
rm -rf "$logs"
if ((${#failed[@]} > 0)); then
    echo "run-tests: failed: ${failed[*]}" >&2
    exit 1
fi
echo "run-tests: every e2e binary passed"

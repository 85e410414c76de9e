#!/usr/bin/env bash
# Runs the end-to-end suite on the local test bed. Starts the test bed when it is not up and,
# in that case, stops it again afterwards; a test bed you started yourself is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}

started_here=false
# A test bed whose apiserver was started by someone else is theirs, even if a health check
# hiccups right now: `up` is idempotent, but only a test bed this script started is stopped.
if [[ ! -f target/testbed/run/kube-apiserver.pid ]] || ! e2e/testbed status >/dev/null 2>&1; then
    [[ -f target/testbed/run/kube-apiserver.pid ]] || started_here=true
    e2e/testbed up
fi
stop_if_started() {
    if $started_here; then
        e2e/testbed down || echo "run-tests: e2e/testbed down failed; see target/testbed/logs" >&2
    fi
}
trap stop_if_started EXIT

# The suite runs our controllers as processes: build them first.
cargo build --locked -p cluster-controller -p topic-controller -p cruise-control-runner -p alert-receiver
# --no-fail-fast: one failing scenario must not hide the results of the others.
cargo test --locked --no-fail-fast -p e2e-tests -- --test-threads="${E2E_TEST_THREADS:-4}"

#!/usr/bin/env bash
# Runs the end-to-end suite on the local test bed. Starts the test bed when it is not up and,
# in that case, stops it again afterwards; a test bed you started yourself is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/koperator/cargo-target}

started_here=false
if ! e2e/testbed status >/dev/null 2>&1; then
    e2e/testbed up
    started_here=true
fi
stop_if_started() {
    if $started_here; then
        e2e/testbed down || echo "run-tests: e2e/testbed down failed; see target/testbed/logs" >&2
    fi
}
trap stop_if_started EXIT

cargo test --locked -p e2e-tests -- --test-threads="${E2E_TEST_THREADS:-4}"

#!/usr/bin/env bash
# Release builds of the named deployables, each built on its own as its Dockerfile builds it:
# cargo unifies the features of everything one invocation builds, and the features name the
# symbols, so only a deployable built alone links the hot-code.txt its image links
# (crates/hot_code_first.rs). The benchmarks measure that form.
#   e2e/bench/build-release.sh cluster-controller topic-controller
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
for deployable in "$@"; do
    cargo build --quiet --release --locked -p "$deployable"
done

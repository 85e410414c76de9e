#!/usr/bin/env bash
# Writes crates/<deployable>/hot-code.txt, the functions each deployable runs in
# e2e/bench/memory.sh --quick (start, one KRaft cluster and a topic made and left idle, the
# cluster deleted), which its release build links first (crates/hot_code_first.rs says why).
# The deployables run under valgrind's callgrind, which records every function that ran; the
# list keeps the binary's own order, so code that ran together stays together.
# Run it after a change of toolchain, dependencies or what the deployables do at rest, then
# e2e/bench/memory.sh to see the effect. Needs valgrind (Debian's package). Takes ~10 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(e2e/cargo-target-dir)}
deployables=(cluster-controller topic-controller cruise-control-runner alert-receiver)
command -v valgrind >/dev/null || { echo "hot-code: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# --demangle=no: the list names symbols as the linker sees them. Slow (tens of times), so the
# deployables settle for longer before memory.sh measures and stops them.
MEMORY_LAUNCHER="valgrind --tool=callgrind --demangle=no --compress-strings=no --callgrind-out-file=$out/callgrind.%p" \
    SETTLE=${SETTLE:-90} e2e/bench/memory.sh --quick
# memory.sh stops the deployables on its way out; callgrind writes its profile as each exits.
for _ in $(seq 120); do pgrep -f "callgrind-out-file=$out" >/dev/null || break; sleep 1; done

for deployable in "${deployables[@]}"; do
    binary=$CARGO_TARGET_DIR/release/$deployable
    profile=$(grep -l "^cmd: *$binary " "$out"/callgrind.* | head -1)
    [[ -n $profile ]] || { echo "hot-code: no profile of $deployable" >&2; exit 1; }
    # Every function callgrind saw run ("fn=" lines), in the binary's address order.
    sed -n 's/^fn=//p' "$profile" | sort -u >"$out/ran"
    list=crates/$deployable/hot-code.txt
    {
        echo "# Written by e2e/bench/hot-code.sh: the functions $deployable ran in e2e/bench/memory.sh --quick,"
        echo "# linked first in release builds (crates/hot_code_first.rs)."
        nm -n --defined-only "$binary" | awk 'NR == FNR {ran[$0] = 1; next} $2 ~ /^[tTwW]$/ && ($3 in ran) {print $3}' "$out/ran" -
    } >"$list"
    echo "hot-code: $list: $(($(wc -l <"$list") - 2)) of $(nm --defined-only "$binary" | grep -c ' [tTwW] ') functions"
done

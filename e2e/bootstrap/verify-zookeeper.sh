#!/usr/bin/env bash
# Proves a ZooKeeper start script works: starts a standalone server on a free loopback
# port in a temporary directory, asks it `srvr` (expects it to be serving: `ruok` alone
# answers `imok` even when the serving thread died), stops it.
#
#   verify-zookeeper.sh path/to/zookeeper-server-start.sh
set -euo pipefail

start_script=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/zookeeper-verify.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/zookeeper.properties" <<CFG
dataDir=$work/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
CFG

KAFKA_HEAP_OPTS="-Xmx128M" ZK_HEAP_OPTS="-Xmx128M" LOG_DIR=$work/logs EXTRA_ARGS="" \
    "$start_script" "$work/zookeeper.properties" > "$work/server.log" 2>&1 &
server_pid=$!

srvr() { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf srvr >&3 && timeout 2 cat <&3; exec 3>&-; }
for _ in $(seq 1 60); do
    if [[ $(srvr 2>/dev/null) == *"Mode: standalone"* ]]; then
        echo "[verify-zookeeper] OK: $start_script serves on 127.0.0.1:$port" >&2
        exit 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
done
tail -n 30 "$work/server.log" >&2
echo "[verify-zookeeper] FAILED: $start_script" >&2
exit 1

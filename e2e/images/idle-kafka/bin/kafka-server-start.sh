#!/bin/sh
# Benchmark stand-in for a Kafka broker: listens on the ports of `listeners` in the given
# server.properties (so readiness probes pass) and does nothing else. Lets a benchmark run
# dozens of KafkaClusters on two cores to measure the controller, not Kafka. busybox's
# `nc -ll -e` accepts every connection, runs `true` and closes it, and keeps listening.
set -eu
ports=$(sed -n 's/^listeners=//p' "$1" | tr ',' '\n' | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p')
[ -n "$ports" ] || { echo "no listeners= in $1" >&2; exit 1; }
for port in $ports; do
    nc -ll -p "$port" -e /bin/true &
done
wait

#!/usr/bin/env bash
# Where the time from `kubectl apply` to ClusterRunning goes, for Koperator's split-role KRaft
# sample (3 controllers + 3 brokers, Kafka 3.9.1) on the test bed, with the cluster controller
# (release build) alone. For each node, in seconds after the apply:
#   pod     the pod was created                   claim   its claim was bound (event)
#   sched   the pod was scheduled                 init    its init containers were done
#   start   the kafka container started           names   the controllers' names resolved
#                                                          (end of the dynamic quorum's wait)
#   format  `kafka-storage format` ran            jvm     the Kafka server's first log line
#   kafka   "Kafka Server started"                ready   the pod turned Ready
# then the cluster's ClusterRunning. Timestamps of objects and conditions have whole seconds;
# container log lines have their own (sub-second) ones.
# Usage: e2e/bench/startup.sh   Logs: target/bench-startup.log (the controller's).
set -euo pipefail
cd "$(dirname "$0")/../.."
source e2e/bench/cluster-controller-lib.sh
namespace=bench-startup
start_cluster_controller "$namespace" 127.0.0.1:18290 127.0.0.1:19693

applied=$(date +%s.%N)
kubectl apply -n "$namespace" -f deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml >/dev/null
kubectl wait -n "$namespace" kafkacluster/kafka --for=jsonpath='{.status.state}'=ClusterRunning --timeout=600s >/dev/null
running=$(date +%s.%N)

work=$(mktemp -d)
trap 'rm -rf "$work"; stop_cluster_controller' EXIT
kubectl get pods,pvc -n "$namespace" -l app=kafka -o json >"$work/objects.json"
kubectl get events -n "$namespace" -o json >"$work/events.json"
for pod in $(kubectl get pods -n "$namespace" -l app=kafka -o name); do
    kubectl logs -n "$namespace" "$pod" -c kafka --timestamps >"$work/${pod#pod/}.log"
done

python3 - "$work" "$applied" "$running" <<'EOF'
import datetime, json, pathlib, re, sys

work, applied, running = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])

def seconds(stamp):
    """Seconds after the apply of an RFC 3339 time (whole or with a fraction)."""
    if not stamp:
        return None
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", stamp).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(stamp).timestamp() - applied

objects = json.loads((work / "objects.json").read_text())["items"]
events = json.loads((work / "events.json").read_text())["items"]
pods = [o for o in objects if o["kind"] == "Pod"]
claims = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PersistentVolumeClaim"}

def claim_bound(pod):
    """The first ProvisioningSucceeded event of the pod's claims (local-path provisions on demand)."""
    names = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    times = [seconds(e.get("lastTimestamp") or e.get("eventTime")) for e in events
             if e["involvedObject"].get("kind") == "PersistentVolumeClaim" and e["involvedObject"]["name"] in names
             and e.get("reason") == "ProvisioningSucceeded"]
    return max(times) if times else None

def condition(pod, kind):
    found = [c for c in pod["status"].get("conditions", []) if c["type"] == kind and c["status"] == "True"]
    return seconds(found[0]["lastTransitionTime"]) if found else None

def log_time(lines, pattern, last=False):
    hits = [seconds(line.split(" ", 1)[0]) for line in lines if re.search(pattern, line)]
    return (hits[-1] if last else hits[0]) if hits else None

columns = ["pod", "claim", "sched", "init", "start", "names", "format", "jvm", "kafka", "ready"]
print(f"\napply -> ClusterRunning of Koperator's split-role KRaft sample: {running - applied:.1f} s")
print("seconds after the apply, per node (see the script's header for the columns)")
print("  " + f"{'node':<10}" + "".join(f"{c:>8}" for c in columns))
rows = []
for pod in sorted(pods, key=lambda p: int(p["metadata"]["labels"].get("brokerId", "0"))):
    name = pod["metadata"]["name"]
    lines = (work / f"{name}.log").read_text().splitlines()
    kafka = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "kafka")
    started = (kafka.get("state", {}).get("running") or {}).get("startedAt")
    row = {
        "pod": seconds(pod["metadata"]["creationTimestamp"]),
        "claim": claim_bound(pod),
        "sched": condition(pod, "PodScheduled"),
        "init": condition(pod, "Initialized"),
        "start": seconds(started),
        # The last "waiting for <host> to resolve" line: the wait ended within a second of it.
        "names": log_time(lines, r"waiting for .* to resolve", last=True),
        "format": log_time(lines, r"Formatting|already formatted"),
        # The server's first line (kafka-storage, a JVM of its own, logs before it).
        "jvm": log_time(lines, r"Registered kafka:type=kafka.Log4jController"),
        "kafka": log_time(lines, r"Kafka Server started"),
        "ready": condition(pod, "Ready"),
    }
    rows.append(row)
    cells = "".join(f"{row[c]:>8.1f}" if row[c] is not None else f"{'-':>8}" for c in columns)
    print(f"  {name.rsplit('-', 1)[0]:<10}{cells}")
steps = [("pod created", "pod", None), ("claim bound", "claim", "pod"), ("scheduled", "sched", "claim"),
         ("init containers", "init", "sched"), ("kafka container started", "start", "init"),
         ("names wait + kafka-storage format", "format", "start"), ("format -> server JVM logging", "jvm", "format"),
         ("JVM -> Kafka Server started", "kafka", "jvm"),
         ("Kafka Server started -> Ready", "ready", "kafka")]
print("median step durations over the nodes (s):")
for label, end, begin in steps:
    spans = sorted(r[end] - (r[begin] if begin else 0) for r in rows if r[end] is not None and (begin is None or r[begin] is not None))
    if spans:
        print(f"  {label:<32}{spans[len(spans) // 2]:>6.1f}   (min {spans[0]:.1f}, max {spans[-1]:.1f})")
last_ready = max((r["ready"] for r in rows if r["ready"] is not None), default=None)
if last_ready is not None:
    print(f"  {'last node Ready -> ClusterRunning':<32}{running - applied - last_ready:>6.1f}")
EOF

#!/bin/sh
# Benchmark stand-in for a Kafka broker: listens on the ports of `listeners` in the given
# server.properties (so readiness probes pass) and does nothing else. Lets a benchmark run
# dozens of KafkaClusters on two cores to measure the controller, not Kafka.
exec python3 - "$1" <<'PY'
import re, selectors, socket, sys
ports = set()
for line in open(sys.argv[1]):
    if line.startswith("listeners="):
        ports.update(int(p) for p in re.findall(r":(\d+)", line))
listening = selectors.DefaultSelector()
for port in sorted(ports):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    listening.register(s, selectors.EVENT_READ)
# Accept and close every connection (probes): an unaccepted backlog would fill and time out.
while True:
    for key, _ in listening.select():
        connection, _ = key.fileobj.accept()
        connection.close()
PY

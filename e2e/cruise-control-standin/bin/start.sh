#!/bin/sh
# The image's command, as in Koperator's Cruise Control image: start on port 8090 with the
# config mounted at /opt/cruise-control/config (the port argument wins over
# webserver.http.port, as it does for Cruise Control).
base=$(cd "$(dirname "$0")" && pwd)
cd "$base" || exit 1
exec "$base/kafka-cruise-control-start.sh" "$base/config/cruisecontrol.properties" 8090

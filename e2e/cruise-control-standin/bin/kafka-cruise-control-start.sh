#!/bin/sh
# Starts the Cruise Control stand-in in the foreground, taking Cruise Control's arguments:
#   kafka-cruise-control-start.sh [-daemon] config/cruisecontrol.properties [port]
# (-daemon is accepted and ignored: containers run in the foreground.) Honours JAVA_HOME,
# KAFKA_HEAP_OPTS (default -Xmx192M: the test bed has no cgroups, so the real image's
# percentage-of-RAM default would size the heap from the whole host), KAFKA_JVM_PERFORMANCE_OPTS,
# KAFKA_OPTS (Koperator puts the JMX exporter agent there) and CLASSPATH.
base=$(cd "$(dirname "$0")" && pwd)
if [ "$1" = "-daemon" ]; then
    shift
fi
if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] config/cruisecontrol.properties [port]" >&2
    exit 1
fi
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
classpath="$base/cruise-control/build/libs/*:$base/cruise-control/build/dependant-libs/*"
# shellcheck disable=SC2086
exec "$JAVA" ${KAFKA_HEAP_OPTS:--Xmx192M} $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_OPTS \
    -Dlog4j.configuration="file:$base/standin/log4j.properties" \
    -cp "${CLASSPATH:+$CLASSPATH:}$classpath" io.koperator.standin.Main "$@"

#!/bin/sh
# zkServer.sh for the test bed's ZooKeeper image: `start-foreground` only (what the image
# runs), reading $ZOOCFGDIR/zoo.cfg, with JVMFLAGS (and SERVER_JVMFLAGS) for the JVM.
if [ "$1" != start-foreground ]; then
  echo "usage: zkServer.sh start-foreground (the only mode of this image)" >&2
  exit 2
fi
home=$(cd "$(dirname "$0")/.." && pwd)
config=${ZOOCFGDIR:-$home/conf}/zoo.cfg
# shellcheck disable=SC2086
exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" -Dzookeeper.log.dir="${ZOO_LOG_DIR:-/logs}" \
  -Dlogback.configurationFile="$home/config/logback.xml" $SERVER_JVMFLAGS $JVMFLAGS \
  -cp "$home/libs/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$config"

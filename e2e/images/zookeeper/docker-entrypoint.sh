#!/bin/sh
# Writes a standalone /conf/zoo.cfg when none is there (as the official image does), then runs
# the command.
set -e
if [ ! -f "$ZOO_CONF_DIR/zoo.cfg" ] && [ -w "$ZOO_CONF_DIR" ]; then
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=${ZOO_TICK_TIME:-2000}"
    echo "initLimit=${ZOO_INIT_LIMIT:-5}"
    echo "syncLimit=${ZOO_SYNC_LIMIT:-2}"
    echo "clientPort=2181"
    echo "admin.enableServer=${ZOO_ADMINSERVER_ENABLED:-true}"
    echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr}"
    echo "server.1=localhost:2888:3888;2181"
  } > "$ZOO_CONF_DIR/zoo.cfg"
fi
exec "$@"

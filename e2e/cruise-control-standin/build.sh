#!/usr/bin/env bash
# Builds the Cruise Control stand-in into OUT_DIR, laid out like Cruise Control's image so one
# mount of OUT_DIR/opt/cruise-control at /opt/cruise-control works:
#
#   opt/cruise-control/start.sh                         the image's command
#   opt/cruise-control/kafka-cruise-control-start.sh    like Cruise Control's start script
#   opt/cruise-control/config/cruisecontrol.properties  defaults (a ConfigMap is mounted over config/)
#   opt/cruise-control/cruise-control/build/libs/cruise-control.jar            the stand-in
#   opt/cruise-control/cruise-control/build/dependant-libs/*.jar               kafka-clients, jackson, ...
#   opt/cruise-control/cruise-control/build/dependant-libs/cruise-control-metrics-reporter.jar
#   opt/cruise-control/standin/log4j.properties         the stand-in's own logging (not the ConfigMap's)
#
#   build.sh OUT_DIR KAFKA_LIBS_DIR
#
# Compiles with javac against a Kafka distribution's libs/ (no Maven), runs the planner checks,
# and copies the runtime jars it needs from the same libs/.
set -euo pipefail

out=${1:?usage: build.sh OUT_DIR KAFKA_LIBS_DIR}
libs=${2:?usage: build.sh OUT_DIR KAFKA_LIBS_DIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JAVAC=${JAVAC:-${JAVA_HOME:+$JAVA_HOME/bin/}javac}
JAVA=${JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}
JAR=${JAR:-${JAVA_HOME:+$JAVA_HOME/bin/}jar}

# The runtime closure of the AdminClient and Jackson, plus a logging backend for the client.
runtime_jars=()
for pattern in 'kafka-clients-*.jar' 'lz4-java-*.jar' 'snappy-java-*.jar' 'zstd-jni-*.jar' 'slf4j-api-*.jar' \
    'jackson-databind-*.jar' 'jackson-core-*.jar' 'jackson-annotations-*.jar' 'slf4j-reload4j-*.jar' 'reload4j-*.jar'; do
    jar=$(find "$libs" -maxdepth 1 -name "$pattern" | sort | head -n1)
    [[ -n $jar ]] || { echo "build.sh: no $pattern in $libs" >&2; exit 1; }
    runtime_jars+=("$jar")
done
classpath=$(IFS=:; echo "${runtime_jars[*]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/server" "$work/test" "$work/reporter"

# sources DIR: the .java files under DIR, in a stable order.
sources() { find "$1" -name '*.java' | sort; }
mapfile -t server_sources < <(sources "$src/server/src")
mapfile -t test_sources < <(sources "$src/server/test")
mapfile -t reporter_sources < <(sources "$src/reporter/src")
"$JAVAC" --release 17 -Xlint:all -Werror -cp "$classpath" -d "$work/server" "${server_sources[@]}"
"$JAVAC" --release 17 -Xlint:all -Werror -cp "$classpath:$work/server" -d "$work/test" "${test_sources[@]}"
"$JAVA" -cp "$classpath:$work/server:$work/test" io.koperator.standin.PlannerCheck
"$JAVAC" --release 17 -Xlint:all -Werror -cp "$classpath" -d "$work/reporter" "${reporter_sources[@]}"

home=$out/opt/cruise-control
rm -rf "$out"
mkdir -p "$home/cruise-control/build/libs" "$home/cruise-control/build/dependant-libs" "$home/config" \
    "$home/standin"
"$JAR" --create --file "$home/cruise-control/build/libs/cruise-control.jar" \
    --main-class io.koperator.standin.Main -C "$work/server" .
"$JAR" --create --file "$home/cruise-control/build/dependant-libs/cruise-control-metrics-reporter.jar" \
    -C "$work/reporter" .
cp "${runtime_jars[@]}" "$home/cruise-control/build/dependant-libs/"
cp "$src/bin/start.sh" "$src/bin/kafka-cruise-control-start.sh" "$home/"
chmod +x "$home/start.sh" "$home/kafka-cruise-control-start.sh"
cp "$src/config/"* "$home/config/"
cp "$src/standin/log4j.properties" "$home/standin/"
echo "build.sh: Cruise Control stand-in in $home"

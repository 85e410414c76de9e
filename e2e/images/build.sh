#!/usr/bin/env bash
# Builds the images the kubelet nodes run, with buildah (chroot isolation, no daemon), from
# the Containerfiles next to this script and files the bootstrap made: nothing is pulled.
#
#   e2e/images/build.sh        # prints the path of the image list on stdout
#
# Each image is cached by content: the hash of its build context (Containerfile, files, the
# binaries copied in), build arguments and names names the archive,
# $CACHE/images/<name>-<hash>.tar, so an unchanged image is not built again and a changed one
# gets a new archive (which the test bed imports into each node's containerd). The list,
# $CACHE/images/testbed.list, has one line per archive: "<archive> <reference> [<reference>...]"
# (the archive holds the first reference; the others are tags of the same image). buildah and
# its storage: see lib.sh. Our own deployables are built by deployables.sh.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$IMAGES_DIR/lib.sh"

# --- Kubernetes' own -----------------------------------------------------------------------
FILES=("$PAUSE")
build pause "registry.k8s.io/pause:$PAUSE_VERSION"
list_lines+=("$BUILT_ARCHIVE registry.k8s.io/pause:$PAUSE_VERSION")

FILES=(/bin/busybox)
build busybox "docker.io/library/busybox:$BUSYBOX_IMAGE_TAG"
list_lines+=("$BUILT_ARCHIVE docker.io/library/busybox:$BUSYBOX_IMAGE_TAG")
busybox_image=docker.io/library/busybox:$BUSYBOX_IMAGE_TAG

FILES=("$COREDNS")
build coredns "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
list_lines+=("$BUILT_ARCHIVE registry.k8s.io/coredns/coredns:$COREDNS_VERSION")

FILES=("$LOCAL_PATH_PROVISIONER")
BUILD_ARGS=("BASE_IMAGE=$busybox_image")
build local-path-provisioner "docker.io/rancher/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION"
list_lines+=("$BUILT_ARCHIVE docker.io/rancher/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION")

FILES=("$METALLB_CONTROLLER")
build metallb-controller "quay.io/metallb/controller:$METALLB_VERSION"
list_lines+=("$BUILT_ARCHIVE quay.io/metallb/controller:$METALLB_VERSION")

FILES=("$METALLB_SPEAKER")
build metallb-speaker "quay.io/metallb/speaker:$METALLB_VERSION"
list_lines+=("$BUILT_ARCHIVE quay.io/metallb/speaker:$METALLB_VERSION")

# Envoy on the same distroless-like base as our deployables (glibc, no shell).
local_base distroless-cc distroless-cc extract "base-files netbase tzdata libc6 libgcc-s1 libssl3"
FILES=("$ENVOY")
BUILD_ARGS=("BASE_IMAGE=$BASE_TAG")
build envoy "docker.io/envoyproxy/envoy:v$ENVOY_VERSION"
list_lines+=("$BUILT_ARCHIVE docker.io/envoyproxy/envoy:v$ENVOY_VERSION")

# --- Java images ---------------------------------------------------------------------------
rootfs=$(debian_rootfs debian-jre essential "openjdk-17-jre-headless ca-certificates curl procps netbase")
cp_dir=$(mktemp -d)
trap 'rm -rf "$cp_dir"' EXIT
ln -s "$rootfs" "$cp_dir/debian-jre.tar"
FILES=("$cp_dir/debian-jre.tar")
jre_tag=localhost/koperator-testbed/debian-jre17:$(basename "$rootfs" .tar | sed 's/.*-//')
build debian-jre "$jre_tag"

for version in $KAFKA_VERSIONS; do
    home_key=KAFKA_HOME_${version//./_}
    ln -sfn "${!home_key}" "$cp_dir/kafka"
    FILES=("$cp_dir/kafka")
    BUILD_ARGS=("BASE_IMAGE=$jre_tag" "KAFKA_VERSION=$version")
    build kafka "ghcr.io/adobe/koperator/kafka:2.13-$version"
    list_lines+=("$BUILT_ARCHIVE ghcr.io/adobe/koperator/kafka:2.13-$version ghcr.io/banzaicloud/kafka:2.13-$version")
    FILES=("$cp_dir/kafka")
    BUILD_ARGS=("BASE_IMAGE=$jre_tag" "KAFKA_VERSION=$version")
    build apache-kafka "docker.io/apache/kafka:$version"
    list_lines+=("$BUILT_ARCHIVE docker.io/apache/kafka:$version")
done

ln -sfn "$CRUISE_CONTROL_STANDIN_HOME" "$cp_dir/cruise-control"
FILES=("$cp_dir/cruise-control")
BUILD_ARGS=("BASE_IMAGE=$jre_tag")
build cruise-control "ghcr.io/banzaicloud/cruise-control:2.5.123"
list_lines+=("$BUILT_ARCHIVE ghcr.io/banzaicloud/cruise-control:2.5.123")

ln -sfn "$ZOOKEEPER_HOME" "$cp_dir/zookeeper"
FILES=("$cp_dir/zookeeper")
BUILD_ARGS=("BASE_IMAGE=$jre_tag" "ZOOKEEPER_VERSION=$ZOOKEEPER_VERSION")
build zookeeper "docker.io/library/zookeeper:$ZOOKEEPER_VERSION"
list_lines+=("$BUILT_ARCHIVE docker.io/library/zookeeper:$ZOOKEEPER_VERSION")

FILES=("$JMX_EXPORTER_JAR")
BUILD_ARGS=("BASE_IMAGE=$busybox_image" "JMX_EXPORTER_VERSION=$JMX_EXPORTER_VERSION")
build jmx-exporter "ghcr.io/adobe/koperator/jmx-javaagent:1.5.0"
list_lines+=("$BUILT_ARCHIVE ghcr.io/adobe/koperator/jmx-javaagent:1.5.0 ghcr.io/banzaicloud/jmx-javaagent:0.16.1")

# Benchmarks only (e2e/bench/cluster-controller.sh): a broker that listens and does nothing.
# Tagged as Kafka 3.8: its clusters form a static quorum, which the operator does not ask
# Kafka to describe (it cannot answer; a 3.9 cluster's dynamic quorum never settled).
BUILD_ARGS=("BASE_IMAGE=$busybox_image")
build idle-kafka "koperator-rs.test/idle-kafka:2.13-3.8.1"
list_lines+=("$BUILT_ARCHIVE koperator-rs.test/idle-kafka:2.13-3.8.1")

# Images replaced by a new build stay in buildah's storage, nameless, until pruned.
if ((built)); then buildah_cmd rmi --prune >/dev/null 2>&1 || true; fi

mkdir -p "$OUT"
printf '%s\n' "${list_lines[@]}" > "$OUT/testbed.list.tmp"
mv "$OUT/testbed.list.tmp" "$OUT/testbed.list"
# Archives that neither list names any more (older builds), beyond the newest 30, go; root
# file systems (a few, changing only with the machine's apt sources) stay.
find "$OUT" -maxdepth 1 -name '*.tar' ! -name '*-rootfs-*' -printf '%T@ %p\n' | sort -rn | tail -n +31 | cut -d' ' -f2- |
    while read -r old; do grep -qs "^$old " "$OUT/testbed.list" "$OUT/deployables.list" || rm -f "$old"; done
echo "$OUT/testbed.list"

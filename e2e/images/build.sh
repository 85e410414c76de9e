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
# (the archive holds the first reference; the others are tags of the same image). buildah's
# storage is kept in $CACHE/buildah; it runs in a mount namespace of its own with a scratch
# /var/lib (its blob cache would go to /var/lib/containers) and its network configuration in
# $CACHE/buildah too, so building leaves nothing on the machine outside the cache.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../bootstrap/versions.env
source "$IMAGES_DIR/../bootstrap/versions.env"
CACHE=${KOPERATOR_CACHE:-$HOME/.cache/koperator}
# shellcheck disable=SC1091
source "$CACHE/toolchain.env"
OUT=$CACHE/images
# Bump when this script builds differently, so every image is built again.
RECIPE=2

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# buildah's network backend keeps a lock file in its CNI config dir (default /etc/cni/net.d).
mkdir -p "$CACHE/buildah/cni"
printf '[network]\nnetwork_config_dir = "%s"\n' "$CACHE/buildah/cni" > "$CACHE/buildah/containers.conf"
export CONTAINERS_CONF=$CACHE/buildah/containers.conf
buildah_cmd() {
    unshare --mount --propagation private sh -c 'mount -t tmpfs testbed-buildah /var/lib && exec "$@"' buildah \
        buildah --root "$CACHE/buildah/root" --runroot "$CACHE/buildah/runroot" "$@"
}

list_lines=()
built=0
# Set before each `build`: build arguments (NAME=VALUE) and host files copied into the context.
BUILD_ARGS=()
FILES=()

# fingerprint PATH: what an image built from PATH depends on. Small files by content; files
# over 1 MiB (jars, binaries, the root file system) by name and size, which is what changes when
# the bootstrap replaces one (reading them all on every run would take seconds). Directories
# without their dotfiles and logs/ (the bootstrap's markers, what running the tools left).
fingerprint() {
    local parent base
    parent=$(dirname "$1") base=$(basename "$1")
    (
        cd "$parent"
        find -L "$base" \( -name logs -o -name '.?*' \) -prune -o -type f -size -1025k -print0 |
            LC_ALL=C sort -z | xargs -0r sha256sum
        find -L "$base" \( -name logs -o -name '.?*' \) -prune -o -type f -size +1024k -printf '%p %s\n' |
            LC_ALL=C sort
    )
}

# in_storage REFERENCE: makes sure buildah's storage has an image built earlier (an image is
# built FROM it), loading it from its archive if the storage lost it.
declare -A archive_of=()
in_storage() {
    buildah_cmd inspect --type image "$1" >/dev/null 2>&1 && return
    buildah_cmd pull --quiet "oci-archive:${archive_of[$1]}" >/dev/null
}

# build NAME REFERENCE [REFERENCE...]: builds e2e/images/NAME (with BUILD_ARGS and FILES)
# unless an archive of the same content exists; makes sure buildah's storage has it (later
# images may build FROM it). Sets BUILT_ARCHIVE.
build() {
    local name=$1
    shift
    local references=("$@")
    local hash
    hash=$({
        echo "recipe $RECIPE ${references[*]} ${BUILD_ARGS[*]}"
        (cd "$IMAGES_DIR/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        local file
        for file in "${FILES[@]}"; do fingerprint "$file"; done
    } | sha256sum | cut -c1-16)
    local archive=$OUT/$name-$hash.tar
    if [[ ! -s $archive ]]; then
        local start=$SECONDS arg
        local args=()
        for arg in "${BUILD_ARGS[@]}"; do
            args+=(--build-arg "$arg")
            [[ $arg == BASE_IMAGE=* ]] && in_storage "${arg#BASE_IMAGE=}"
        done
        log "${references[0]}: building ($name-$hash)"
        local context file
        context=$(mktemp -d)
        cp -a "$IMAGES_DIR/$name/." "$context/"
        for file in "${FILES[@]}"; do
            cp -aL "$file" "$context/"
            # What running the tools from the cache leaves next to them is not the image's.
            [[ -d $file ]] && rm -rf "$context/$(basename "$file")/logs" "$context/$(basename "$file")"/.[!.]*
        done
        buildah_cmd bud --quiet --isolation chroot --network host --pull=never --layers=false "${args[@]}" \
            -f "$context/Containerfile" -t "${references[0]}" "$context" >/dev/null
        mkdir -p "$OUT"
        rm -f "$archive.tmp"
        buildah_cmd push --quiet "${references[0]}" "oci-archive:$archive.tmp:${references[0]}"
        mv "$archive.tmp" "$archive"
        rm -rf "$context"
        built=$((built + 1))
        log "${references[0]}: built in $((SECONDS - start))s ($(du -h "$archive" | cut -f1))"
    fi
    archive_of[${references[0]}]=$archive
    BUILT_ARCHIVE=$archive
    BUILD_ARGS=()
    FILES=()
}

# The Debian + OpenJDK 17 root file system, from the machine's own apt sources (deb822 and
# one-line files alike), cached by its recipe.
debian_jre_rootfs() {
    local packages="openjdk-17-jre-headless ca-certificates curl procps netbase"
    local sources=()
    local file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -s $file ]] && grep -q '^[^#]' "$file" && sources+=("$file")
    done
    ((${#sources[@]})) || { log "no apt sources configured on this machine"; exit 1; }
    local hash
    hash=$({ echo "bookworm essential $packages"; cat "${sources[@]}"; } | sha256sum | cut -c1-16)
    local rootfs=$OUT/debian-jre-rootfs-$hash.tar
    if [[ ! -s $rootfs ]]; then
        local start=$SECONDS
        log "debian-jre: mmdebstrap bookworm with $packages"
        mkdir -p "$OUT"
        # Documentation is left out; without man1 openjdk's postinst fails on its alternatives.
        nice mmdebstrap --quiet --mode=root --variant=essential --include="${packages// /,}" \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            --setup-hook='mkdir -p "$1"/usr/share/man/man1' \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
            bookworm "$rootfs.part.tar" "${sources[@]}" >&2
        mv "$rootfs.part.tar" "$rootfs"
        log "debian-jre: root file system in $((SECONDS - start))s ($(du -h "$rootfs" | cut -f1))"
    fi
    echo "$rootfs"
}

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

# --- Java images ---------------------------------------------------------------------------
rootfs=$(debian_jre_rootfs)
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

# Images replaced by a new build stay in buildah's storage, nameless, until pruned.
if ((built)); then buildah_cmd rmi --prune >/dev/null 2>&1 || true; fi

mkdir -p "$OUT"
printf '%s\n' "${list_lines[@]}" > "$OUT/testbed.list.tmp"
mv "$OUT/testbed.list.tmp" "$OUT/testbed.list"
# Archives that no list names any more (older builds), beyond the newest 30, go.
find "$OUT" -maxdepth 1 -name '*.tar' -printf '%T@ %p\n' | sort -rn | tail -n +31 | cut -d' ' -f2- |
    while read -r old; do grep -q "^$old " "$OUT/testbed.list" || rm -f "$old"; done
echo "$OUT/testbed.list"

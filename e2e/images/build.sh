#!/usr/bin/env bash
# Builds the images the kubelet nodes run, with buildah (chroot isolation, no daemon), from
# the Containerfiles next to this script and files the bootstrap made: nothing is pulled.
#
#   e2e/images/build.sh        # prints the path of the image list on stdout
#
# Each image is cached by content: the hash of its build context (Containerfile, files, the
# binaries copied in) and its name names the archive, $CACHE/images/<name>-<hash>.tar, so an
# unchanged image is not built again and a changed one gets a new archive (which the test bed
# imports into each node's containerd). The list, $CACHE/images/testbed.list, has one line per
# image: "<image reference> <archive>". buildah's storage is kept in $CACHE/buildah, not in
# /var/lib/containers.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../bootstrap/versions.env
source "$IMAGES_DIR/../bootstrap/versions.env"
CACHE=${KOPERATOR_CACHE:-$HOME/.cache/koperator}
# shellcheck disable=SC1091
source "$CACHE/toolchain.env"
OUT=$CACHE/images
# Bump when this script builds differently, so every image is built again.
RECIPE=1

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
buildah_cmd() { buildah --root "$CACHE/buildah/root" --runroot "$CACHE/buildah/runroot" "$@"; }

list_lines=()

# build NAME REFERENCE [HOST_FILE...]: builds e2e/images/NAME with the host files copied into
# its context (by base name) unless an archive of the same content exists.
build() {
    local name=$1 reference=$2
    shift 2
    local context
    context=$(mktemp -d)
    cp -a "$IMAGES_DIR/$name/." "$context/"
    local file
    for file in "$@"; do cp -aL "$file" "$context/"; done
    local hash
    hash=$(cd "$context" && {
        echo "recipe $RECIPE $reference"
        find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a %F'
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16)
    local archive=$OUT/$name-$hash.tar
    if [[ ! -s $archive ]]; then
        local start=$SECONDS
        log "$reference: building ($name-$hash)"
        buildah_cmd bud --quiet --isolation chroot --pull=never --layers=false \
            -f "$context/Containerfile" -t "$reference" "$context" >/dev/null
        mkdir -p "$OUT"
        rm -f "$archive.tmp"
        buildah_cmd push --quiet "$reference" "oci-archive:$archive.tmp:$reference"
        mv "$archive.tmp" "$archive"
        log "$reference: built in $((SECONDS - start))s ($(du -h "$archive" | cut -f1))"
    fi
    rm -rf "$context"
    list_lines+=("$reference $archive")
}

build pause "registry.k8s.io/pause:$PAUSE_VERSION" "$PAUSE"
build busybox "docker.io/library/busybox:$BUSYBOX_IMAGE_TAG" /bin/busybox
build coredns "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$COREDNS"

mkdir -p "$OUT"
printf '%s\n' "${list_lines[@]}" > "$OUT/testbed.list.tmp"
mv "$OUT/testbed.list.tmp" "$OUT/testbed.list"
# Archives no list names any more (older builds), beyond the newest 20, go.
find "$OUT" -maxdepth 1 -name '*.tar' -printf '%T@ %p\n' | sort -rn | tail -n +21 | cut -d' ' -f2- |
    while read -r old; do grep -q " $old\$" "$OUT/testbed.list" || rm -f "$old"; done
echo "$OUT/testbed.list"

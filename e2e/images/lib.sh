#!/usr/bin/env bash
# What the image scripts share (sourced by build.sh and deployables.sh): buildah in a mount
# namespace of its own with its storage, network configuration and temporary files (the
# cache mounts of RUN steps) in $CACHE/buildah, so building leaves nothing on the machine
# outside the cache; `build` for an image of e2e/images cached by content; Debian root file
# systems made with mmdebstrap from the machine's own apt sources.

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
# Cache mounts (`RUN --mount=type=cache`) live under buildah's temporary directory.
mkdir -p "$CACHE/buildah/tmp"
buildah_cmd() {
    TMPDIR=$CACHE/buildah/tmp unshare --mount --propagation private sh -c 'mount -t tmpfs testbed-buildah /var/lib && exec "$@"' buildah \
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

# debian_rootfs NAME VARIANT PACKAGES: a Debian bookworm root file system made by mmdebstrap
# (VARIANT as mmdebstrap names them, PACKAGES space-separated) from the machine's own apt
# sources (deb822 and one-line files alike), cached by its recipe; prints the archive's path.
debian_rootfs() {
    local name=$1 variant=$2 packages=$3
    local sources=()
    local file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -s $file ]] && grep -q '^[^#]' "$file" && sources+=("$file")
    done
    ((${#sources[@]})) || { log "no apt sources configured on this machine"; exit 1; }
    local hash
    hash=$({ echo "bookworm $variant $packages"; cat "${sources[@]}"; } | sha256sum | cut -c1-16)
    local rootfs=$OUT/$name-rootfs-$hash.tar
    if [[ ! -s $rootfs ]]; then
        local start=$SECONDS
        log "$name: mmdebstrap bookworm ($variant) with $packages"
        mkdir -p "$OUT"
        # Documentation is left out; without man1 openjdk's postinst fails on its alternatives.
        nice mmdebstrap --quiet --mode=root --variant="$variant" --include="${packages// /,}" \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            --setup-hook='mkdir -p "$1"/usr/share/man/man1' \
            --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
            bookworm "$rootfs.part.tar" "${sources[@]}" >&2
        mv "$rootfs.part.tar" "$rootfs"
        log "$name: root file system in $((SECONDS - start))s ($(du -h "$rootfs" | cut -f1))"
    fi
    echo "$rootfs"
}

# local_base IMAGE ROOTFS VARIANT PACKAGES: e2e/images/IMAGE on ROOTFS, a Debian root file
# system (mmdebstrap VARIANT with PACKAGES), in buildah's storage; sets BASE_TAG to its name.
local_base() {
    local image=$1 name=$2 rootfs links
    rootfs=$(debian_rootfs "$name" "$3" "$4")
    links=$(mktemp -d)
    ln -sf "$rootfs" "$links/$name.tar"
    FILES=("$links/$name.tar")
    BASE_TAG=localhost/koperator-testbed/$image:$(basename "$rootfs" .tar | sed 's/.*-//')
    build "$image" "$BASE_TAG"
    in_storage "$BASE_TAG"
    rm -rf "$links"
}

#!/usr/bin/env bash
# Builds our four deployables as images from the repository's Dockerfiles (Dockerfile.cluster,
# .topic, .runner, .alerts) with buildah, the way anyone builds them with Docker, except for the
# base images: the public builder and runtime cannot be pulled here, so locally made stand-ins
# are passed as the Dockerfiles' build arguments (e2e/images/rust-builder, distroless-cc).
#
#   e2e/images/deployables.sh        # prints the path of the image list on stdout
#
# The images are tagged as the chart names them (ghcr.io/koperator-rs/<name>:<appVersion>) and
# cached by content: sources, lock file, Dockerfile, bases and profile name the archive
# $CACHE/images/<name>-<hash>.tar. The list $CACHE/images/deployables.list has the testbed.list
# format; `e2e/testbed import-images <list>` loads it into each node. cargo's registry and
# target dir live in buildah cache mounts under $CACHE/buildah/tmp, so a changed source builds
# incrementally. CARGO_PROFILE is the Dockerfiles' build argument: `dev` here unless told, so
# that `make test` spends ~7.5 min on the four images cold and little after a change (release,
# what ships: ~10 min cold, and a thin-LTO link per binary after every change);
# `CARGO_PROFILE=release e2e/images/deployables.sh` builds the shipped form.
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IMAGES_DIR/../.." && pwd)
# shellcheck source=lib.sh
source "$IMAGES_DIR/lib.sh"
PROFILE=${CARGO_PROFILE:-dev}
APP_VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$REPO/charts/koperator-rs/Chart.yaml")
TOOLCHAIN=$(rustc --print sysroot)
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

# --- the bases -----------------------------------------------------------------------------
local_base rust-builder debian-builder essential "gcc g++ libc6-dev make perl pkg-config libssl-dev zlib1g-dev ca-certificates"
builder_tag=$BASE_TAG
local_base distroless-cc distroless-cc extract "base-files netbase tzdata libc6 libgcc-s1 libssl3"
runtime_tag=$BASE_TAG

# sources_hash DOCKERFILE: what the image depends on, the files the build context lets in
# (.dockerignore) by content, the toolchain by version, the bases and the profile by name.
sources_hash() {
    {
        echo "recipe $RECIPE $1 $builder_tag $runtime_tag $PROFILE $(rustc --version)"
        cat "$REPO/$1" "$REPO/.dockerignore"
        cd "$REPO" && find Cargo.toml Cargo.lock clippy.toml rustfmt.toml proto crates e2e/crates \
            -name target -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
}

list_lines=()
# One time for the four images' sources (see the Dockerfiles): later than any build in the
# shared target dir, and the same for all four, so what the first compiles the next reuse.
SOURCES_TIME=$(date +%s)
for pair in cluster:cluster-controller topic:topic-controller runner:cruise-control-runner alerts:alert-receiver; do
    dockerfile=Dockerfile.${pair%%:*} name=${pair#*:}
    reference=ghcr.io/koperator-rs/$name:$APP_VERSION
    archive=$OUT/$name-$(sources_hash "$dockerfile").tar
    if [[ ! -s $archive ]]; then
        start=$SECONDS
        log "$reference: building from $dockerfile ($PROFILE)"
        # Each RUN sees the machine's Rust toolchain read-only where the builder looks for it,
        # and the machine's CA bundle (which trusts what the machine trusts, a proxy's CA
        # included) for cargo's downloads from crates.io.
        buildah_cmd bud --quiet --isolation chroot --network host --pull=never --layers=false \
            --build-arg "BUILDER_IMAGE=$builder_tag" --build-arg "RUNTIME_IMAGE=$runtime_tag" \
            --build-arg "CARGO_PROFILE=$PROFILE" --build-arg "SOURCES_TIME=$SOURCES_TIME" --volume "$TOOLCHAIN:/usr/local/rust:ro" \
            --volume "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro" \
            -f "$REPO/$dockerfile" -t "$reference" "$REPO" >/dev/null
        rm -f "$archive.tmp"
        buildah_cmd push --quiet "$reference" "oci-archive:$archive.tmp:$reference"
        mv "$archive.tmp" "$archive"
        built=$((built + 1))
        log "$reference: built in $((SECONDS - start))s ($(du -h "$archive" | cut -f1))"
    fi
    list_lines+=("$archive $reference")
done

if ((built)); then buildah_cmd rmi --prune >/dev/null 2>&1 || true; fi
printf '%s\n' "${list_lines[@]}" > "$OUT/deployables.list.tmp"
mv "$OUT/deployables.list.tmp" "$OUT/deployables.list"
# Older archives of our deployables beyond the newest two of each go (every source change makes one).
for pair in cluster-controller topic-controller cruise-control-runner alert-receiver; do
    find "$OUT" -maxdepth 1 -name "$pair-*.tar" -printf '%T@ %p\n' | sort -rn | tail -n +3 | cut -d' ' -f2- |
        while read -r old; do grep -q "^$old " "$OUT/deployables.list" || rm -f "$old"; done
done
echo "$OUT/deployables.list"

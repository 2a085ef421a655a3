#!/usr/bin/env bash
# Builds gongkai's OCI image on a machine that reaches Debian's packages but
# no container registry: a Debian root made by mmdebstrap, cut down by
# image/assemble.sh to the binary, its libraries and the CA bundle, packed
# as one layer with umoci and configured from image/Containerfile's runtime
# settings. Writes an OCI layout directory and an oci-archive tarball (load
# it with `podman load -i`, or `skopeo copy oci-archive:FILE ...`).
#   image/build.sh                  release build of gongkai
#   IMAGE_BINARY=path image/build.sh   an already built binary (the tests')
# IMAGE_OUT (default target/image) is where the layout and tarball go.
# Needs root (or a user namespace) for mmdebstrap; installs mmdebstrap and
# umoci from Debian when missing.
set -euo pipefail
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
out=${IMAGE_OUT:-$repo/target/image}
suite=${IMAGE_SUITE:-bookworm}
log() { printf 'image: %s\n' "$*" >&2; }

need=()
for tool in mmdebstrap:mmdebstrap umoci:umoci readelf:binutils python3:python3; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

binary=${IMAGE_BINARY:-}
if [[ -z $binary ]]; then
  log "building gongkai (release)"
  (cd "$repo" && cargo build --release --locked --bin gongkai)
  binary=$repo/target/release/gongkai
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
if ! git -C "$repo" diff --quiet HEAD 2>/dev/null; then revision="$revision-dirty"; fi
source_url=$(git -C "$repo" config --get remote.origin.url 2>/dev/null || echo "file://$repo")

work=$(mktemp -d "${TMPDIR:-/tmp}/gongkai-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"

log "Debian $suite root with $(grep -v '^#' "$repo/image/packages" | paste -sd' ')"
# Manuals and docs stay out, but each package's copyright notice is kept.
mmdebstrap --quiet --variant=essential \
  --include="$(grep -v '^#' "$repo/image/packages" | paste -sd,)" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  "$suite" "$work/debian.tar"
tar -C "$work/debian" -xf "$work/debian.tar"
rm "$work/debian.tar"
"$repo/image/assemble.sh" "$work/debian" "$work/rootfs" "$binary"

log "packing with umoci"
rm -rf "$out/oci" "$out/gongkai.oci.tar"
mkdir -p "$out"
umoci init --layout "$out/oci"
umoci new --image "$out/oci:$version"
umoci unpack --image "$out/oci:$version" "$work/bundle" >/dev/null
cp -a "$work/rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$out/oci:$version" "$work/bundle"
mapfile -t settings < <(python3 "$repo/image/runtime_config.py" "$repo/image/Containerfile" \
  "VERSION=$version" "REVISION=$revision" "SOURCE=$source_url")
umoci config --image "$out/oci:$version" --author="gongkai" \
  --config.label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${settings[@]}"
umoci gc --layout "$out/oci"
tar -C "$out/oci" -cf "$out/gongkai.oci.tar" .
log "gongkai:$version ($revision) in $out/oci and $out/gongkai.oci.tar ($(du -h "$out/gongkai.oci.tar" | cut -f1))"

#!/usr/bin/env bash
# Assembles the image's root file system: the files of image/packages as
# installed in a Debian root, the gongkai binary, and a non-root user. The
# one list of what goes into the image, used by image/build.sh (Debian root
# made by mmdebstrap) and by the Containerfile (a Debian build stage).
#   assemble.sh DEBIAN_ROOT OUT BINARY
# DEBIAN_ROOT has the packages installed (it may be /); OUT must not exist.
set -euo pipefail
(($# == 3)) || { echo "usage: $0 DEBIAN_ROOT OUT BINARY" >&2; exit 2; }
root=${1%/}
out=$2
binary=$3
here=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
[[ ! -e $out ]] || { echo "assemble: $out exists" >&2; exit 1; }
[[ -x $binary ]] || { echo "assemble: no executable at $binary" >&2; exit 1; }

# The non-root user the process runs as (distroless's numbers).
uid=65532
mkdir -p "$out"
# Debian's merged /usr: the top-level library and program directories are links.
for dir in bin sbin lib lib64; do
  mkdir -p "$out/usr/$dir"
  ln -s "usr/$dir" "$out/$dir"
done

# Shared libraries, the CA bundle and the copyright notices of the packages;
# their programs, locales, gconv modules and manuals stay out.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
grep -v '^#' "$here/packages" | while read -r package; do
  [[ -n $package ]] || continue
  dpkg-query --admindir="$root/var/lib/dpkg" -L "$package" >/dev/null ||
    { echo "assemble: $package is not installed in $root" >&2; exit 1; }
  dpkg-query --admindir="$root/var/lib/dpkg" -L "$package" |
    grep -E '^/(usr/)?lib(64)?/.*\.so(\.[0-9]+)*$|^/usr/share/doc/[^/]+/copyright$' |
    grep -v '/gconv/' || true
done | sed 's|^/||' | sort -u >"$list"
# The bundle update-ca-certificates built from the package's certificates.
echo etc/ssl/certs/ca-certificates.crt >>"$list"
tar -C "$root" -cf - --no-recursion -T "$list" | tar -C "$out" --keep-directory-symlink -xf -

install -D -m 0755 "$binary" "$out/usr/local/bin/gongkai"
if command -v strip >/dev/null; then strip --strip-debug "$out/usr/local/bin/gongkai"; fi

mkdir -p "$out/etc" "$out/tmp" "$out/var/lib/gongkai/data"
chmod 1777 "$out/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\ngongkai:x:%s:%s:gongkai:/var/lib/gongkai:/sbin/nologin\n' "$uid" "$uid" >"$out/etc/passwd"
printf 'root:x:0:\ngongkai:x:%s:\n' "$uid" >"$out/etc/group"
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
chown -R "$uid:$uid" "$out/var/lib/gongkai"

# What must hold of the result: the loader and every library the binary
# needs are there, and there is no shell.
for needed in $(readelf -d "$binary" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  compgen -G "$out/usr/lib/*/$needed" >/dev/null || compgen -G "$out/usr/lib*/$needed" >/dev/null ||
    { echo "assemble: $needed, which gongkai needs, is not in the image" >&2; exit 1; }
done
[[ ! -e $out/bin/sh ]] || { echo "assemble: the image has a shell" >&2; exit 1; }
echo "assemble: $(du -sh "$out" | cut -f1) in $out" >&2

#!/usr/bin/env bash
# Builds the OCI image (image/build.sh) from an already built gongkai binary
# and runs it: the image is unpacked with umoci into an OCI runtime bundle,
# whose process (arguments, environment, user, working directory) is started
# with crun where the machine's cgroups allow, else in new PID, mount, IPC and
# UTS namespaces rooted in the bundle's root file system (util-linux unshare).
# Asserts that `gongkai dev` answers gRPC health and serves the site, runs as
# the image's non-root user and writes only its data volume, that the image
# has no shell, and that its labels name this revision.
#   scripts/image-check.sh [BINARY]   (default target/debug/gongkai)
# Needs root; grpcurl from scripts/tools/grpcurl.sh.
set -euo pipefail
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
binary=${1:-$repo/target/debug/gongkai}
fail() { echo "image check failed: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (mmdebstrap and the namespaces)"
[[ -x $binary ]] || fail "no gongkai binary at $binary (build it first)"
grpcurl=${GONGKAI_TEST_GRPCURL:-$("$repo/scripts/tools/grpcurl.sh")}

work=$(mktemp -d "${TMPDIR:-/tmp}/gongkai-image-check.XXXXXX")
runner=''
cleanup() {
  if [[ -n $runner ]]; then
    crun kill gongkai-image-check KILL 2>/dev/null || true
    crun delete -f gongkai-image-check 2>/dev/null || true
    # The image's process first: it changed user, so it does not get the
    # parent-death signal when unshare is killed.
    pkill -KILL -P "$runner" 2>/dev/null || true
    kill -KILL "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

IMAGE_BINARY=$binary IMAGE_OUT=$work/image "$repo/image/build.sh"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
umoci unpack --image "$work/image/oci:$version" "$work/bundle" >/dev/null
rootfs=$work/bundle/rootfs

# What the image is: the archive holds one image whose labels name this
# revision; the root file system has no shell and the CA bundle.
python3 - "$work/image/gongkai.oci.tar" "$(git -C "$repo" rev-parse HEAD)" <<'PY' || fail "image metadata"
import json, sys, tarfile
archive, revision = sys.argv[1:]
with tarfile.open(archive) as tar:
    read = lambda name: json.load(tar.extractfile(name))
    index = read("./index.json")
    [manifest_ref] = index["manifests"]
    digest = lambda ref: "./blobs/" + ref["digest"].replace(":", "/")
    manifest = read(digest(manifest_ref))
    config = read(digest(manifest["config"]))
labels = config["config"]["Labels"]
assert labels["org.opencontainers.image.revision"].startswith(revision), labels
for key in ("source", "version", "title", "licenses", "created"):
    assert labels.get("org.opencontainers.image." + key), key
assert config["config"]["User"] == "65532:65532", config["config"]["User"]
assert config["config"]["Entrypoint"] == ["/usr/local/bin/gongkai"], config["config"]["Entrypoint"]
print(f"image: {len(manifest['layers'])} layer(s), labels {sorted(labels)}")
PY
[[ ! -e $rootfs/bin/sh && ! -e $rootfs/usr/bin/bash ]] || fail "the image has a shell"
[[ -s $rootfs/etc/ssl/certs/ca-certificates.crt ]] || fail "no CA bundle"

# The runtime configuration umoci derived from the image, on free loopback
# ports and the host's network (the check connects to it).
read -r grpc_port site_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
python3 - "$work/bundle/config.json" "$grpc_port" "$site_port" <<'PY'
import json, sys
path, grpc, site = sys.argv[1:]
config = json.load(open(path))
config["process"]["terminal"] = False
config["process"]["env"] = [e for e in config["process"]["env"] if not e.startswith(("GONGKAI_GRPC__LISTEN=", "GONGKAI_SITE__LISTEN="))]
config["process"]["env"] += [f"GONGKAI_GRPC__LISTEN=127.0.0.1:{grpc}", f"GONGKAI_SITE__LISTEN=127.0.0.1:{site}"]
config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "network"]
json.dump(config, open(path, "w"))
PY

log=$work/gongkai.log
how=''
if command -v crun >/dev/null; then
  crun --cgroup-manager=disabled run --bundle "$work/bundle" gongkai-image-check >"$log" 2>&1 </dev/null &
  runner=$!
  sleep 1
  if kill -0 "$runner" 2>/dev/null; then
    how=crun
  else
    wait "$runner" || true
    runner=''
    echo "image check: crun cannot run the bundle here: $(head -c 300 "$log")" >&2
  fi
fi
if [[ -z $how ]]; then
  # The process as the bundle says: its arguments, environment, user and
  # working directory, rooted in the image's file system.
  mapfile -t run < <(python3 - "$work/bundle/config.json" "$rootfs" <<'PY'
import json, sys
config, rootfs = json.load(open(sys.argv[1])), sys.argv[2]
process = config["process"]
print("env"); print("-i"); [print(e) for e in process["env"]]
for word in ("unshare", "--pid", "--fork", "--kill-child", "--ipc", "--uts", "--mount", f"--root={rootfs}", f"--wd={process['cwd']}",
             f"--setuid={process['user']['uid']}", f"--setgid={process['user']['gid']}"):
    print(word)
[print(a) for a in process["args"]]
PY
  )
  "${run[@]}" >"$log" 2>&1 </dev/null &
  runner=$!
  how="unshare and the bundle's process settings"
fi
echo "image check: running the image with $how" >&2

for _ in $(seq 1 100); do
  health=$("$grpcurl" -plaintext -max-time 1 "127.0.0.1:$grpc_port" grpc.health.v1.Health/Check 2>/dev/null || true)
  [[ $health == *'"SERVING"'* ]] && break
  kill -0 "$runner" 2>/dev/null || { cat "$log" >&2; fail "gongkai exited"; }
  sleep 0.2
done
"$grpcurl" -plaintext "127.0.0.1:$grpc_port" grpc.health.v1.Health/Check | grep -q '"SERVING"' ||
  { cat "$log" >&2; fail "gRPC health is not SERVING"; }
page=$(curl -fsS "http://127.0.0.1:$site_port/") || { cat "$log" >&2; fail "the site did not answer"; }
grep -q '</html>' <<<"$page" || fail "the site's home page is not HTML"
curl -fsS -o /dev/null "http://127.0.0.1:$site_port/log/key" || fail "the site serves no log key"
owner=$(stat -c %u "$rootfs/var/lib/gongkai/data/gongkai.db") || fail "no database in the data volume"
[[ $owner == 65532 ]] || fail "the database is owned by uid $owner, not the image's user"
echo "image check: ok (health SERVING, site 200, runs as 65532, $(du -sh "$rootfs" | cut -f1) root file system)" >&2

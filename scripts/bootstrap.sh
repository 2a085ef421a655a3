#!/usr/bin/env bash
# Installs what building and testing gongkai needs beyond a bare machine of
# this kind (Rust, Java, Maven, Go and Python are expected): the toolchain
# pieces the bundled librdkafka build uses, Debian's `chromium` (with a small
# CJK font, so the pages render Chinese), which the site's end-to-end test
# drives headless, and `python3-venv`, for the virtualenv of the Python test
# tools (scripts/tools/python.sh). Idempotent: installs only what is missing.
set -euo pipefail

need=()
for package in make perl zlib1g-dev pkg-config g++ ca-certificates chromium fonts-wqy-microhei python3-venv; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || need+=("$package")
done
command -v cargo >/dev/null || { echo "bootstrap: cargo is missing; install Rust with rustup first" >&2; exit 1; }

if ((${#need[@]})); then
  echo "bootstrap: installing ${need[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# rustfmt and clippy are rustup components; a minimal profile may lack them.
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component" >&2
done

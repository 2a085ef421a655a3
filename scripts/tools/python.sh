#!/usr/bin/env bash
# Prints the path of a Python that has the test tools of
# scripts/tools/requirements.txt, provisioning them first in a virtualenv in
# the gongkai cache (${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}/venv)
# when it is missing or was made from other requirements or another python3.
# The tests find it through GONGKAI_TEST_PYTHON (scripts/test.sh sets it), or
# at that default path. Idempotent: when nothing changed it only compares a
# stamp.
set -euo pipefail

readonly tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly requirements="$tools_dir/requirements.txt"
readonly cache_dir="${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}"
readonly venv="$cache_dir/venv"
readonly python="$venv/bin/python"
readonly stamp="$venv/gongkai-requirements.sha256"

command -v python3 >/dev/null 2>&1 || { echo "python: python3 is missing" >&2; exit 1; }
# What the virtualenv was made from: the requirements and the interpreter.
want="$({ cat "$requirements"; command -v python3; python3 --version; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$python"
  exit 0
fi

echo "python: provisioning $venv from $requirements" >&2
rm -rf "$venv"
mkdir -p "$cache_dir"
log="$cache_dir/python-tools.log"
if ! { python3 -m venv "$venv" &&
  "$python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "python: could not provision $venv (log: $log)" >&2
  exit 1
fi
# Written last, so an interrupted run provisions again.
echo "$want" >"$stamp"
echo "$python"

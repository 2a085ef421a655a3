#!/usr/bin/env bash
# Prints the path of the pinned grpcurl, building it first with the Go
# toolchain into the gongkai cache
# (${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}/bin) when it
# is missing or another version. The end-to-end tests run it (found through
# GONGKAI_TEST_GRPCURL, which scripts/test.sh sets) to check that reflection
# alone lets a stock client read gongkai's error details. Idempotent: a
# second run only checks the version.
set -euo pipefail

readonly GRPCURL_MODULE=github.com/fullstorydev/grpcurl
readonly GRPCURL_VERSION=v1.9.4
readonly cache_dir="${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}"
readonly bin_dir="$cache_dir/bin"
readonly grpcurl="$bin_dir/grpcurl"

# The module version a Go binary was built from (empty if unreadable).
built_version() {
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

command -v go >/dev/null 2>&1 || { echo "grpcurl: no Go toolchain to build $GRPCURL_MODULE@$GRPCURL_VERSION" >&2; exit 1; }
if [[ ! -x "$grpcurl" || "$(built_version "$grpcurl")" != "$GRPCURL_VERSION" ]]; then
  mkdir -p "$bin_dir"
  log="$cache_dir/grpcurl-build.log"
  echo "grpcurl: building $GRPCURL_VERSION into $bin_dir (go install; a minute or two)" >&2
  # Run outside the repository so no go.mod or go.work here can interfere.
  if ! (cd "$cache_dir" && GOBIN="$bin_dir" go install "$GRPCURL_MODULE/cmd/grpcurl@$GRPCURL_VERSION") >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "grpcurl: go install $GRPCURL_MODULE/cmd/grpcurl@$GRPCURL_VERSION failed (log: $log)" >&2
    exit 1
  fi
fi
echo "$grpcurl"

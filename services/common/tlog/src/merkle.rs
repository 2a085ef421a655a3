//! RFC 6962 / RFC 9162 Merkle tree hashing over a log kept as stored hashes.
//!
//! A log that appends leaves one at a time stores, for each leaf, its leaf
//! hash and the hashes of the perfect subtrees that leaf completes, in one
//! dense sequence: the *stored hash index* of node `(level, n)` (the root of
//! leaves `n·2^level .. (n+1)·2^level`) is its position there, as in Go's
//! `golang.org/x/mod/sumdb/tlog`. Every other hash of any tree size is
//! computed from at most `2·log₂(size)` of those.
//!
//! The database that keeps them is asynchronous, so each computation comes as
//! a pair: `*_indexes` says which stored hashes it reads, the caller fetches
//! them (in any order) into something that is a [`HashReader`] (a `HashMap`,
//! a `BTreeMap`, or the dense `Vec` itself), and the computation runs on it:
//!
//! | indexes to fetch | computation |
//! | --- | --- |
//! | [`stored_hashes_indexes`] | [`stored_hashes`]: what to store when appending leaf `n` |
//! | [`tree_hash_indexes`] | [`tree_hash`]: the root of the tree of a size |
//! | [`inclusion_proof_indexes`] | [`inclusion_proof`] |
//! | [`consistency_proof_indexes`] | [`consistency_proof`] |
//!
//! ```
//! use std::collections::HashMap;
//! use gongkai_tlog::merkle::{self, Hash};
//!
//! // The log's table of stored hashes, here a Vec; appending leaf n stores
//! // what `stored_hashes` returns.
//! let mut table: Vec<Hash> = Vec::new();
//! for n in 0..10u64 {
//!     let leaf = merkle::leaf_hash(&[n as u8; 32]);
//!     let fetched: HashMap<u64, Hash> = merkle::stored_hashes_indexes(n)?
//!         .into_iter()
//!         .map(|i| (i, table[i as usize]))
//!         .collect();
//!     for (index, hash) in merkle::stored_hashes(n, &leaf, &fetched)? {
//!         assert_eq!(index, table.len() as u64);
//!         table.push(hash);
//!     }
//! }
//! // An inclusion proof: which rows to SELECT, then the proof from them.
//! let fetched: HashMap<u64, Hash> =
//!     merkle::inclusion_proof_indexes(3, 10)?.into_iter().map(|i| (i, table[i as usize])).collect();
//! let proof = merkle::inclusion_proof(3, 10, &fetched)?;
//! let root = merkle::tree_hash(10, &table)?;
//! merkle::verify_inclusion(&merkle::leaf_hash(&[3; 32]), 3, 10, &proof, &root)?;
//! # Ok::<(), gongkai_tlog::Error>(())
//! ```
//!
//! The verifiers, [`verify_inclusion`] and [`verify_consistency`], follow
//! RFC 9162 §2.1.3.2 and §2.1.4.2: a different algorithm from the provers,
//! which follow the recursive definitions of RFC 6962 §2.1.1 and §2.1.2.
//! [`root_from_leaves`] and [`CompactTree`] compute roots from the leaf hashes
//! alone, for a verifier that downloaded every entry.
//!
//! Tree sizes are bounded by [`MAX_TREE_SIZE`] (2^62) wherever stored hashes
//! are involved, so that every stored hash index fits a signed 64-bit integer
//! (PostgreSQL's `bigint`) and no arithmetic can overflow.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::Error;

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The size of a [`Hash`](type@Hash) in bytes.
pub const HASH_SIZE: usize = 32;

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The largest tree size that stored hashes, proofs and tiles support: 2^62
/// leaves. Every stored hash index of such a tree is below 2^63.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// The leaf hash of `data`: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A hash in standard, padded base64, as checkpoints and proofs carry it.
pub fn hash_to_base64(hash: &Hash) -> String {
    STANDARD.encode(hash)
}

/// Parses a hash from standard, padded base64; only the canonical encoding
/// of exactly 32 bytes is accepted.
pub fn hash_from_base64(text: &str) -> Result<Hash, Error> {
    // 32 bytes are always 44 characters; checking first bounds the work.
    if text.len() != 44 {
        return Err(Error::MalformedHash);
    }
    let bytes = STANDARD.decode(text).map_err(|_| Error::MalformedHash)?;
    Hash::try_from(bytes.as_slice()).map_err(|_| Error::MalformedHash)
}

/// Where stored hashes come from: a map fetched from the database, or the
/// dense sequence of all of them.
pub trait HashReader {
    /// The stored hash with this index, if present.
    fn read_hash(&self, index: u64) -> Option<Hash>;
}

impl HashReader for HashMap<u64, Hash> {
    fn read_hash(&self, index: u64) -> Option<Hash> {
        self.get(&index).copied()
    }
}

impl HashReader for BTreeMap<u64, Hash> {
    fn read_hash(&self, index: u64) -> Option<Hash> {
        self.get(&index).copied()
    }
}

/// The dense layout: position `i` holds stored hash index `i`.
impl HashReader for [Hash] {
    fn read_hash(&self, index: u64) -> Option<Hash> {
        usize::try_from(index).ok().and_then(|i| self.get(i)).copied()
    }
}

impl HashReader for Vec<Hash> {
    fn read_hash(&self, index: u64) -> Option<Hash> {
        self.as_slice().read_hash(index)
    }
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hash(&self, index: u64) -> Option<Hash> {
        (**self).read_hash(index)
    }
}

fn read<R: HashReader + ?Sized>(reader: &R, index: u64) -> Result<Hash, Error> {
    reader.read_hash(index).ok_or(Error::MissingHash(index))
}

/// How many hashes were stored before leaf `n`'s: each leaf `j` stores
/// `1 + trailing_zeros(j + 1)` hashes, which sums to `n + n/2 + n/4 + …`.
/// Callers keep `n < 2^63` so that the sum cannot overflow.
fn hashes_before_leaf(n: u64) -> u64 {
    let mut total = 0u64;
    let mut m = n;
    while m > 0 {
        total += m;
        m >>= 1;
    }
    total
}

/// The stored hash index of node `(level, n)`: the root of leaves
/// `n·2^level .. (n+1)·2^level`. Level 0 nodes are the leaf hashes.
///
/// Errors when the node lies beyond [`MAX_TREE_SIZE`] leaves.
pub fn stored_hash_index(level: u8, n: u64) -> Result<u64, Error> {
    if level > 62 || n >= MAX_TREE_SIZE >> level {
        return Err(Error::NodeOutOfRange { level, n });
    }
    // The node is stored right after the leaf that completes it, its right-most
    // leaf, and the lower nodes that leaf completes.
    let last_leaf = ((n + 1) << level) - 1;
    Ok(hashes_before_leaf(last_leaf) + u64::from(level))
}

/// The inverse of [`stored_hash_index`]: the `(level, n)` of a stored hash.
pub fn split_stored_hash_index(index: u64) -> Result<(u8, u64), Error> {
    if index >= 1 << 63 {
        return Err(Error::InvalidStoredIndex(index));
    }
    // hashes_before_leaf(n) lies in [n, 2n), so the leaf whose hashes hold
    // `index` is at most log₂(index) past index/2.
    let mut leaf = index / 2;
    let mut first = hashes_before_leaf(leaf);
    loop {
        let next = first + 1 + u64::from((leaf + 1).trailing_zeros());
        if next > index {
            break;
        }
        leaf += 1;
        first = next;
    }
    let level = u8::try_from(index - first).map_err(|_| Error::InvalidStoredIndex(index))?;
    let n = leaf.checked_shr(u32::from(level)).ok_or(Error::InvalidStoredIndex(index))?;
    // Indexes past the supported tree size split into nodes that do not map back.
    match stored_hash_index(level, n) {
        Ok(back) if back == index => Ok((level, n)),
        _ => Err(Error::InvalidStoredIndex(index)),
    }
}

/// How many hashes a log of `size` leaves has stored.
pub fn stored_hash_count(size: u64) -> Result<u64, Error> {
    if size > MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(size));
    }
    if size == 0 {
        return Ok(0);
    }
    let last = size - 1;
    Ok(hashes_before_leaf(last) + 1 + u64::from(last.trailing_ones()))
}

/// The stored hash indexes that [`stored_hashes`] reads to append leaf `n`:
/// the left siblings of the subtrees the new leaf completes, in increasing
/// order.
pub fn stored_hashes_indexes(n: u64) -> Result<Vec<u64>, Error> {
    if n >= MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(n.saturating_add(1)));
    }
    // Each trailing one bit of n completes a subtree whose left half is
    // node (level, (n >> level) - 1); n >> level is odd there, so no underflow.
    let completed = n.trailing_ones();
    let mut indexes = Vec::with_capacity(completed as usize);
    for level in (0..completed).rev() {
        let level = level as u8;
        indexes.push(stored_hash_index(level, (n >> level) - 1)?);
    }
    Ok(indexes)
}

/// The hashes to store when appending leaf `n` (zero-based) whose leaf hash
/// is `leaf`, each with its stored hash index: the leaf hash, then the root
/// of every subtree that leaf completes, at consecutive indexes starting at
/// `stored_hash_index(0, n)`. Reads [`stored_hashes_indexes`]`(n)`.
pub fn stored_hashes<R: HashReader + ?Sized>(n: u64, leaf: &Hash, reader: &R) -> Result<Vec<(u64, Hash)>, Error> {
    let needed = stored_hashes_indexes(n)?;
    let first = stored_hash_index(0, n)?;
    let mut out = Vec::with_capacity(needed.len() + 1);
    out.push((first, *leaf));
    let mut hash = *leaf;
    // `needed` is highest level first; the lowest completed subtree comes first.
    for (step, index) in needed.iter().rev().enumerate() {
        hash = node_hash(&read(reader, *index)?, &hash);
        out.push((first + step as u64 + 1, hash));
    }
    Ok(out)
}

/// The largest power of two strictly below `n`, for `n >= 2`: where RFC 6962
/// splits a tree of `n` leaves.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees that make up leaves `lo..hi`, largest first, as
/// `(level, n)` nodes. Ranges from the RFC 6962 recursion are aligned, so
/// this is their exact decomposition.
fn perfect_subtrees(mut lo: u64, hi: u64) -> Vec<(u8, u64)> {
    let mut nodes = Vec::new();
    while lo < hi {
        let by_size = 63 - (hi - lo).leading_zeros();
        let level = if lo == 0 { by_size } else { by_size.min(lo.trailing_zeros()) };
        nodes.push((level as u8, lo >> level));
        lo += 1 << level;
    }
    nodes
}

fn range_indexes(lo: u64, hi: u64, out: &mut Vec<u64>) -> Result<(), Error> {
    for (level, n) in perfect_subtrees(lo, hi) {
        out.push(stored_hash_index(level, n)?);
    }
    Ok(())
}

/// MTH(D[lo:hi]) from stored hashes.
fn range_hash<R: HashReader + ?Sized>(lo: u64, hi: u64, reader: &R) -> Result<Hash, Error> {
    let mut indexes = Vec::new();
    range_indexes(lo, hi, &mut indexes)?;
    let nodes = indexes.into_iter().map(|index| read(reader, index)).collect::<Result<Vec<_>, _>>()?;
    Ok(fold_nodes(&nodes))
}

/// The root over perfect subtree roots, largest (left-most) first: each
/// joins the hash of everything to its right.
fn fold_nodes(nodes: &[Hash]) -> Hash {
    let mut nodes = nodes.iter().rev();
    let Some(last) = nodes.next() else {
        return EMPTY_ROOT;
    };
    nodes.fold(*last, |right, left| node_hash(left, &right))
}

/// The stored hash indexes that [`tree_hash`] reads for a tree of `size`
/// leaves: the roots of its perfect subtrees, largest first (also the nodes of
/// its [`CompactTree`]).
pub fn tree_hash_indexes(size: u64) -> Result<Vec<u64>, Error> {
    if size > MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(size));
    }
    let mut indexes = Vec::new();
    range_indexes(0, size, &mut indexes)?;
    Ok(indexes)
}

/// The root of the tree of the first `size` leaves, from stored hashes; the
/// empty tree's root for size 0. Reads [`tree_hash_indexes`]`(size)`.
pub fn tree_hash<R: HashReader + ?Sized>(size: u64, reader: &R) -> Result<Hash, Error> {
    if size > MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(size));
    }
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    range_hash(0, size, reader)
}

/// The leaf ranges whose subtree hashes make the inclusion proof of leaf
/// `index` in a tree of `size` leaves, leaf end first (RFC 6962 §2.1.1 PATH).
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    ranges
}

/// The leaf ranges whose subtree hashes make the consistency proof from
/// `old` to `new` leaves, `0 < old <= new` (RFC 6962 §2.1.2 SUBPROOF).
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, new);
    let mut ranges = Vec::new();
    // Invariant: lo < old <= hi. The subtree that is the old tree itself is
    // known to the verifier, so it is only sent when it is not the whole old
    // tree (lo != 0).
    while old != hi {
        let k = split_point(hi - lo);
        if old <= lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    if lo != 0 {
        ranges.push((lo, hi));
    }
    ranges.reverse();
    ranges
}

fn check_leaf(index: u64, size: u64) -> Result<(), Error> {
    if size > MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(size));
    }
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    Ok(())
}

fn check_sizes(old: u64, new: u64) -> Result<(), Error> {
    if new > MAX_TREE_SIZE {
        return Err(Error::TreeTooLarge(new));
    }
    if old > new {
        return Err(Error::SizeOrder { old, new });
    }
    Ok(())
}

/// The stored hash indexes that [`inclusion_proof`] reads.
pub fn inclusion_proof_indexes(index: u64, size: u64) -> Result<Vec<u64>, Error> {
    check_leaf(index, size)?;
    let mut indexes = Vec::new();
    for (lo, hi) in inclusion_ranges(index, size) {
        range_indexes(lo, hi, &mut indexes)?;
    }
    Ok(indexes)
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `size`
/// leaves, from stored hashes, leaf end first. Reads
/// [`inclusion_proof_indexes`]`(index, size)`.
pub fn inclusion_proof<R: HashReader + ?Sized>(index: u64, size: u64, reader: &R) -> Result<Vec<Hash>, Error> {
    check_leaf(index, size)?;
    inclusion_ranges(index, size).into_iter().map(|(lo, hi)| range_hash(lo, hi, reader)).collect()
}

/// The stored hash indexes that [`consistency_proof`] reads.
pub fn consistency_proof_indexes(old_size: u64, new_size: u64) -> Result<Vec<u64>, Error> {
    check_sizes(old_size, new_size)?;
    let mut indexes = Vec::new();
    if old_size == 0 {
        return Ok(indexes);
    }
    for (lo, hi) in consistency_ranges(old_size, new_size) {
        range_indexes(lo, hi, &mut indexes)?;
    }
    Ok(indexes)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of
/// `new_size` leaves, from stored hashes. Empty when `old_size` is 0 (the
/// empty tree is a prefix of every tree) or equals `new_size`. Reads
/// [`consistency_proof_indexes`]`(old_size, new_size)`.
pub fn consistency_proof<R: HashReader + ?Sized>(old_size: u64, new_size: u64, reader: &R) -> Result<Vec<Hash>, Error> {
    check_sizes(old_size, new_size)?;
    if old_size == 0 {
        return Ok(Vec::new());
    }
    consistency_ranges(old_size, new_size).into_iter().map(|(lo, hi)| range_hash(lo, hi, reader)).collect()
}

/// Checks that `proof` proves leaf hash `leaf` is leaf `index` of the tree
/// of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2). Any size is
/// accepted here: a verifier needs no stored hashes.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), Error> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if s == 0 {
            return Err(Error::InvalidProof);
        }
        if f & 1 == 1 || f == s {
            hash = node_hash(sibling, &hash);
            // A right-edge node with no right sibling is promoted unchanged.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && hash == *root { Ok(()) } else { Err(Error::InvalidProof) }
}

/// Checks that `proof` proves the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root
/// `new_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. Size 0 needs an empty
/// proof and the empty tree's root; it then says nothing of `new_root`, since
/// the empty tree is a prefix of every tree.
pub fn verify_consistency(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if old_size > new_size {
        return Err(Error::SizeOrder { old: old_size, new: new_size });
    }
    if old_size == 0 {
        return if proof.is_empty() && *old_root == EMPTY_ROOT { Ok(()) } else { Err(Error::InvalidProof) };
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root { Ok(()) } else { Err(Error::InvalidProof) };
    }
    // A power-of-two old tree is itself a node of the new tree: the proof
    // leaves it out and the verifier starts from the old root.
    let first = if old_size.is_power_of_two() { Some(old_root) } else { None };
    let mut path = first.into_iter().chain(proof.iter());
    let Some(start) = path.next() else {
        return Err(Error::InvalidProof);
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut old_hash, mut new_hash) = (*start, *start);
    for node in path {
        if s == 0 {
            return Err(Error::InvalidProof);
        }
        if f & 1 == 1 || f == s {
            old_hash = node_hash(node, &old_hash);
            new_hash = node_hash(node, &new_hash);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, node);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && old_hash == *old_root && new_hash == *new_root { Ok(()) } else { Err(Error::InvalidProof) }
}

/// The root of the tree whose leaf hashes are `leaves`, in one pass with
/// `O(log n)` memory; the empty tree's root when there are none.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    let mut tree = CompactTree::new();
    for leaf in leaves {
        tree.push(*leaf);
    }
    tree.root()
}

/// The right edge of an append-only tree: the roots of the perfect subtrees
/// whose sizes are the one bits of the tree size, largest (left-most) first.
///
/// Enough to append and to report the root at any size while appending: a
/// verifier that downloads every entry checks each checkpoint it holds as it
/// passes that size, with no proof. A writer can keep one in memory, restore
/// it from [`tree_hash_indexes`]`(size)` with [`CompactTree::from_stored`],
/// and store what [`CompactTree::append`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    nodes: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of `size` leaves from its perfect subtree roots, largest first;
    /// there must be one per one bit of `size`.
    pub fn from_nodes(size: u64, nodes: Vec<Hash>) -> Result<Self, Error> {
        if size > MAX_TREE_SIZE {
            return Err(Error::TreeTooLarge(size));
        }
        if nodes.len() != size.count_ones() as usize {
            return Err(Error::InvalidCompactTree { size, nodes: nodes.len() });
        }
        Ok(Self { size, nodes })
    }

    /// The tree of the first `size` leaves of a log, from its stored hashes:
    /// reads [`tree_hash_indexes`]`(size)`.
    pub fn from_stored<R: HashReader + ?Sized>(size: u64, reader: &R) -> Result<Self, Error> {
        let nodes = tree_hash_indexes(size)?.into_iter().map(|index| read(reader, index)).collect::<Result<_, _>>()?;
        Self::from_nodes(size, nodes)
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree roots, largest (left-most) first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf hash and returns the hashes a log stores for it, with
    /// their stored hash indexes: what [`stored_hashes`] computes.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<(u64, Hash)>, Error> {
        let first = stored_hash_index(0, self.size)?;
        let completed = self.push(leaf);
        Ok(completed.into_iter().enumerate().map(|(step, hash)| (first + step as u64, hash)).collect())
    }

    /// Appends without index bookkeeping; returns the leaf hash and the roots
    /// of the subtrees it completes.
    fn push(&mut self, leaf: Hash) -> Vec<Hash> {
        let mut stored = vec![leaf];
        let mut hash = leaf;
        for _ in 0..self.size.trailing_ones() {
            // The trailing one bits are the smallest subtrees, the last nodes.
            let Some(left) = self.nodes.pop() else { break };
            hash = node_hash(&left, &hash);
            stored.push(hash);
        }
        self.nodes.push(hash);
        self.size += 1;
        stored
    }

    /// The root of the tree; the empty tree's root when there are no leaves.
    pub fn root(&self) -> Hash {
        fold_nodes(&self.nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    fn hash(text: &str) -> Hash {
        Hash::try_from(hex(text).as_slice()).unwrap()
    }

    /// The RFC 6962 reference leaves used by Certificate Transparency's and
    /// transparency-dev/merkle's tests.
    fn reference_leaves() -> Vec<Vec<u8>> {
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
            .iter()
            .map(|text| hex(text))
            .collect()
    }

    /// The roots of the reference trees of sizes 1 to 8.
    const REFERENCE_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// MTH straight from RFC 6962 §2.1, recursively, as an independent oracle.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    /// A dense store built the way a log builds it, one leaf at a time.
    fn build(size: u64) -> (Vec<Hash>, Vec<Hash>) {
        let mut leaves = Vec::new();
        let mut store: Vec<Hash> = Vec::new();
        for n in 0..size {
            let leaf = leaf_hash(&n.to_be_bytes());
            let new = stored_hashes(n, &leaf, &store).unwrap();
            for (index, hash) in new {
                assert_eq!(index, store.len() as u64);
                store.push(hash);
            }
            leaves.push(leaf);
        }
        (leaves, store)
    }

    #[test]
    fn leaf_and_node_hashes_match_the_reference() {
        assert_eq!(EMPTY_ROOT.as_slice(), Sha256::digest(b"").as_slice());
        assert_eq!(leaf_hash(b""), hash("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
        assert_eq!(leaf_hash(b"L123456"), hash("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"));
    }

    #[test]
    fn roots_of_the_reference_trees() {
        let leaves: Vec<Hash> = reference_leaves().iter().map(|data| leaf_hash(data)).collect();
        let mut store: Vec<Hash> = Vec::new();
        let mut compact = CompactTree::new();
        for (n, leaf) in leaves.iter().enumerate() {
            store.extend(stored_hashes(n as u64, leaf, &store).unwrap().into_iter().map(|(_, hash)| hash));
            compact.append(*leaf).unwrap();
            let want = hash(REFERENCE_ROOTS[n]);
            assert_eq!(tree_hash(n as u64 + 1, &store).unwrap(), want, "size {}", n + 1);
            assert_eq!(compact.root(), want);
            assert_eq!(root_from_leaves(&leaves[..=n]), want);
            assert_eq!(reference_root(&leaves[..=n]), want);
        }
        assert_eq!(tree_hash(0, &store).unwrap(), EMPTY_ROOT);
        assert_eq!(root_from_leaves(&[]), EMPTY_ROOT);
    }

    #[test]
    fn proofs_of_the_reference_trees() {
        let leaves: Vec<Hash> = reference_leaves().iter().map(|data| leaf_hash(data)).collect();
        let mut store: Vec<Hash> = Vec::new();
        for (n, leaf) in leaves.iter().enumerate() {
            store.extend(stored_hashes(n as u64, leaf, &store).unwrap().into_iter().map(|(_, hash)| hash));
        }
        // transparency-dev/merkle's vectors (1-based leaf numbers there).
        let inclusion: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in inclusion {
            let want: Vec<Hash> = want.iter().map(|text| hash(text)).collect();
            assert_eq!(inclusion_proof(index, size, &store).unwrap(), want, "leaf {index} of {size}");
            let root = hash(REFERENCE_ROOTS[size as usize - 1]);
            verify_inclusion(&leaves[index as usize], index, size, &want, &root).unwrap();
        }
        let consistency: [(u64, u64, &[&str]); 4] = [
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (old, new, want) in consistency {
            let want: Vec<Hash> = want.iter().map(|text| hash(text)).collect();
            assert_eq!(consistency_proof(old, new, &store).unwrap(), want, "{old} to {new}");
            let old_root = hash(REFERENCE_ROOTS[old as usize - 1]);
            let new_root = hash(REFERENCE_ROOTS[new as usize - 1]);
            verify_consistency(old, &old_root, new, &new_root, &want).unwrap();
        }
    }

    #[test]
    fn stored_hash_indexes_round_trip_and_match_go() {
        // Go's tlog: StoredHashIndex(0, n) for n = 0..8 and some higher levels.
        let level0: Vec<u64> = (0..8).map(|n| stored_hash_index(0, n).unwrap()).collect();
        assert_eq!(level0, [0, 1, 3, 4, 7, 8, 10, 11]);
        assert_eq!(stored_hash_index(1, 0).unwrap(), 2);
        assert_eq!(stored_hash_index(2, 0).unwrap(), 6);
        assert_eq!(stored_hash_index(3, 0).unwrap(), 14);
        for index in 0..5000 {
            let (level, n) = split_stored_hash_index(index).unwrap();
            assert_eq!(stored_hash_index(level, n).unwrap(), index);
        }
        for size in 0..600 {
            let (_, store) = build(size);
            assert_eq!(stored_hash_count(size).unwrap(), store.len() as u64);
        }
        // The extremes are errors, not overflows.
        for level in [0u8, 1, 30, 61, 62] {
            let last = (MAX_TREE_SIZE >> level) - 1;
            let index = stored_hash_index(level, last).unwrap();
            assert!(index < 1 << 63);
            assert_eq!(split_stored_hash_index(index).unwrap(), (level, last));
            assert!(stored_hash_index(level, last + 1).is_err());
        }
        for level in [63u8, 64, 200, 255] {
            assert!(stored_hash_index(level, 0).is_err());
        }
        assert!(stored_hash_index(0, u64::MAX).is_err());
        for index in [stored_hash_count(MAX_TREE_SIZE).unwrap(), 1 << 63, u64::MAX - 1, u64::MAX] {
            assert!(split_stored_hash_index(index).is_err(), "{index}");
        }
        assert!(stored_hash_count(MAX_TREE_SIZE).unwrap() < 1 << 63);
        assert!(stored_hash_count(MAX_TREE_SIZE + 1).is_err());
        assert!(stored_hashes_indexes(MAX_TREE_SIZE - 1).is_ok());
        assert!(stored_hashes_indexes(MAX_TREE_SIZE).is_err());
        assert!(stored_hashes_indexes(u64::MAX).is_err());
    }

    #[test]
    fn stored_hashes_and_compact_tree_agree_with_the_reference() {
        let (leaves, store) = build(300);
        let mut compact = CompactTree::new();
        let mut replay: Vec<Hash> = Vec::new();
        for size in 0..=300u64 {
            let want = reference_root(&leaves[..size as usize]);
            assert_eq!(tree_hash(size, &store).unwrap(), want, "size {size}");
            assert_eq!(compact.root(), want);
            assert_eq!(CompactTree::from_stored(size, &store).unwrap(), compact);
            assert_eq!(tree_hash_indexes(size).unwrap().len(), size.count_ones() as usize);
            if size < 300 {
                for (index, hash) in compact.append(leaves[size as usize]).unwrap() {
                    assert_eq!(index, replay.len() as u64);
                    replay.push(hash);
                }
            }
        }
        assert_eq!(replay, store);
    }

    #[test]
    fn readers_report_missing_hashes() {
        let (_, store) = build(20);
        let mut map: HashMap<u64, Hash> = HashMap::new();
        let needed = inclusion_proof_indexes(3, 20).unwrap();
        for index in &needed {
            map.insert(*index, store[*index as usize]);
        }
        assert_eq!(inclusion_proof(3, 20, &map).unwrap(), inclusion_proof(3, 20, &store).unwrap());
        let btree: BTreeMap<u64, Hash> = map.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(inclusion_proof(3, 20, &btree).unwrap(), inclusion_proof(3, 20, &store).unwrap());
        map.remove(&needed[0]);
        assert_eq!(inclusion_proof(3, 20, &map), Err(Error::MissingHash(needed[0])));
        assert_eq!(tree_hash(20, &store[..5]), Err(Error::MissingHash(tree_hash_indexes(20).unwrap()[0])));
    }

    #[test]
    fn every_inclusion_proof_verifies_and_nothing_else_does() {
        let (leaves, store) = build(130);
        let roots: Vec<Hash> = (0..=130).map(|size| reference_root(&leaves[..size])).collect();
        for size in 1..=130u64 {
            let root = roots[size as usize];
            for index in 0..size {
                let needed = inclusion_proof_indexes(index, size).unwrap();
                let proof = inclusion_proof(index, size, &store).unwrap();
                let leaf = leaves[index as usize];
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
                assert!(needed.len() >= proof.len());
                // Flipping any byte of any node, or of the leaf or root, fails.
                for at in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[at][(index as usize + at) % 32] ^= 0x40;
                    assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                }
                let mut bad_leaf = leaf;
                bad_leaf[0] ^= 1;
                assert!(verify_inclusion(&bad_leaf, index, size, &proof, &root).is_err());
                let mut bad_root = root;
                bad_root[31] ^= 1;
                assert!(verify_inclusion(&leaf, index, size, &proof, &bad_root).is_err());
                // Wrong index, wrong size, extra or missing nodes.
                for other in [index ^ 1, index + 1, index.wrapping_sub(1)] {
                    if other != index && other < size && leaves[other as usize] != leaf {
                        assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
                    }
                }
                // The proof is bound to its size: it fails against the true
                // root of another size.
                for other in [size - 1, size + 1, size * 2] {
                    if other > index && other != size && other <= 130 {
                        assert!(verify_inclusion(&leaf, index, other, &proof, &roots[other as usize]).is_err());
                    }
                }
                let mut longer = proof.clone();
                longer.push(root);
                assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
                if !proof.is_empty() {
                    assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
                    assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err());
                }
            }
        }
        assert!(verify_inclusion(&leaves[0], 0, 0, &[], &EMPTY_ROOT).is_err());
        assert!(verify_inclusion(&leaves[0], u64::MAX, u64::MAX, &[], &EMPTY_ROOT).is_err());
        assert!(inclusion_proof(5, 5, &store).is_err());
        assert!(inclusion_proof(0, 0, &store).is_err());
        assert!(inclusion_proof(0, u64::MAX, &store).is_err());
    }

    #[test]
    fn every_consistency_proof_verifies_and_nothing_else_does() {
        let (leaves, store) = build(100);
        let roots: Vec<Hash> = (0..=100).map(|size| reference_root(&leaves[..size])).collect();
        for new in 0..=100u64 {
            for old in 0..=new {
                let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
                let proof = consistency_proof(old, new, &store).unwrap();
                assert!(consistency_proof_indexes(old, new).unwrap().len() >= proof.len());
                verify_consistency(old, &old_root, new, &new_root, &proof).unwrap();
                for at in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[at][(old as usize + at) % 32] ^= 0x08;
                    assert!(verify_consistency(old, &old_root, new, &new_root, &bad).is_err());
                }
                if old > 0 {
                    let mut bad_old = old_root;
                    bad_old[7] ^= 1;
                    assert!(verify_consistency(old, &bad_old, new, &new_root, &proof).is_err());
                    let mut bad_new = new_root;
                    bad_new[7] ^= 1;
                    assert!(verify_consistency(old, &old_root, new, &bad_new, &proof).is_err());
                    // Bound to its sizes: it fails against the true roots of others.
                    for other in [old - 1, old + 1] {
                        if other > 0 && other < new {
                            let other_root = roots[other as usize];
                            assert!(verify_consistency(other, &other_root, new, &new_root, &proof).is_err());
                        }
                    }
                    for other in [new - 1, new + 1] {
                        if other > old && other != new && other <= 100 {
                            let other_root = roots[other as usize];
                            assert!(verify_consistency(old, &old_root, other, &other_root, &proof).is_err());
                        }
                    }
                    let mut longer = proof.clone();
                    longer.push(new_root);
                    assert!(verify_consistency(old, &old_root, new, &new_root, &longer).is_err());
                    if !proof.is_empty() {
                        assert!(verify_consistency(old, &old_root, new, &new_root, &proof[1..]).is_err());
                        assert!(verify_consistency(old, &old_root, new, &new_root, &proof[..proof.len() - 1]).is_err());
                    }
                }
            }
        }
        // A fork at the same size, a proof from the empty tree, reversed sizes.
        assert!(verify_consistency(5, &roots[5], 5, &roots[6], &[]).is_err());
        assert!(verify_consistency(0, &roots[3], 5, &roots[5], &[]).is_err());
        assert!(verify_consistency(0, &EMPTY_ROOT, 5, &roots[5], &[roots[1]]).is_err());
        assert!(verify_consistency(6, &roots[6], 5, &roots[5], &[]).is_err());
        assert!(verify_consistency(u64::MAX, &roots[6], u64::MAX, &roots[6], &[]).is_ok());
        assert!(verify_consistency(u64::MAX - 1, &roots[6], u64::MAX, &roots[7], &[roots[1]]).is_err());
        assert!(consistency_proof(6, 5, &store).is_err());
        assert!(consistency_proof(0, u64::MAX, &store).is_err());
    }

    #[test]
    fn compact_tree_rejects_inconsistent_nodes() {
        assert!(CompactTree::from_nodes(3, vec![EMPTY_ROOT]).is_err());
        assert!(CompactTree::from_nodes(MAX_TREE_SIZE + 1, vec![EMPTY_ROOT; 2]).is_err());
        let mut full = CompactTree::from_nodes(MAX_TREE_SIZE, vec![EMPTY_ROOT]).unwrap();
        assert!(full.append(EMPTY_ROOT).is_err());
    }

    #[test]
    fn base64_hashes_are_strict() {
        let root = leaf_hash(b"x");
        let text = hash_to_base64(&root);
        assert_eq!(hash_from_base64(&text).unwrap(), root);
        for bad in ["", "AAAA", &text[..43], &format!("{text}="), &text.replace('=', "A"), &format!(" {}", &text[1..])]
        {
            assert!(hash_from_base64(bad).is_err(), "{bad:?}");
        }
        // A non-canonical last character (unused bits set) is refused.
        let mut chars: Vec<char> = hash_to_base64(&[0u8; 32]).chars().collect();
        chars[42] = 'B';
        assert!(hash_from_base64(&chars.iter().collect::<String>()).is_err());
    }
}

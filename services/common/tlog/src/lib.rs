//! gongkai's public transparency log, as pure functions: no IO, no database,
//! no HTTP, no clock and no randomness.
//!
//! One Merkle tree over all events, whose leaves are the events' 32-byte
//! hashes, published the way transparency logs interoperate:
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 hashing; the stored-hash layout of an
//!   append-only log kept in a database (what to store per leaf, which stored
//!   hashes each computation reads); tree roots, inclusion and consistency
//!   proofs and their verifiers; roots straight from leaf hashes.
//! - [`tile`]: the static layout of [C2SP tlog-tiles]: tile and entry-bundle
//!   paths, which tiles a new tree size publishes, tile bytes from stored
//!   hashes, entry bundles.
//! - [`checkpoint`]: [C2SP tlog-checkpoint] bodies, formatted and parsed
//!   strictly.
//! - [`note`]: [C2SP signed-note] Ed25519 signer and verifier keys (in the
//!   text forms of Go's `golang.org/x/mod/sumdb/note`), signing, and opening a
//!   note against known keys.
//! - [`cosignature`]: [C2SP tlog-cosignature] `cosignature/v1`, the witness
//!   keys' timestamped Ed25519 signatures of checkpoints.
//! - [`witness`]: the [C2SP tlog-witness] `add-checkpoint` exchange: the
//!   request body, and a witness as a state machine that checks a request
//!   against its stored tree head for the log and cosigns; which HTTP status
//!   each refusal is, without any HTTP.
//!
//! Every parser here reads untrusted text and returns an [`Error`] on any
//! input it does not accept; none panics.
//!
//! [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed-note]: https://c2sp.org/signed-note
//! [C2SP tlog-cosignature]: https://c2sp.org/tlog-cosignature
//! [C2SP tlog-witness]: https://c2sp.org/tlog-witness

pub mod checkpoint;
pub mod cosignature;
pub mod merkle;
pub mod note;
pub mod tile;
pub mod witness;

pub use checkpoint::{Checkpoint, OpenedCheckpoint};
pub use cosignature::Cosigner;
pub use merkle::{
    CompactTree, EMPTY_ROOT, Hash, HashReader, consistency_proof, consistency_proof_indexes, inclusion_proof,
    inclusion_proof_indexes, leaf_hash, node_hash, root_from_leaves, stored_hash_index, stored_hashes,
    stored_hashes_indexes, tree_hash, tree_hash_indexes, verify_consistency, verify_inclusion,
};
pub use note::{KeyType, Note, NoteSignature, Signer, VerifiedSignature, Verifier};
pub use tile::Tile;
pub use witness::{AddCheckpointRequest, Cosigned, TreeHead, Witness, WitnessedLog};

/// Everything that can go wrong in this crate.
///
/// [`Error::witness_status`] maps each to the HTTP status a witness's
/// `add-checkpoint` answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // Merkle trees.
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A tree size past [`merkle::MAX_TREE_SIZE`] where stored hashes are involved.
    #[error("tree size {0} is above the largest supported, 2^62")]
    TreeTooLarge(u64),
    /// A node `(level, n)` past [`merkle::MAX_TREE_SIZE`] leaves.
    #[error("node ({level}, {n}) lies beyond the largest supported tree")]
    NodeOutOfRange { level: u8, n: u64 },
    /// A number that is no stored hash index of a supported tree.
    #[error("{0} is not a stored hash index")]
    InvalidStoredIndex(u64),
    /// An old tree size above the new one.
    #[error("old tree size {old} is above new tree size {new}")]
    SizeOrder { old: u64, new: u64 },
    /// A stored hash the computation needs is not in the reader.
    #[error("stored hash {0} is missing")]
    MissingHash(u64),
    /// A compact tree with the wrong number of nodes for its size.
    #[error("a tree of size {size} has one node per one bit of its size, not {nodes}")]
    InvalidCompactTree { size: u64, nodes: usize },
    /// An inclusion or consistency proof that does not prove its claim.
    #[error("the proof does not verify")]
    InvalidProof,
    /// A hash that is not the base64 of 32 bytes.
    #[error("malformed hash: not the standard base64 of 32 bytes")]
    MalformedHash,

    // Tiles.
    /// A path that is no tlog-tiles tile or entry-bundle path.
    #[error("invalid tile path: {0}")]
    InvalidTilePath(&'static str),
    /// Tile coordinates out of range, or a tile used for what it does not hold.
    #[error("invalid tile: {0}")]
    InvalidTile(&'static str),
    /// Tile bytes of the wrong length for the tile.
    #[error("tile data of {len} bytes is not {expected}")]
    MalformedTileData { len: usize, expected: usize },
    /// An entry too long for an entry bundle's 16-bit length prefix.
    #[error("an entry of {0} bytes is longer than an entry bundle allows (65535)")]
    EntryTooLong(usize),
    /// Entry bundle bytes that do not parse.
    #[error("malformed entry bundle: {0}")]
    MalformedEntryBundle(&'static str),

    // Checkpoints.
    /// A checkpoint body that is not exactly origin, size, root and extensions.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),

    // Signed notes and keys.
    /// Note text or a signed note that breaks the signed-note format.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A key name that is empty or has a space or a plus.
    #[error("invalid key name: empty, or with a Unicode space or a plus")]
    InvalidKeyName,
    /// A verifier or signer key string that does not parse.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key string whose key ID is not the one its name and key imply.
    #[error("the key ID does not match the key name and public key")]
    KeyIdMismatch,
    /// A signature type this crate does not implement.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    /// Two known keys with the same name and key ID.
    #[error("ambiguous key {name}+{key_id:08x}: two known keys share its name and ID")]
    AmbiguousKey { name: String, key_id: u32 },
    /// A signature by a known key that fails to verify.
    #[error("invalid signature by known key {name}+{key_id:08x}")]
    InvalidSignature { name: String, key_id: u32 },
    /// A note with no signature by any known key.
    #[error("no signature by a known key")]
    NoVerifiedSignature,
    /// A cosignature timestamp past 2^63 - 1, or zero where a time is required.
    #[error("invalid cosignature timestamp {0}")]
    InvalidTimestamp(u64),

    // The witness protocol.
    /// An `add-checkpoint` body, or a witness response, that does not parse.
    #[error("malformed witness message: {0}")]
    MalformedRequest(&'static str),
    /// A checkpoint of a log the witness does not know.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// An `old` size above the checkpoint's size.
    #[error("old size {old} is above the checkpoint size {size}")]
    OldSizeAboveSize { old: u64, size: u64 },
    /// An `old` size that is not the size of the witness's latest checkpoint.
    #[error("old size {old} is not the witness's latest size {latest}")]
    OldSizeMismatch { old: u64, latest: u64 },
    /// A checkpoint the witness cannot show consistent with its latest.
    #[error("checkpoint not consistent with the witness's latest: {0}")]
    NotConsistent(&'static str),
}

impl Error {
    /// The HTTP status a witness answers `add-checkpoint` with on this error
    /// (c2sp.org/tlog-witness):
    ///
    /// | status | errors |
    /// | --- | --- |
    /// | 400 Bad Request | a body that does not parse ([`MalformedRequest`], [`MalformedNote`], [`MalformedCheckpoint`], [`MalformedHash`], [`InvalidKeyName`]); `old` above the checkpoint size ([`OldSizeAboveSize`]) |
    /// | 403 Forbidden | no valid signature by the log's keys, or an invalid one ([`NoVerifiedSignature`], [`InvalidSignature`], [`AmbiguousKey`]) |
    /// | 404 Not Found | [`UnknownOrigin`] |
    /// | 409 Conflict | [`OldSizeMismatch`]: the body is the witness's latest size, `witness::size_body(latest)`, as `text/x.tlog.size` |
    /// | 422 Unprocessable Entity | [`NotConsistent`], [`InvalidProof`] |
    /// | 500 Internal Server Error | anything else: the witness's own fault, e.g. an invalid clock ([`InvalidTimestamp`]) |
    ///
    /// [`MalformedRequest`]: Error::MalformedRequest
    /// [`MalformedNote`]: Error::MalformedNote
    /// [`MalformedCheckpoint`]: Error::MalformedCheckpoint
    /// [`MalformedHash`]: Error::MalformedHash
    /// [`InvalidKeyName`]: Error::InvalidKeyName
    /// [`OldSizeAboveSize`]: Error::OldSizeAboveSize
    /// [`NoVerifiedSignature`]: Error::NoVerifiedSignature
    /// [`InvalidSignature`]: Error::InvalidSignature
    /// [`AmbiguousKey`]: Error::AmbiguousKey
    /// [`UnknownOrigin`]: Error::UnknownOrigin
    /// [`OldSizeMismatch`]: Error::OldSizeMismatch
    /// [`NotConsistent`]: Error::NotConsistent
    /// [`InvalidProof`]: Error::InvalidProof
    /// [`InvalidTimestamp`]: Error::InvalidTimestamp
    pub fn witness_status(&self) -> u16 {
        match self {
            Error::MalformedRequest(_)
            | Error::MalformedNote(_)
            | Error::MalformedCheckpoint(_)
            | Error::MalformedHash
            | Error::InvalidKeyName
            | Error::OldSizeAboveSize { .. } => 400,
            Error::NoVerifiedSignature | Error::InvalidSignature { .. } | Error::AmbiguousKey { .. } => 403,
            Error::UnknownOrigin(_) => 404,
            Error::OldSizeMismatch { .. } => 409,
            Error::NotConsistent(_) | Error::InvalidProof => 422,
            _ => 500,
        }
    }
}

/// A decimal number with no sign and no leading zeros (but `0` itself), that
/// fits a `u64`: how every format here writes sizes and indexes.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) || (bytes.len() > 1 && bytes[0] == b'0') {
        return None;
    }
    text.parse().ok()
}

//! The witness's state file: for each log origin, the tree head (size and
//! root) of the latest checkpoint it cosigned. JSON:
//!
//! ```json
//! { "logs": { "gongkai.example.cn/log": { "size": 1234, "root": "<base64>" } } }
//! ```
//!
//! A new head is written to a temporary file beside it, synced, renamed over
//! it and the directory synced, so that a crash leaves either the old file
//! or the new one, never half of one. A lock on `<file>.lock`, held while
//! the witness runs, keeps a second witness process off the same file: two
//! writers could each check against a head the other is replacing.
//!
//! Losing this file is losing the witness's memory: it would cosign a fork
//! of what it cosigned before. A file that exists but does not parse stops
//! the witness from starting; a missing one is a new witness.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use gongkai_tlog::TreeHead;
use gongkai_tlog::merkle::{hash_from_base64, hash_to_base64};
use serde::{Deserialize, Serialize};

use crate::WitnessError;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateJson {
    logs: BTreeMap<String, HeadJson>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadJson {
    size: u64,
    root: String,
}

/// The state file, opened and locked, with its heads in memory.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    heads: BTreeMap<String, TreeHead>,
    /// Held for the life of the witness; the OS releases it on exit.
    _lock: File,
}

impl StateFile {
    /// Locks `<path>.lock` and reads `path` (no file: no log seen yet).
    pub(crate) fn open(path: &Path) -> Result<Self, WitnessError> {
        let io = |source| WitnessError::StateIo { path: path.to_owned(), source };
        let lock_path = sibling(path, ".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| WitnessError::StateIo { path: lock_path.clone(), source })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(WitnessError::StateLocked { path: path.to_owned() }),
            Err(TryLockError::Error(source)) => return Err(WitnessError::StateIo { path: lock_path, source }),
        }
        let heads = match std::fs::read(path) {
            Ok(bytes) => {
                parse(&bytes).map_err(|reason| WitnessError::StateCorrupt { path: path.to_owned(), reason })?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(error) => return Err(io(error)),
        };
        Ok(Self { path: path.to_owned(), heads, _lock: lock })
    }

    /// The latest cosigned tree head of `origin`.
    pub(crate) fn latest(&self, origin: &str) -> Option<TreeHead> {
        self.heads.get(origin).copied()
    }

    /// Every origin the file holds a head for.
    pub(crate) fn origins(&self) -> impl Iterator<Item = &str> {
        self.heads.keys().map(String::as_str)
    }

    /// Makes `head` the latest of `origin`, on disk first: in memory only
    /// once the file holds it, so that nothing is cosigned that a restart
    /// would forget.
    pub(crate) async fn store(&mut self, origin: &str, head: TreeHead) -> Result<(), WitnessError> {
        let mut heads = self.heads.clone();
        heads.insert(origin.to_owned(), head);
        let bytes = format(&heads);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|_| WitnessError::StateIo {
                path: self.path.clone(),
                source: std::io::Error::other("the writer task failed"),
            })?
            .map_err(|source| WitnessError::StateIo { path: self.path.clone(), source })?;
        self.heads = heads;
        Ok(())
    }
}

fn parse(bytes: &[u8]) -> Result<BTreeMap<String, TreeHead>, String> {
    let json: StateJson = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    json.logs
        .into_iter()
        .map(|(origin, head)| {
            let root = hash_from_base64(&head.root).map_err(|_| format!("the root of {origin:?} is not a hash"))?;
            Ok((origin, TreeHead { size: head.size, root }))
        })
        .collect()
}

fn format(heads: &BTreeMap<String, TreeHead>) -> Vec<u8> {
    let logs = heads
        .iter()
        .map(|(origin, head)| (origin.clone(), HeadJson { size: head.size, root: hash_to_base64(&head.root) }))
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&StateJson { logs }).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces `path` by `bytes` so that a crash leaves the old or the new
/// file whole: a synced temporary file renamed over it, then the directory
/// synced so that the rename itself survives.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = sibling(path, ".tmp");
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_survive_a_reopen_and_nothing_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let head = TreeHead { size: 7, root: [3; 32] };
        {
            let mut state = StateFile::open(&path).unwrap();
            assert_eq!(state.latest("a/log"), None);
            runtime.block_on(state.store("a/log", head)).unwrap();
            assert_eq!(state.latest("a/log"), Some(head));
            // A second witness on the same file is refused while this one runs.
            assert!(matches!(StateFile::open(&path), Err(WitnessError::StateLocked { .. })));
        }
        let state = StateFile::open(&path).unwrap();
        assert_eq!(state.latest("a/log"), Some(head));
        assert_eq!(state.origins().collect::<Vec<_>>(), ["a/log"]);
        assert!(!sibling(&path, ".tmp").exists());
    }

    #[test]
    fn a_damaged_file_stops_the_witness() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for bad in ["", "{", "[]", r#"{"logs":{"a":{"size":1,"root":"x"}}}"#, r#"{"logs":{},"more":1}"#] {
            std::fs::write(&path, bad).unwrap();
            assert!(matches!(StateFile::open(&path), Err(WitnessError::StateCorrupt { .. })), "{bad:?}");
        }
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(matches!(StateFile::open(&path), Err(WitnessError::StateCorrupt { .. })));
    }
}

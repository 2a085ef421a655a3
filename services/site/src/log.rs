//! The transparency log over plain HTTP, in the C2SP tlog-tiles layout below
//! `/log/`: the latest signed checkpoint with the cosignatures its witnesses
//! gave it so far (`/log/checkpoint`), the log's
//! public key (`/log/key`), hash tiles (`/log/tile/<L>/<N>[.p/<W>]`) and
//! entry bundles (`/log/tile/entries/<N>[.p/<W>]`), whose entries are the
//! events' 32-byte chain hashes. A full tile never changes, so it is cached
//! for good; a partial one and the checkpoint are revalidated.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gongkai_tlog::tile::{Tile, TileKind, encode_entry_bundle, tile_data};

use crate::read::unavailable;
use crate::{NO_STORE, REVALIDATE, SiteState};

/// `Cache-Control` of what never changes once published.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const BINARY: HeaderValue = HeaderValue::from_static("application/octet-stream");

fn not_found(what: &'static str) -> Response {
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, NO_STORE)], what).into_response()
}

/// The latest signed checkpoint, as signed.
pub(crate) async fn checkpoint(State(state): State<SiteState>) -> Response {
    match state.store.latest_checkpoint().await {
        Ok(Some(checkpoint)) => {
            ([(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, REVALIDATE)], checkpoint.note).into_response()
        }
        Ok(None) => not_found("no checkpoint signed yet"),
        Err(error) => unavailable(error),
    }
}

/// The log's public key: `<origin>+<key id>+<key>` (C2SP signed-note).
pub(crate) async fn key(State(state): State<SiteState>) -> Response {
    match &state.log_key {
        Some(key) => {
            ([(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, REVALIDATE)], format!("{key}\n")).into_response()
        }
        None => not_found("this site publishes no log key"),
    }
}

/// A hash tile or an entry bundle, when the log holds all of it.
pub(crate) async fn tile(State(state): State<SiteState>, Path(path): Path<String>) -> Response {
    let Ok(tile) = Tile::parse_path(&format!("tile/{path}")) else { return not_found("no such tile") };
    let data = match tile.kind() {
        TileKind::Hashes(_) => {
            let Ok(indexes) = tile.hash_indexes() else { return not_found("no such tile") };
            let stored = match state.store.tlog_hashes(&indexes).await {
                Ok(stored) => stored,
                Err(error) => return unavailable(error),
            };
            match tile_data(&tile, &stored) {
                Ok(data) => data,
                Err(_) => return not_found("the log does not hold this tile"),
            }
        }
        TileKind::Entries => {
            let Some(range) = tile.leaf_range() else { return not_found("no such tile") };
            let leaves = match state.store.tlog_leaves(range.start, range.end).await {
                Ok(leaves) => leaves,
                Err(error) => return unavailable(error),
            };
            if leaves.len() as u64 != range.end - range.start {
                return not_found("the log does not hold this bundle");
            }
            match encode_entry_bundle(&leaves.iter().map(|leaf| leaf.event_hash.as_slice()).collect::<Vec<_>>()) {
                Ok(data) => data,
                Err(_) => return not_found("no such bundle"),
            }
        }
    };
    let caching = if tile.is_partial() { REVALIDATE } else { IMMUTABLE };
    ([(header::CONTENT_TYPE, BINARY), (header::CACHE_CONTROL, caching)], Bytes::from(data)).into_response()
}

//! Rendered project pages kept in memory, evicted by the public change feed
//! and by the transparency log's growth.
//!
//! A project page costs three store reads, the decoding of up to a few
//! dozen timeline entries and a template; the same bytes serve every reader
//! until the project changes. So pages are cached per project code and
//! language variant, bounded by their size, and a background task follows
//! the site's own public change feed (the reader behind `/api/v1/changes`)
//! and evicts every project that changed. It reads the feed as soon as the
//! store signals a commit that changed the public view (`NOTIFY` on
//! PostgreSQL, an in-process signal on the embedded default), and every
//! [`FOLLOW_EVERY`] whatever the signal says: the feed is the truth, the
//! signal only saves waiting for it. Each poll also reads the size of the
//! log's latest checkpoint: a page whose latest record waits for a
//! checkpoint (`proof`) is evicted when that size grows, and no sooner; a
//! page whose record is included names the checkpoint that first included
//! it, which the log's growth does not change, so it stays.
//!
//! Staleness guarantee:
//! * A cached page is served only while the last successful poll began less
//!   than [`STALE_AFTER`] ago. Every change committed before that poll began
//!   was evicted by it (on SQLite, ids become visible in commit order; on
//!   PostgreSQL a change shows once older transactions end, so a long
//!   transaction can delay it, as it delays the feed itself); so was every
//!   page waiting for a checkpoint, when a checkpoint larger than the one
//!   the poll before read was recorded before that poll began. When
//!   following fails the cache is cleared, and until a poll succeeds again
//!   every request renders from the store. The first poll evicts whatever
//!   was rendered before it.
//! * A render that read the store before a change and finishes after the
//!   eviction must not put the old page back: the follower bumps a
//!   generation before evicting (one for changed projects, one for pages
//!   waiting for a checkpoint), and a render takes both before reading,
//!   re-checks them after inserting and removes its own entry when the one
//!   that concerns it moved.
//! * Legal clocks ("还剩 2 天") read the current time: an entry carries the
//!   last instant, on the site's clock, at which its text is still right
//!   (see `text::time_left_holds_until`), and is re-rendered after it.
//! * Every entry also lives at most [`MAX_AGE`], a backstop for any change
//!   that would not reach the feed.
//! * 404s are not cached: a project published later shows at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderValue;
use chrono::{DateTime, Utc};
use gongkai_store::{ChangeCursor, PublicReader, StoreError};

use crate::text::Lang;

/// Default bound of the cached pages' bytes: some 4,000 project pages of
/// about 55 KB with their pictures, in both languages for the busiest.
pub(crate) const DEFAULT_CAPACITY_BYTES: u64 = 256 * 1024 * 1024;
/// How often the follower reads the change feed when no signal came: well
/// inside [`STALE_AFTER`], so an idle site keeps serving from the cache.
pub(crate) const FOLLOW_EVERY: Duration = Duration::from_millis(400);
/// Cached pages are served only while the feed was read this recently.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(1);
/// The longest an entry lives, whatever the feed says.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(60);
/// Changes read per poll query.
const FEED_PAGE: u32 = 1000;

/// Which rendering of a page: the language, and whether English was chosen
/// by the switch (its links then carry `?lang=en`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Variant {
    Zh,
    EnByHeader,
    EnBySwitch,
}

impl Variant {
    const ALL: [Variant; 3] = [Variant::Zh, Variant::EnByHeader, Variant::EnBySwitch];

    pub(crate) fn of(lang: Lang, by_switch: bool) -> Variant {
        match (lang, by_switch) {
            (Lang::Zh, _) => Variant::Zh,
            (Lang::En, false) => Variant::EnByHeader,
            (Lang::En, true) => Variant::EnBySwitch,
        }
    }
}

/// A rendered page and until when its clocks read right.
#[derive(Debug)]
pub(crate) struct CachedPage {
    pub(crate) lang: Lang,
    pub(crate) body: Bytes,
    /// The body's entity tag, computed once.
    pub(crate) etag: HeaderValue,
    /// The last instant (site clock) at which the text is still right.
    pub(crate) valid_until: Option<DateTime<Utc>>,
    /// Whether the page says its latest record waits for a checkpoint: it
    /// is evicted when the log signs a larger one.
    pub(crate) awaits_checkpoint: bool,
}

/// The generations a render saw before reading the store (see the module
/// docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    changes: u64,
    checkpoints: u64,
}

type Key = (Arc<str>, Variant);

/// The page cache and the follower's health.
pub(crate) struct PageCache {
    pages: moka::sync::Cache<Key, Arc<CachedPage>>,
    /// Bumped before evicting changed projects (or everything).
    generation: AtomicU64,
    /// Bumped before evicting the pages waiting for a checkpoint.
    checkpoint_generation: AtomicU64,
    /// The latest checkpoint size the follower read; `u64::MAX` before the
    /// first read.
    checkpoint_size: AtomicU64,
    /// Milliseconds after `epoch` at which the last successful poll began;
    /// `u64::MAX` before the first.
    followed_at: AtomicU64,
    epoch: Instant,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache").field("entries", &self.pages.entry_count()).finish_non_exhaustive()
    }
}

impl PageCache {
    pub(crate) fn new(capacity_bytes: u64) -> PageCache {
        let pages = moka::sync::Cache::builder()
            .max_capacity(capacity_bytes)
            // Body plus key plus a rough allowance for the entry itself.
            .weigher(|key: &Key, page: &Arc<CachedPage>| {
                u32::try_from(page.body.len() + key.0.len() + 128).unwrap_or(u32::MAX)
            })
            .time_to_live(MAX_AGE)
            .support_invalidation_closures()
            .build();
        PageCache {
            pages,
            generation: AtomicU64::new(0),
            checkpoint_generation: AtomicU64::new(0),
            checkpoint_size: AtomicU64::new(u64::MAX),
            followed_at: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
        }
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Whether the feed was followed recently enough to serve cached pages.
    fn fresh(&self) -> bool {
        let at = self.followed_at.load(Ordering::Acquire);
        at != u64::MAX && self.millis().saturating_sub(at) <= STALE_AFTER.as_millis() as u64
    }

    /// The page, if cached, still right at `now` and the feed is followed.
    pub(crate) fn get(&self, code: &str, variant: Variant, now: DateTime<Utc>) -> Option<Arc<CachedPage>> {
        if !self.fresh() {
            return None;
        }
        let page = self.pages.get(&(Arc::from(code), variant))?;
        match page.valid_until {
            Some(until) if now > until => None,
            _ => Some(page),
        }
    }

    /// Taken before reading the store for a page that may be inserted.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket {
            changes: self.generation.load(Ordering::SeqCst),
            checkpoints: self.checkpoint_generation.load(Ordering::SeqCst),
        }
    }

    /// Caches a page rendered from a read that began at `ticket`.
    pub(crate) fn insert(&self, code: &str, variant: Variant, ticket: Ticket, page: CachedPage) {
        let key: Key = (Arc::from(code), variant);
        let awaits_checkpoint = page.awaits_checkpoint;
        self.pages.insert(key.clone(), Arc::new(page));
        // An eviction may have run between the read and the insert.
        let evicted = self.generation.load(Ordering::SeqCst) != ticket.changes
            || (awaits_checkpoint && self.checkpoint_generation.load(Ordering::SeqCst) != ticket.checkpoints);
        if evicted {
            self.pages.invalidate(&key);
        }
    }

    fn evict(&self, codes: &[String]) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for code in codes {
            let code: Arc<str> = Arc::from(code.as_str());
            for variant in Variant::ALL {
                self.pages.invalidate(&(code.clone(), variant));
            }
        }
    }

    /// Notes the latest checkpoint's size (`None`: none signed yet): when it
    /// grew, the pages waiting for a checkpoint go; when it shrank (the log
    /// was rebuilt), every page goes.
    fn checkpoint_signed(&self, size: Option<u64>) {
        let size = size.unwrap_or(0);
        let before = self.checkpoint_size.swap(size, Ordering::SeqCst);
        if before == u64::MAX || size == before {
            return;
        }
        if size < before {
            self.evict_all();
            return;
        }
        self.checkpoint_generation.fetch_add(1, Ordering::SeqCst);
        // Applied to every entry inserted until now; `get` never returns one
        // it matches, even before the cache's housekeeping removes it.
        if self.pages.invalidate_entries_if(|_, page| page.awaits_checkpoint).is_err() {
            self.pages.invalidate_all();
        }
    }

    fn evict_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.pages.invalidate_all();
    }

    fn clear(&self) {
        self.evict_all();
        self.followed_at.store(u64::MAX, Ordering::Release);
    }

    #[cfg(test)]
    fn weighted_size(&self) -> u64 {
        self.pages.run_pending_tasks();
        self.pages.weighted_size()
    }
}

/// Follows the public change feed from its current end, and the size of
/// the log's latest checkpoint, evicting the pages of changed projects and
/// those waiting for a checkpoint, until the cache is dropped with the
/// router.
pub(crate) async fn follow(store: PublicReader, cache: std::sync::Weak<PageCache>) {
    let mut cursor: Option<ChangeCursor> = None;
    let mut failing = false;
    // Listening before the first read: a change committed in between is
    // signalled, not missed.
    let mut signal = store.public_changes_signal().await;
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = signal.changed() => {}
            _ = tick.tick() => {}
        }
        let Some(cache) = cache.upgrade() else { return };
        let began = cache.millis();
        match poll(&store, &cache, &mut cursor).await {
            Ok(()) => {
                if failing {
                    tracing::info!("Site follows the public change feed again.");
                    failing = false;
                }
                cache.followed_at.store(began, Ordering::Release);
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(error = %error, "Site could not follow the public change feed; cached pages dropped.");
                    failing = true;
                }
                cache.clear();
            }
        }
    }
}

/// One poll: the checkpoint's size, then the feed after `cursor`.
async fn poll(store: &PublicReader, cache: &PageCache, cursor: &mut Option<ChangeCursor>) -> Result<(), StoreError> {
    // Read before anything is evicted, so a render that begins after the
    // eviction sees at least this checkpoint.
    let size = store.latest_checkpoint_size().await?;
    let Some(mut after) = *cursor else {
        // Nothing cached is served before the first poll succeeds, and what
        // was rendered before it goes, so the history before the current
        // end needs no reading.
        *cursor = Some(store.public_changes_head().await?);
        cache.checkpoint_signed(size);
        cache.evict_all();
        return Ok(());
    };
    cache.checkpoint_signed(size);
    loop {
        let rows = store.public_changes_after(Some(after), FEED_PAGE).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.cursor;
        let codes: Vec<String> = rows.iter().map(|r| r.project_code.clone()).collect();
        cache.evict(&codes);
        *cursor = Some(after);
        if rows.len() < FEED_PAGE as usize {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: usize) -> CachedPage {
        CachedPage {
            lang: Lang::Zh,
            body: Bytes::from(vec![b'x'; bytes]),
            etag: HeaderValue::from_static("W/\"x\""),
            valid_until: None,
            awaits_checkpoint: false,
        }
    }

    fn waiting(bytes: usize) -> CachedPage {
        CachedPage { awaits_checkpoint: true, ..page(bytes) }
    }

    fn followed(cache: &PageCache) {
        cache.followed_at.store(cache.millis(), Ordering::Release);
    }

    /// A cache whose feed was just read, and the time.
    fn following() -> (PageCache, DateTime<Utc>) {
        let cache = PageCache::new(DEFAULT_CAPACITY_BYTES);
        followed(&cache);
        (cache, Utc::now())
    }

    #[test]
    fn the_size_bound_holds() {
        let cache = PageCache::new(100_000);
        followed(&cache);
        for n in 0..200 {
            cache.insert(&format!("2024-{n:04}"), Variant::Zh, cache.ticket(), page(10_000));
        }
        let size = cache.weighted_size();
        assert!(size <= 100_000, "{size} bytes cached over a bound of 100000");
        assert!(size > 0, "nothing kept at all");
    }

    #[test]
    fn an_insert_racing_an_eviction_does_not_stay() {
        let (cache, now) = following();
        let before = cache.ticket();
        cache.evict(&["2024-1".to_owned()]);
        cache.insert("2024-1", Variant::Zh, before, page(10));
        assert!(cache.get("2024-1", Variant::Zh, now).is_none());
        cache.insert("2024-1", Variant::Zh, cache.ticket(), page(10));
        assert!(cache.get("2024-1", Variant::Zh, now).is_some());
        assert!(cache.get("2024-1", Variant::EnBySwitch, now).is_none());
    }

    #[test]
    fn nothing_is_served_when_the_feed_is_not_followed_or_a_clock_moved_on() {
        let cache = PageCache::new(DEFAULT_CAPACITY_BYTES);
        let now = Utc::now();
        cache.insert("2024-1", Variant::Zh, cache.ticket(), page(10));
        assert!(cache.get("2024-1", Variant::Zh, now).is_none(), "served before the feed was followed");
        followed(&cache);
        assert!(cache.get("2024-1", Variant::Zh, now).is_some());
        cache.followed_at.store(0, Ordering::Release);
        std::thread::sleep(STALE_AFTER + Duration::from_millis(50));
        assert!(cache.get("2024-1", Variant::Zh, now).is_none(), "served though the feed was not read lately");
        followed(&cache);
        let until = now + chrono::Duration::seconds(5);
        cache.insert("2024-2", Variant::Zh, cache.ticket(), CachedPage { valid_until: Some(until), ..page(10) });
        assert!(cache.get("2024-2", Variant::Zh, until).is_some());
        assert!(cache.get("2024-2", Variant::Zh, until + chrono::Duration::nanoseconds(1)).is_none());
    }

    #[test]
    fn a_page_waiting_for_a_checkpoint_stays_until_the_log_grows_and_an_included_one_stays_after() {
        let (cache, now) = following();
        cache.checkpoint_signed(Some(10));
        cache.insert("2024-1", Variant::Zh, cache.ticket(), waiting(10));
        cache.insert("2024-2", Variant::Zh, cache.ticket(), page(10));
        // The same checkpoint, read again and again: both are served.
        for _ in 0..3 {
            cache.checkpoint_signed(Some(10));
            assert!(cache.get("2024-1", Variant::Zh, now).is_some(), "a waiting page went though the log did not grow");
            assert!(cache.get("2024-2", Variant::Zh, now).is_some());
        }
        // A larger checkpoint: the waiting page goes, the included one stays.
        cache.checkpoint_signed(Some(11));
        assert!(cache.get("2024-1", Variant::Zh, now).is_none(), "a waiting page outlived a larger checkpoint");
        assert!(cache.get("2024-2", Variant::Zh, now).is_some(), "an included page went as the log grew");
        // Drawn again (still waiting, or included now), it is kept again.
        cache.insert("2024-1", Variant::Zh, cache.ticket(), waiting(10));
        assert!(cache.get("2024-1", Variant::Zh, now).is_some());
        cache.checkpoint_signed(Some(12));
        assert!(cache.get("2024-1", Variant::Zh, now).is_none());
        assert!(cache.get("2024-2", Variant::Zh, now).is_some());
    }

    #[test]
    fn a_waiting_render_racing_a_larger_checkpoint_does_not_stay() {
        let (cache, now) = following();
        cache.checkpoint_signed(None);
        let before = cache.ticket();
        cache.checkpoint_signed(Some(1));
        cache.insert("2024-1", Variant::Zh, before, waiting(10));
        assert!(cache.get("2024-1", Variant::Zh, now).is_none(), "a render from before the checkpoint stayed");
        // An included page read at the same time is right whatever the log did.
        cache.insert("2024-2", Variant::Zh, before, page(10));
        assert!(cache.get("2024-2", Variant::Zh, now).is_some());
    }

    #[test]
    fn a_log_that_shrank_evicts_every_page() {
        let (cache, now) = following();
        cache.checkpoint_signed(Some(10));
        cache.insert("2024-2", Variant::Zh, cache.ticket(), page(10));
        cache.checkpoint_signed(None);
        assert!(cache.get("2024-2", Variant::Zh, now).is_none(), "a page named a checkpoint the log no longer has");
    }
}

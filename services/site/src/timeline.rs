//! The project page's timeline as a person follows it: in the order things
//! happened (business time, ties by seq), not the order they were recorded;
//! grouped by tender and lot when the project has several (the
//! project-level facts in a group of their own); each correction right after
//! the entry it corrects; each entry saying when it happened and when it was
//! made public ([`gongkai_domain::promptness`]). Long groups show their
//! latest entries and fold the older ones; the page folds with `<details>`,
//! which a browser opens for a `#seq-N` fragment inside it.
//!
//! [`arrange`] is the pure ordering and grouping over the entries;
//! [`lag_text`] the words for how publication followed the fact.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gongkai_domain::promptness::{Lag, lag, made_public_at};
use gongkai_proto::v1::TimelineEntry;

use crate::text::Lang;

/// Entries of a group shown unfolded; older ones fold when there are more
/// than one beyond these.
pub(crate) const RECENT: usize = 5;

/// Which group an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum GroupKey {
    /// Approval, PPP, land, status, final accounts: no tender.
    Project,
    /// A tender as a whole (or several of its lots at once).
    Tender(String),
    /// One lot of a tender that has several.
    Lot(String, String),
}

/// An entry and the corrections attached to it, as indices into the
/// entries: the entry, then its corrections in seq order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) entry: usize,
    pub(crate) corrections: Vec<usize>,
}

/// One group of the timeline, its items in the order things happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) key: GroupKey,
    pub(crate) items: Vec<Item>,
}

/// The order a timeline reads in: business time, then seq.
fn happened(entry: &TimelineEntry) -> (i64, i32, u64) {
    let at = entry.occurred_at.unwrap_or_default();
    (at.seconds, at.nanos, entry.project_seq)
}

/// The entries as a person follows them: groups (one, keyed
/// [`GroupKey::Project`], when the project has at most one tender with at
/// most one lot), each ordered by when things happened, corrections after
/// the entry they correct (a correction of a correction after the same
/// first entry). A correction whose entry is not in the timeline stands on
/// its own.
pub(crate) fn arrange(entries: &[TimelineEntry]) -> Vec<Group> {
    let at_of: HashMap<&str, usize> = entries.iter().enumerate().map(|(at, e)| (e.event_id.as_str(), at)).collect();
    // The first entry of each correction chain. A correction supersedes an
    // earlier entry: following only those, no chain can loop.
    let root = |mut at: usize| {
        while let Some(&target) = at_of.get(entries[at].supersedes_event_id.as_str())
            && entries[target].project_seq < entries[at].project_seq
        {
            at = target;
        }
        at
    };
    let mut corrections: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut roots: Vec<usize> = Vec::new();
    for at in 0..entries.len() {
        match root(at) {
            first if first == at => roots.push(at),
            first => corrections.entry(first).or_default().push(at),
        }
    }
    // Lots of each tender that single entries concern.
    let mut lots: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for entry in entries.iter().filter(|e| !e.tender_code.is_empty()) {
        let known = lots.entry(entry.tender_code.as_str()).or_default();
        known.extend(entry.lot_codes.iter().map(String::as_str));
    }
    let grouped = lots.len() > 1 || lots.values().any(|lots| lots.len() > 1);
    let key_of = |entry: &TimelineEntry| {
        if !grouped || entry.tender_code.is_empty() {
            return GroupKey::Project;
        }
        let several = lots.get(entry.tender_code.as_str()).is_some_and(|lots| lots.len() > 1);
        match entry.lot_codes.as_slice() {
            [lot] if several => GroupKey::Lot(entry.tender_code.clone(), lot.clone()),
            _ => GroupKey::Tender(entry.tender_code.clone()),
        }
    };
    let mut groups: BTreeMap<GroupKey, Vec<Item>> = BTreeMap::new();
    for at in roots {
        let attached = corrections.remove(&at).unwrap_or_default();
        groups.entry(key_of(&entries[at])).or_default().push(Item { entry: at, corrections: attached });
    }
    for items in groups.values_mut() {
        items.sort_by_key(|item| happened(&entries[item.entry]));
    }
    // Tenders in the order they began; within one, the tender as a whole first.
    let began: BTreeMap<String, (i64, i32, u64)> = groups
        .iter()
        .filter_map(|(key, items)| {
            let tender = match key {
                GroupKey::Project => return None,
                GroupKey::Tender(tender) | GroupKey::Lot(tender, _) => tender.clone(),
            };
            Some((tender, items.first().map(|item| happened(&entries[item.entry]))?))
        })
        .fold(BTreeMap::new(), |mut began, (tender, at)| {
            let first = began.entry(tender).or_insert(at);
            *first = (*first).min(at);
            began
        });
    let mut ordered: Vec<Group> = groups.into_iter().map(|(key, items)| Group { key, items }).collect();
    ordered.sort_by_key(|group| match &group.key {
        GroupKey::Project => (0, None, String::new(), String::new()),
        GroupKey::Tender(tender) => (1, began.get(tender.as_str()).copied(), tender.clone(), String::new()),
        GroupKey::Lot(tender, lot) => (1, began.get(tender.as_str()).copied(), tender.clone(), lot.clone()),
    });
    ordered
}

/// How an entry's publication followed its fact, in words: `当天公开`,
/// `3 天后公开`, `made public 3 days later`, or ahead of it.
pub(crate) fn lag_text(lang: Lang, entry: &TimelineEntry) -> String {
    let occurred = entry.occurred_at.unwrap_or_default();
    let public = made_public_at(entry).unwrap_or_default();
    match (lag(&occurred, &public), lang) {
        (Lag::SameDay, Lang::Zh) => "当天公开".to_owned(),
        (Lag::SameDay, Lang::En) => "made public the same day".to_owned(),
        (Lag::Later { days }, Lang::Zh) => format!("{days} 天后公开"),
        (Lag::Later { days: 1 }, Lang::En) => "made public 1 day later".to_owned(),
        (Lag::Later { days }, Lang::En) => format!("made public {days} days later"),
        (Lag::Ahead { days: 0 }, Lang::Zh) => "发生前已公开（同日）".to_owned(),
        (Lag::Ahead { days }, Lang::Zh) => format!("发生前 {days} 天已公开"),
        (Lag::Ahead { days: 0 }, Lang::En) => "made public before it happened, the same day".to_owned(),
        (Lag::Ahead { days: 1 }, Lang::En) => "made public 1 day before it happened".to_owned(),
        (Lag::Ahead { days }, Lang::En) => format!("made public {days} days before it happened"),
    }
}

/// A group's heading; empty for the one group of a simple list.
pub(crate) fn heading(lang: Lang, key: &GroupKey, grouped: bool) -> String {
    match (key, lang) {
        (GroupKey::Project, _) if !grouped => String::new(),
        (GroupKey::Project, Lang::Zh) => "项目层面：立项、PPP、征地与环评、状态、决算".to_owned(),
        (GroupKey::Project, Lang::En) => "The project: approval, PPP, land and EIA, status, final accounts".to_owned(),
        (GroupKey::Tender(tender), Lang::Zh) => format!("招标项目 {tender}"),
        (GroupKey::Tender(tender), Lang::En) => format!("Tender {tender}"),
        (GroupKey::Lot(tender, lot), Lang::Zh) => format!("招标项目 {tender} · 标段 {lot}"),
        (GroupKey::Lot(tender, lot), Lang::En) => format!("Tender {tender}, lot {lot}"),
    }
}

/// The summary of a group's folded older entries.
pub(crate) fn older_summary(lang: Lang, count: usize) -> String {
    match lang {
        Lang::Zh => format!("更早的 {count} 条记录"),
        Lang::En if count == 1 => "1 earlier record".to_owned(),
        Lang::En => format!("{count} earlier records"),
    }
}

/// How many of a group's `len` items fold: none unless more than one
/// would, else all but the latest [`RECENT`].
pub(crate) fn folded(len: usize) -> usize {
    if len > RECENT + 1 { len - RECENT } else { 0 }
}

#[cfg(test)]
mod tests {
    use prost_types::Timestamp;

    use super::*;

    fn entry(seq: u64, day: i64, tender: &str, lots: &[&str]) -> TimelineEntry {
        TimelineEntry {
            event_id: format!("e{seq}"),
            project_seq: seq,
            occurred_at: Some(Timestamp { seconds: 1_700_000_000 + day * 86_400, nanos: 0 }),
            recorded_at: Some(Timestamp { seconds: 1_700_000_000 + day * 86_400 + 3_600, nanos: 0 }),
            tender_code: tender.to_owned(),
            lot_codes: lots.iter().map(|lot| (*lot).to_owned()).collect(),
            ..TimelineEntry::default()
        }
    }

    fn seqs(entries: &[TimelineEntry], group: &Group) -> Vec<u64> {
        group
            .items
            .iter()
            .flat_map(|item| std::iter::once(item.entry).chain(item.corrections.iter().copied()))
            .map(|at| entries[at].project_seq)
            .collect()
    }

    #[test]
    fn one_tender_stays_one_list_in_the_order_things_happened() {
        let entries = [entry(1, 0, "", &[]), entry(2, 10, "T1", &["L1"]), entry(3, 5, "T1", &["L1"])];
        let groups = arrange(&entries);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].key, GroupKey::Project);
        assert_eq!(seqs(&entries, &groups[0]), [1, 3, 2], "by business time, not recording");
    }

    #[test]
    fn several_lots_group_by_lot_with_the_project_first() {
        let entries = [
            entry(1, 0, "", &[]),
            entry(2, 1, "T1", &[]),
            entry(3, 9, "T1", &["L2"]),
            entry(4, 8, "T1", &["L1"]),
            entry(5, 3, "", &[]),
            entry(6, 9, "T1", &["L1"]),
            entry(7, 9, "T1", &["L1", "L2"]),
        ];
        let groups = arrange(&entries);
        let keys: Vec<&GroupKey> = groups.iter().map(|g| &g.key).collect();
        assert_eq!(
            keys,
            [
                &GroupKey::Project,
                &GroupKey::Tender("T1".into()),
                &GroupKey::Lot("T1".into(), "L1".into()),
                &GroupKey::Lot("T1".into(), "L2".into())
            ]
        );
        assert_eq!(seqs(&entries, &groups[0]), [1, 5]);
        assert_eq!(seqs(&entries, &groups[1]), [2, 7], "an entry of several lots stays with the tender");
        assert_eq!(seqs(&entries, &groups[2]), [4, 6], "ties by seq");
    }

    #[test]
    fn tenders_follow_in_the_order_they_began() {
        let entries = [entry(1, 20, "T1", &[]), entry(2, 4, "T2", &[]), entry(3, 30, "T1", &[])];
        let groups = arrange(&entries);
        let keys: Vec<&GroupKey> = groups.iter().map(|g| &g.key).collect();
        assert_eq!(keys, [&GroupKey::Tender("T2".into()), &GroupKey::Tender("T1".into())]);
    }

    #[test]
    fn corrections_follow_what_they_correct() {
        let mut entries = vec![entry(1, 0, "", &[]), entry(2, 5, "", &[]), entry(3, 6, "", &[]), entry(4, 1, "", &[])];
        entries.push(TimelineEntry { supersedes_event_id: "e2".into(), ..entry(5, 40, "", &[]) });
        entries.push(TimelineEntry { supersedes_event_id: "e5".into(), ..entry(6, 50, "", &[]) });
        entries.push(TimelineEntry { supersedes_event_id: "gone".into(), ..entry(7, 2, "", &[]) });
        let groups = arrange(&entries);
        assert_eq!(seqs(&entries, &groups[0]), [1, 4, 7, 2, 5, 6, 3]);
        assert_eq!(groups[0].items[3], Item { entry: 1, corrections: vec![4, 5] });
    }

    #[test]
    fn a_correction_of_a_later_entry_stands_alone() {
        let entries = [
            TimelineEntry { supersedes_event_id: "e2".into(), ..entry(1, 0, "", &[]) },
            TimelineEntry { supersedes_event_id: "e1".into(), ..entry(2, 1, "", &[]) },
        ];
        let groups = arrange(&entries);
        let shown: usize = groups.iter().map(|g| g.items.iter().map(|i| 1 + i.corrections.len()).sum::<usize>()).sum();
        assert_eq!(shown, 2, "each shown once");
    }

    #[test]
    fn publication_reads_in_days_after_or_before() {
        let mut e = entry(1, 0, "", &[]);
        assert_eq!(lag_text(Lang::Zh, &e), "当天公开");
        e.recorded_at = Some(Timestamp { seconds: 1_700_000_000 + 3 * 86_400, nanos: 0 });
        assert_eq!(lag_text(Lang::Zh, &e), "3 天后公开");
        assert_eq!(lag_text(Lang::En, &e), "made public 3 days later");
        e.recorded_at = Some(Timestamp { seconds: 1_700_000_000 - 2 * 86_400, nanos: 0 });
        assert_eq!(lag_text(Lang::Zh, &e), "发生前 2 天已公开");
        assert_eq!(lag_text(Lang::En, &e), "made public 2 days before it happened");
        e.recorded_at = Some(Timestamp { seconds: i64::MIN, nanos: 0 });
        assert!(lag_text(Lang::En, &e).ends_with("before it happened"));
    }

    #[test]
    fn only_more_than_one_older_entry_folds() {
        assert_eq!(folded(RECENT), 0);
        assert_eq!(folded(RECENT + 1), 0);
        assert_eq!(folded(RECENT + 2), 2);
        assert_eq!(older_summary(Lang::Zh, 2), "更早的 2 条记录");
        assert_eq!(older_summary(Lang::En, 1), "1 earlier record");
    }
}

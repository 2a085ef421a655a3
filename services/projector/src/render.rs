//! The pure view-rendering core: a project's events in, its views out.
//!
//! One timeline entry per event. A correction (`DisclosureCorrected`) is its
//! own entry: it renders the replacement fact, names the event it supersedes
//! and lists what changed (`diff`); the superseded entry stays, marked with
//! `superseded_by_event_id`. Both timelines render the same facts with the
//! same code; the public one renders the copy of each fact that the
//! disclosure policy (`policy`) leaves, so withheld data is never in its
//! input. The summary (`summary`) is folded from the effective history by
//! `gongkai_domain::ProjectState`.
//!
//! Determinism: the output depends on the events only (no clock, no hash-map
//! iteration), so the same events give byte-identical protobuf encodings.

mod diff;
mod format;
pub(crate) mod lookup;
mod policy;
mod scrub;
mod summary;
mod text;

use std::collections::BTreeMap;

use gongkai_domain::commitment;
use gongkai_domain::kinds::{body_domain, event_type, kind_name};
use gongkai_domain::{Body, ProjectState};
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{DisclosureCorrected, Domain, EventEnvelope, FieldChange, ProjectSummary, TimelineEntry};
use prost_types::Timestamp;

use lookup::{Lookup, Releases};
use policy::public_fact;

/// The views of one project, rendered from its events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectViews {
    /// What citizens see: one entry per event, disclosure policy applied, no
    /// flags, `details_withheld` set where something is not (yet) public.
    pub public_timeline: Vec<TimelineEntry>,
    /// What supervisors see: one entry per event, everything, with flags and
    /// `restricted_fields` naming what the public entry leaves out.
    pub full_timeline: Vec<TimelineEntry>,
    /// The summary as the public sees it (`flag_count` = 0).
    pub public_summary: ProjectSummary,
    /// The summary for supervisors, with the number of flags.
    pub full_summary: ProjectSummary,
}

/// Why a project's views cannot be rendered truthfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A fact in force carries a total past the money bound (an event an
    /// older version accepted): its figures would be wrong, so none are shown.
    #[error("event {event_id} leaves the money bound: {description}")]
    OutOfBounds {
        /// The event in force that leaves the bound.
        event_id: String,
        /// Which total, in Chinese.
        description: String,
    },
}

impl RenderError {
    /// The event the failure is pinned on.
    pub fn event_id(&self) -> &str {
        match self {
            Self::OutOfBounds { event_id, .. } => event_id,
        }
    }
}

/// Renders the views of one project from its events in project_seq order, as
/// recorded (facts and corrections). Events are put in project_seq order
/// first, and a repeated project_seq is rendered once (the first given), so
/// a redelivered event changes nothing. A project whose record leaves the
/// money bound is not rendered at all ([`RenderError`]).
pub fn render(events: &[EventEnvelope]) -> Result<ProjectViews, RenderError> {
    render_state(events).map(|(views, _)| views)
}

/// [`render`], and the state folded from the events.
pub(crate) fn render_state(events: &[EventEnvelope]) -> Result<(ProjectViews, ProjectState), RenderError> {
    let ordered = ordered(events);
    let mut state = ProjectState::default();
    for event in &ordered {
        state.apply(event);
    }
    refusal(&state, ordered.last().copied())?;
    let releases = Releases::new(&state);
    let versions = versions(&ordered);
    let version_of = |event_id: &str| versions.get(event_id).copied();
    let ctx = Ctx { state: &state, versions: &version_of };
    let lookup = Lookup::new(&state, &releases);

    let mut public_timeline = Vec::with_capacity(ordered.len());
    let mut full_timeline = Vec::with_capacity(ordered.len());
    for event in &ordered {
        let (full, public) = ctx.draw(event, &lookup);
        full_timeline.push(full);
        public_timeline.push(public);
    }
    if let Some(fault) = full_timeline.iter().find_map(amount_fault) {
        return Err(fault);
    }
    let flag_count = ordered.iter().map(|e| e.flags.len()).sum();
    let (public_summary, full_summary) = summaries(ordered.last().copied(), project_code(&ordered), flag_count, &state);
    Ok((ProjectViews { public_timeline, full_timeline, public_summary, full_summary }, state))
}

/// `events` in project_seq order, a repeated seq once (the first given).
pub(crate) fn ordered(events: &[EventEnvelope]) -> Vec<&EventEnvelope> {
    let mut ordered: Vec<&EventEnvelope> = events.iter().collect();
    ordered.sort_by_key(|event| event.project_seq);
    ordered.dedup_by_key(|event| event.project_seq);
    ordered
}

/// The project's code: the first subject its events name.
pub(crate) fn project_code<'e>(events: &[&'e EventEnvelope]) -> &'e str {
    events.iter().map(|e| e.subject.as_str()).find(|s| !s.is_empty()).unwrap_or_default()
}

/// Why the project folded into `state` (whose last event is `head`) cannot
/// be rendered at all, if it cannot: a fact in force past the money bound.
pub(crate) fn refusal(state: &ProjectState, head: Option<&EventEnvelope>) -> Result<(), RenderError> {
    if let Some(fault) = state.bound_fault() {
        return Err(RenderError::OutOfBounds {
            event_id: fault.event_id.clone(),
            description: fault.description.clone(),
        });
    }
    if state.contracted_totals().is_none() {
        return Err(RenderError::OutOfBounds {
            event_id: head.map(|event| event.event_id.clone()).unwrap_or_default(),
            description: "项目合同总额超出界限".to_owned(),
        });
    }
    Ok(())
}

/// A single amount past the bound in an entry in force (an earlier version's
/// event) would be published as a figure no project can have: the record is
/// refused. A superseded entry is shown as it was recorded, marked
/// superseded, next to the correction that replaced it.
pub(crate) fn amount_fault(entry: &TimelineEntry) -> Option<RenderError> {
    if !entry.superseded_by_event_id.is_empty() {
        return None;
    }
    entry.amounts.iter().find(|amount| !gongkai_domain::money::within_bound(amount.amount_fen)).map(|amount| {
        RenderError::OutOfBounds {
            event_id: entry.event_id.clone(),
            description: format!("{}超出金额界限", amount.label_zh),
        }
    })
}

/// The full summary and the public one (the same, `flag_count` = 0).
pub(crate) fn summaries(
    head: Option<&EventEnvelope>,
    project_code: &str,
    flag_count: usize,
    state: &ProjectState,
) -> (ProjectSummary, ProjectSummary) {
    let mut full_summary = summary::summary(head, project_code, flag_count, state);
    scrub::summary(&mut full_summary);
    let public_summary = ProjectSummary { flag_count: 0, ..full_summary.clone() };
    (public_summary, full_summary)
}

/// One recorded version of a fact: the fact and its business time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Version<'e> {
    pub(crate) kind: &'e Kind,
    pub(crate) occurred_at: Option<Timestamp>,
}

/// The fact an event records: its own, or a correction's replacement.
pub(crate) fn recorded_kind(event: &EventEnvelope) -> Option<&Kind> {
    match &event.body {
        Some(Body::Fact(fact)) => fact.kind.as_ref(),
        Some(Body::Correction(correction)) => correction.replacement.as_ref().and_then(|fact| fact.kind.as_ref()),
        None => None,
    }
}

/// Every event's fact (for a correction, its replacement) by event id. The
/// business time of a replacement is its own when given, else that of the
/// version it supersedes.
fn versions<'e>(events: &[&'e EventEnvelope]) -> BTreeMap<&'e str, Version<'e>> {
    let mut versions: BTreeMap<&str, Version<'_>> = BTreeMap::new();
    for event in events {
        match &event.body {
            Some(Body::Fact(fact)) => {
                if let Some(kind) = &fact.kind {
                    versions.insert(&event.event_id, Version { kind, occurred_at: event.occurred_at });
                }
            }
            Some(Body::Correction(correction)) => {
                if let Some(kind) = correction.replacement.as_ref().and_then(|fact| fact.kind.as_ref()) {
                    let occurred_at = correction
                        .replacement_occurred_at
                        .or_else(|| versions.get(correction.supersedes_event_id.as_str()).and_then(|v| v.occurred_at));
                    versions.insert(&event.event_id, Version { kind, occurred_at });
                }
            }
            None => {}
        }
    }
    versions
}

/// What every entry of a project is drawn from beside its own event and the
/// [`Lookup`]: what never changes once recorded (the versions of facts,
/// positions, the seq of a superseded event) and whether a correction
/// superseded the entry, read from the state.
pub(crate) struct Ctx<'a, 'e> {
    pub(crate) state: &'a ProjectState,
    /// Every event's fact (for a correction, its replacement) by event id.
    pub(crate) versions: &'a dyn Fn(&str) -> Option<Version<'e>>,
}

impl Ctx<'_, '_> {
    /// The full and the public entry of one event, scrubbed.
    pub(crate) fn draw(&self, event: &EventEnvelope, project: &Lookup<'_>) -> (TimelineEntry, TimelineEntry) {
        let (mut full, mut public) = self.entries(event, project);
        scrub::entry(&mut full);
        scrub::entry(&mut public);
        (full, public)
    }

    /// The full and the public entry of one event.
    fn entries(&self, event: &EventEnvelope, project: &Lookup<'_>) -> (TimelineEntry, TimelineEntry) {
        let version = (self.versions)(event.event_id.as_str());
        // What the event's hash covers, the same in both views: anyone can
        // recompute the chain from the public entries.
        let committed = commitment::commit(event);
        let base = TimelineEntry {
            public_event: committed.public_bytes(),
            event_id: event.event_id.clone(),
            project_seq: event.project_seq,
            r#type: if event.r#type.is_empty() {
                event.body.as_ref().map(event_type).unwrap_or_default()
            } else {
                event.r#type.clone()
            },
            occurred_at: version.and_then(|v| v.occurred_at).or(event.occurred_at),
            recorded_at: event.recorded_at,
            domain: if event.domain == Domain::Unspecified as i32 {
                event.body.as_ref().and_then(body_domain).unwrap_or_default() as i32
            } else {
                event.domain
            },
            fact_type: version.map(|v| format!("gongkai.v1.{}", kind_name(v.kind))).unwrap_or_default(),
            superseded_by_event_id: self.state.superseded_by(&event.event_id).unwrap_or_default().to_owned(),
            ..TimelineEntry::default()
        };
        let correction = match &event.body {
            Some(Body::Correction(correction)) => Some(correction),
            _ => None,
        };
        let Some(version) = version else {
            let mut entry = base;
            entry.title_zh = "无法识别的记录".to_owned();
            entry.title_en = "Unrecognized record".to_owned();
            entry.summary_zh = "该记录不含可识别的事实。".to_owned();
            entry.summary_en = "This record carries no recognizable fact.".to_owned();
            if let Some(correction) = correction {
                entry.supersedes_event_id = correction.supersedes_event_id.clone();
            }
            let mut full = entry.clone();
            full.flags = event.flags.clone();
            full.reveals = committed.reveal_all();
            return (full, entry);
        };

        // The position of the fact's original in the effective history decides
        // what later events release.
        let position = match self.state.position_of(&event.event_id) {
            u64::MAX => event.project_seq,
            position => position,
        };
        let redaction = public_fact(version.kind, position, project);
        let mut full = base.clone();
        let mut public = base;
        let full_text = text::fact(version.kind, project, &[]);
        // The policy mostly leaves a fact as it is: its public text is then
        // the same, and is not rendered twice, and every part of it is shown.
        let whole = redaction.withheld.is_empty() && redaction.fact == *version.kind;
        let public_text =
            if whole { full_text.clone() } else { text::fact(&redaction.fact, project, &redaction.withheld) };
        fill(&mut full, full_text);
        fill(&mut public, public_text);
        full.flags = event.flags.clone();
        full.restricted_fields = redaction.withheld.clone();
        public.details_withheld = !redaction.withheld.is_empty();
        full.reveals = committed.reveal_all();
        public.reveals = if whole { committed.reveals_of_fact() } else { committed.reveals(&redaction.fact) };

        if let Some(correction) = correction {
            let previous = (self.versions)(correction.supersedes_event_id.as_str());
            let (full_changes, public_changes) = match previous {
                Some(previous) => {
                    let old_public = public_fact(previous.kind, position, project);
                    public.details_withheld |= !old_public.withheld.is_empty();
                    let mut full_changes = diff::changes(previous.kind, version.kind);
                    let mut public_changes = diff::changes(&old_public.fact, &redaction.fact);
                    if let Some(change) = time_change(correction, previous.occurred_at) {
                        full_changes.push(change.clone());
                        public_changes.push(change);
                    }
                    (full_changes, public_changes)
                }
                None => (Vec::new(), Vec::new()),
            };
            let superseded_seq = self.state.event(&correction.supersedes_event_id).map(|e| e.project_seq);
            correct(&mut full, correction, superseded_seq, full_changes);
            correct(&mut public, correction, superseded_seq, public_changes);
        }
        (full, public)
    }
}

/// Copies a rendered fact into an entry.
fn fill(entry: &mut TimelineEntry, rendered: text::Rendered) {
    entry.title_zh = rendered.title_zh;
    entry.title_en = rendered.title_en;
    entry.summary_zh = rendered.summary_zh;
    entry.summary_en = rendered.summary_en;
    entry.amounts = rendered.amounts;
    entry.parties = rendered.parties;
    entry.people = rendered.people;
    entry.documents = rendered.documents;
    entry.tender_code = rendered.tender_code;
    entry.lot_codes = rendered.lot_codes;
    entry.clocks = rendered.clocks;
}

/// Turns the rendering of a replacement into the entry of its correction.
fn correct(
    entry: &mut TimelineEntry,
    correction: &DisclosureCorrected,
    superseded_seq: Option<u64>,
    changes: Vec<FieldChange>,
) {
    entry.supersedes_event_id = correction.supersedes_event_id.clone();
    entry.title_zh = format!("更正：{}", entry.title_zh);
    entry.title_en = format!("Correction: {}", entry.title_en);
    let (which_zh, which_en) = match superseded_seq {
        Some(seq) => (format!("第{seq}号记录"), format!("record no. {seq}")),
        None => ("此前的记录".to_owned(), "an earlier record".to_owned()),
    };
    let reason = correction.reason.trim_end().trim_end_matches(['。', '.']);
    let (count_zh, count_en) = match changes.len() {
        0 => (String::new(), String::new()),
        1 => ("更正1处内容。".to_owned(), " One field changed.".to_owned()),
        n => (format!("更正{n}处内容。"), format!(" {n} fields changed.")),
    };
    entry.summary_zh = format!("本条更正{which_zh}，更正原因：{reason}。{count_zh}更正后：{}", entry.summary_zh);
    entry.summary_en =
        format!("This corrects {which_en}. Reason: {reason}.{count_en} As corrected: {}", entry.summary_en);
    entry.changes = changes;
}

/// The change of business time a correction makes, if it states one.
fn time_change(correction: &DisclosureCorrected, before: Option<Timestamp>) -> Option<FieldChange> {
    let after = correction.replacement_occurred_at?;
    if Some(after) == before {
        return None;
    }
    let show = |ts: Option<Timestamp>| ts.as_ref().map(diff::instant).unwrap_or_default();
    Some(FieldChange { path: "occurred_at".to_owned(), before: show(before), after: show(Some(after)) })
}

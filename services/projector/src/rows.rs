//! Rendered views as the rows the store keeps.

use std::collections::BTreeMap;

use gongkai_domain::clock::utc_or_epoch;
use gongkai_domain::promptness::Disclosure;
use gongkai_domain::vocabulary::{stage_label, type_label};
use gongkai_proto::v1::{EventEnvelope, ProjectSummary, TimelineEntry};
use gongkai_store::{ProjectRow, ProjectViewRows, PromptnessRow, TimelineRow, stored_full_entry};
use prost::Message;

use crate::render::{RenderError, ordered, render_state};

mod supervision;

pub(crate) use supervision::{Trail, rows as supervision_rows};

/// The rows of a project's events rendered ([`crate::render()`]), for
/// [`gongkai_store::Projections::project_batch`].
pub(crate) fn to_rows(events: &[EventEnvelope]) -> Result<ProjectViewRows, RenderError> {
    let (views, state) = render_state(events)?;
    let ordered = ordered(events);
    let source_of: BTreeMap<&str, &str> =
        ordered.iter().map(|event| (event.event_id.as_str(), event.source.as_str())).collect();
    let source_of = |event_id: &str| source_of.get(event_id).copied();
    let (full_timeline, public_timeline) = views
        .full_timeline
        .iter()
        .zip(&views.public_timeline)
        .map(|(full, public)| timeline_rows(full, public))
        .unzip();
    Ok(ProjectViewRows {
        supervision: supervision::rows(&state, &Trail::of(&ordered), &source_of, &views.full_summary),
        public_timeline,
        full_timeline,
        public_project: project_row(&views.public_summary),
        full_project: project_row(&views.full_summary),
    })
}

/// The full and public rows of one event's two renderings: the public row
/// with what it adds to the promptness counts, the full row keeping only
/// what the supervisors' rendering adds to the public one
/// ([`gongkai_store::stored_full_entry`]).
pub(crate) fn timeline_rows(full: &TimelineEntry, public: &TimelineEntry) -> (TimelineRow, TimelineRow) {
    let public = public_timeline_row(public);
    let mut full = timeline_row(full);
    full.entry = stored_full_entry(&public.entry, &full.entry);
    (full, public)
}

/// A timeline entry as the store keeps it.
fn timeline_row(entry: &TimelineEntry) -> TimelineRow {
    TimelineRow {
        project_seq: entry.project_seq,
        event_id: entry.event_id.clone(),
        fact_type: entry.fact_type.clone(),
        occurred_at: utc_or_epoch(entry.occurred_at.as_ref()),
        recorded_at: utc_or_epoch(entry.recorded_at.as_ref()),
        entry: entry.encode_to_vec(),
        promptness: None,
    }
}

/// A public timeline entry as the store keeps it, with what it adds to the
/// public promptness counts: computed from the public entry alone, so the
/// counts use nothing the public cannot see.
fn public_timeline_row(entry: &TimelineEntry) -> TimelineRow {
    TimelineRow { promptness: promptness(entry), ..timeline_row(entry) }
}

/// What a public entry adds to the promptness counts, if it counts as a
/// disclosure (`gongkai_domain::promptness`).
fn promptness(entry: &TimelineEntry) -> Option<PromptnessRow> {
    let disclosure = Disclosure::of(entry)?;
    Some(PromptnessRow {
        month: disclosure.month()?,
        delay_days: disclosure.bucket(),
        within_window: disclosure.within_window(),
        source: disclosure.source,
    })
}

/// A summary as the store keeps it.
pub(crate) fn project_row(summary: &ProjectSummary) -> ProjectRow {
    ProjectRow {
        name: summary.name.clone(),
        region_code: summary.region_code.clone(),
        project_type: type_label(summary.project_type()).to_owned(),
        stage: stage_label(summary.stage()).to_owned(),
        head_seq: summary.head_seq,
        last_event_at: utc_or_epoch(summary.last_event_at.as_ref()),
        approved_investment_fen: summary.baseline_investment_fen,
        contract_value_fen: summary.current_contract_price_fen.unwrap_or(0),
        summary: summary.encode_to_vec(),
    }
}

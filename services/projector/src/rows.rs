//! Rendered views as the rows the store keeps.

use chrono::{DateTime, Utc};
use gongkai_proto::v1::{EventEnvelope, ProjectSummary, ProjectType, Stage, TimelineEntry};
use gongkai_store::{ProjectRow, ProjectViewRows, TimelineRow};
use prost::Message;

use crate::ProjectViews;

mod supervision;

/// The rows of `views`, for [`gongkai_store::Store::project_event`].
pub(crate) fn to_rows(events: &[EventEnvelope], views: &ProjectViews) -> ProjectViewRows {
    ProjectViewRows {
        supervision: supervision::rows(events, &views.full_summary),
        public_timeline: views.public_timeline.iter().map(timeline_row).collect(),
        full_timeline: views.full_timeline.iter().map(timeline_row).collect(),
        public_project: project_row(&views.public_summary),
        full_project: project_row(&views.full_summary),
    }
}

pub(crate) fn instant(timestamp: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    timestamp
        .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn timeline_row(entry: &TimelineEntry) -> TimelineRow {
    TimelineRow {
        project_seq: entry.project_seq,
        event_id: entry.event_id.clone(),
        fact_type: entry.fact_type.clone(),
        occurred_at: instant(entry.occurred_at.as_ref()),
        recorded_at: instant(entry.recorded_at.as_ref()),
        entry: entry.encode_to_vec(),
    }
}

/// `STAGE_TENDERING` → `tendering`.
pub(crate) fn stage_label(stage: Stage) -> String {
    stage.as_str_name().trim_start_matches("STAGE_").to_ascii_lowercase()
}

fn project_row(summary: &ProjectSummary) -> ProjectRow {
    let project_type = type_label(summary.project_type());
    ProjectRow {
        name: summary.name.clone(),
        region_code: summary.region_code.clone(),
        project_type: project_type.to_owned(),
        stage: stage_label(summary.stage()),
        head_seq: summary.head_seq,
        last_event_at: instant(summary.last_event_at.as_ref()),
        summary: summary.encode_to_vec(),
    }
}

/// `PROJECT_TYPE_PPP` → `ppp`.
pub(crate) fn type_label(project_type: ProjectType) -> &'static str {
    match project_type {
        ProjectType::Ppp => "ppp",
        ProjectType::Construction => "construction",
        ProjectType::Unspecified => "unspecified",
    }
}

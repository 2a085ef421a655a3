//! The supervision rows of a project: its search row and the disclosures it
//! still owes (the deadline watch).
//!
//! # Missing-disclosure rules (docs/domain.md soft rules, common.proto codes)
//!
//! For every lot that is not cancelled or failed, in a project that is
//! neither suspended nor cancelled:
//!
//! * `GK-MISSING-PUBLICITY`: bids evaluated and no candidate publicity (nor
//!   award) 3 days after the evaluation was completed (IR art. 54);
//! * `GK-MISSING-RESULT`: candidate publicity and no award result
//!   [`RESULT_GRACE_DAYS`] days after the publicity period ended;
//! * `GK-MISSING-CONTRACT`: award notice (or, without a notice, the award)
//!   and no contract 30 days after it (TBL art. 46): on day 31.
//!
//! Each expectation is stored with its due time; the flag exists from then
//! on, evaluated against the clock when read, so it appears without any new
//! submission, and the expectation disappears once the disclosure arrives
//! (the rows are rendered again from all events).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, Utc};
use gongkai_domain::ProjectState;
use gongkai_domain::clock::{Year, utc_or_epoch};
use gongkai_domain::promptness::{MISSING_CONTRACT, MISSING_PUBLICITY, MISSING_RESULT, MissingRule};
use gongkai_domain::vocabulary::{stage_label, type_label};
use gongkai_proto::v1::{ComplianceFlag, EventEnvelope, Figure, ProjectSummary};
use gongkai_store::{DeadlineRow, SearchRow, SupervisionRows};
use prost::Message;
use prost_types::Timestamp;

/// Days after the end of the candidate publicity by which an award result
/// is expected.
pub(crate) const RESULT_GRACE_DAYS: i64 = 15;
/// Days after the evaluation by which the candidate publicity is expected.
pub(crate) const PUBLICITY_DAYS: i64 = 3;
/// Days after the award notice by which the contract is expected.
pub(crate) const CONTRACT_DAYS: i64 = 30;

/// What the supervision rows need of a project's events beyond its state,
/// noted event by event in seq order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Trail {
    /// Store position of the first event.
    first_position: Option<u64>,
    /// Earliest and latest business time.
    occurred: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The trading centers that submitted the events.
    sources: BTreeSet<String>,
}

impl Trail {
    /// The trail of `events`, in seq order.
    pub(crate) fn of(events: &[&EventEnvelope]) -> Self {
        let mut trail = Self::default();
        for event in events {
            trail.note(event);
        }
        trail
    }

    /// Notes the next event.
    pub(crate) fn note(&mut self, event: &EventEnvelope) {
        self.first_position.get_or_insert(event.position);
        let at = utc_or_epoch(event.occurred_at.as_ref());
        self.occurred = Some(match self.occurred {
            Some((first, last)) => (first.min(at), last.max(at)),
            None => (at, at),
        });
        if !self.sources.contains(&event.source) {
            self.sources.insert(event.source.clone());
        }
    }

    /// Bytes held, roughly.
    pub(crate) fn weight(&self) -> usize {
        64 + self.sources.iter().map(|source| source.len() + 48).sum::<usize>()
    }
}

/// The supervision rows of the project folded into `state`, whose events
/// left `trail`; `source_of` names the trading center that submitted an
/// event (by id).
pub(crate) fn rows<'e>(
    state: &ProjectState,
    trail: &Trail,
    source_of: &dyn Fn(&str) -> Option<&'e str>,
    summary: &ProjectSummary,
) -> SupervisionRows {
    let owner = summary.owner.clone().unwrap_or_default();
    let mut texts = vec![summary.name.clone(), summary.project_code.clone(), owner.name.clone()];
    let mut winners = Vec::new();
    let mut deadlines = Vec::new();
    let open_project = matches!(state.status(), Some(gongkai_domain::state::ProjectStatus::Active));
    for tender in state.tenders().values() {
        texts.push(tender.tender_code.clone());
        texts.push(tender.name.clone());
        for lot in tender.lots.values() {
            texts.push(lot.lot_code.clone());
            texts.push(lot.name.clone());
            if let Some(winner) = lot.award.as_ref().and_then(|award| award.winner.as_ref()) {
                winners.push((winner.unified_social_credit_code.clone(), winner.name.clone()));
                texts.push(winner.name.clone());
            }
            if !open_project || lot.status.is_closed() {
                continue;
            }
            let subject = format!("{}/{}", tender.tender_code, lot.lot_code);
            let source = |event_id: &str| source_of(event_id).unwrap_or_default().to_owned();
            let at = |time: Option<&Timestamp>, event_id: &str| {
                time.map(|t| utc_or_epoch(Some(t)))
                    .or_else(|| state.occurred_at_of(event_id).map(|t| utc_or_epoch(Some(&t))))
                    .unwrap_or(DateTime::UNIX_EPOCH)
            };
            if let Some(award) = &lot.award {
                if lot.contract_codes.is_empty() {
                    let (event_id, since) = match &award.notice {
                        Some(notice) => (notice.event_id.as_str(), at(notice.issued_at.as_ref(), &notice.event_id)),
                        None => (award.event_id.as_str(), at(award.announced_at.as_ref(), &award.event_id)),
                    };
                    deadlines.push(deadline(
                        MISSING_CONTRACT,
                        &subject,
                        since,
                        CONTRACT_DAYS,
                        event_id,
                        source(event_id),
                        format!("{subject}：中标（通知）于{}，30日后仍未见合同签订信息。", day(since)),
                    ));
                }
            } else if let Some(publicity) = &lot.publicity {
                let end = publicity.period.as_ref().and_then(|p| p.end.as_ref());
                let since = at(end, &publicity.event_id);
                deadlines.push(deadline(
                    MISSING_RESULT,
                    &subject,
                    since,
                    RESULT_GRACE_DAYS,
                    &publicity.event_id,
                    source(&publicity.event_id),
                    format!(
                        "{subject}：中标候选人公示期于{}结束，{RESULT_GRACE_DAYS}日后仍未见中标结果公告。",
                        day(since)
                    ),
                ));
            } else if let Some(evaluation) = &lot.evaluation {
                let since = at(evaluation.completed_at.as_ref(), &evaluation.event_id);
                deadlines.push(deadline(
                    MISSING_PUBLICITY,
                    &subject,
                    since,
                    PUBLICITY_DAYS,
                    &evaluation.event_id,
                    source(&evaluation.event_id),
                    format!("{subject}：评标于{}完成，3日后仍未见中标候选人公示。", day(since)),
                ));
            }
        }
    }
    for contract in state.contracts().values() {
        texts.push(contract.contract_code.clone());
        texts.extend(contract.suppliers.iter().map(|supplier| supplier.name.clone()));
    }
    texts.retain(|text| !text.is_empty());
    texts.sort();
    texts.dedup();
    let sources: Vec<String> = trail.sources.iter().cloned().collect();
    let (first_occurred_at, last_occurred_at) = trail.occurred.unwrap_or((DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH));

    SupervisionRows {
        search: SearchRow {
            // The position of seq 1 never changes: search pages by it.
            first_position: trail.first_position.map_or(0, |position| i64::try_from(position).unwrap_or(i64::MAX)),
            region_code: summary.region_code.clone(),
            project_type: type_label(summary.project_type()).to_owned(),
            stage: stage_label(summary.stage()).to_owned(),
            last_event_at: utc_or_epoch(summary.last_event_at.as_ref()),
            first_occurred_at,
            last_occurred_at,
            owner_code: owner.unified_social_credit_code,
            owner_name: owner.name,
            winners,
            sources,
            investment_fen: summary.baseline_investment_fen,
            contract_price_fen: summary.current_contract_price_fen,
            final_cost_fen: summary.final_cost_fen,
            texts,
        },
        deadlines,
    }
}

fn day(time: DateTime<Utc>) -> String {
    let day = time + Duration::hours(8);
    format!("{}年{:02}月{:02}日", Year(day.year()), day.month(), day.day())
}

#[allow(clippy::too_many_arguments)]
fn deadline(
    rule: MissingRule,
    subject: &str,
    since: DateTime<Utc>,
    days: i64,
    event_id: &str,
    source: String,
    explanation: String,
) -> DeadlineRow {
    let flag = ComplianceFlag {
        rule: rule.code.to_owned(),
        title: rule.title_zh.to_owned(),
        event_ids: vec![event_id.to_owned()],
        figures: vec![Figure {
            name: "days_without_disclosure".to_owned(),
            value: days + 1,
            limit: Some(days),
            unit: gongkai_domain::vocabulary::FigureUnit::Days.as_str().to_owned(),
        }],
        explanation,
        legal_basis: String::new(),
    };
    DeadlineRow {
        rule: rule.code.to_owned(),
        subject: subject.to_owned(),
        // "After N days": the whole of day N is still in time; day N + 1 is not.
        due_at: since + Duration::days(days + 1),
        source,
        flag: flag.encode_to_vec(),
    }
}

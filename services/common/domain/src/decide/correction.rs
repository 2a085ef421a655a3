//! Corrections (DisclosureCorrected).
//!
//! A correction names the latest version of a fact (the original or its last
//! correction) and carries a full replacement of the same kind. It is decided
//! by replaying the effective history with the replacement in place: the
//! replacement against the state folded from the facts before it, then every
//! later fact, in order, against the state folded from those before it. If any
//! of them would be refused, the correction is refused with that rule (it
//! would make the record impossible); otherwise its flags are those the
//! replacement raises at its position.

use gongkai_proto::v1::DisclosureCorrected;

use super::rules::{CORRECTION_KIND_MISMATCH, EVENT_ALREADY_SUPERSEDED, EVENT_NOT_FOUND, PROJECT_NOT_FOUND};
use super::{Ctx, decide_fact, record_out_of_bounds, reject};
use crate::kinds::kind_name;
use crate::state::EffectiveFact;
use crate::{ComplianceFlag, Rejection};

/// Decides a correction recorded as `ctx.event_id`.
pub(super) fn decide(ctx: &Ctx<'_>, correction: &DisclosureCorrected) -> Result<Vec<ComplianceFlag>, Rejection> {
    let state = ctx.state;
    if !state.exists() {
        return Err(reject(
            PROJECT_NOT_FOUND,
            format!("项目 {} 尚未立项，没有可更正的记录", ctx.project_code),
            "no approval recorded for this project",
        )
        .with("project_code", ctx.project_code));
    }
    let target_id = correction.supersedes_event_id.as_str();
    let Some(target) = state.event(target_id) else {
        return Err(reject(
            EVENT_NOT_FOUND,
            format!("项目 {} 没有事件 {target_id}", ctx.project_code),
            format!("event {target_id} is unknown in this project"),
        )
        .with("project_code", ctx.project_code)
        .with("event_id", target_id));
    };
    if let Some(superseded_by) = &target.superseded_by {
        return Err(reject(
            EVENT_ALREADY_SUPERSEDED,
            format!("事件 {target_id} 已被更正事件 {superseded_by} 取代，请更正最新版本"),
            "the event was already corrected; correct the latest version",
        )
        .with("event_id", target_id)
        .with("superseded_by_event_id", superseded_by.clone()));
    }
    let replacement = correction.replacement.as_ref().and_then(|fact| fact.kind.as_ref());
    let replacement_kind = replacement.map_or("(none)", kind_name);
    let Some(replacement) = replacement.filter(|_| replacement_kind == target.kind) else {
        return Err(reject(
            CORRECTION_KIND_MISMATCH,
            format!("事件 {target_id} 为 {}，更正内容却为 {replacement_kind}", target.kind),
            "the replacement must be of the superseded fact's kind",
        )
        .with("event_id", target_id)
        .with("superseded_kind", target.kind)
        .with("replacement_kind", replacement_kind));
    };

    let mut replay = state.clone();
    let Some(position) =
        replay.index_correction(ctx.event_id, state.last_seq().saturating_add(1), target_id, replacement)
    else {
        return Err(reject(
            EVENT_NOT_FOUND,
            format!("事件 {target_id} 不在有效记录中"),
            format!("event {target_id} is not part of the effective history"),
        )
        .with("event_id", target_id));
    };
    let mut history = replay.take_history();
    let Some(replaced) = history.get_mut(position) else {
        return Err(reject(
            EVENT_NOT_FOUND,
            format!("事件 {target_id} 不在有效记录中"),
            "not in the effective history",
        )
        .with("event_id", target_id));
    };
    replaced.event_id = ctx.event_id.to_owned();
    replaced.fact = replacement.clone();
    if correction.replacement_occurred_at.is_some() {
        replaced.occurred_at = correction.replacement_occurred_at;
    }

    let mut entries = history.into_iter();
    for entry in entries.by_ref().take(position) {
        replay.push_fact(entry);
    }
    let mut flags = Vec::new();
    if let Some(entry) = entries.next() {
        flags = decide_fact(&Ctx { state: &replay, occurred_at: entry.occurred_at, ..*ctx }, &entry.fact)
            .map_err(|rejection| rejection.with("supersedes_event_id", target_id))?;
        replay.push_fact(entry);
    }
    for entry in entries {
        let later = Ctx { state: &replay, event_id: &entry.event_id, occurred_at: entry.occurred_at, ..*ctx };
        decide_fact(&later, &entry.fact).map_err(|rejection| invalidates(rejection, &entry, target_id))?;
        replay.push_fact(entry);
    }
    if let Some(fault) = replay.bound_fault() {
        return Err(record_out_of_bounds(fault).with("supersedes_event_id", target_id));
    }
    Ok(flags)
}

/// The refusal of a later fact, reworded as the reason to refuse the correction.
fn invalidates(rejection: Rejection, entry: &EffectiveFact, target_id: &str) -> Rejection {
    let kind = kind_name(&entry.fact);
    let mut refused = reject(
        rejection.rule,
        format!(
            "更正事件 {target_id} 后，其后的事件 {}（{kind}，第 {} 号）将不能成立：{}",
            entry.event_id, entry.project_seq, rejection.message
        ),
        format!("the correction would invalidate later event {} ({kind})", entry.event_id),
    );
    refused.context = rejection.context;
    refused.with("supersedes_event_id", target_id).with("invalidated_event_id", entry.event_id.clone())
}

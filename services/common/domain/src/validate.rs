//! Field validation of submissions (INVALID_ARGUMENT).
//!
//! The proto comments are the specification: required fields, formats,
//! bounds. [`submission`] walks the whole request and reports every malformed
//! field once, by its path in the gRPC request message (`fact.lots[1].name`,
//! `fact.replacement.tender_announced.bid_deadline`), with the first problem
//! found for that field. Rules that need the project's history are not here:
//! they are hard rules in [`crate::decide`].
//!
//! - `formats`: single values (text, codes and check characters, instants, dates);
//! - `values`: the shared messages (organizations, people, documents, periods, lists);
//! - `facts`: one function per fact kind (`land`: those of land expropriation,
//!   resettlement and the EIA approval).

mod facts;
mod formats;
mod land;
mod values;

#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use gongkai_proto::v1::DisclosureCorrected;
use prost_types::Timestamp;

use crate::codes::ProjectCode;
use crate::kinds::kind_name;
use crate::{Body, FieldViolation, Submission};

use formats::{Outcome, TEXT_MAX};
pub use formats::{is_text, is_text_char};
use values::Presence::{Optional, Required};

/// How far ahead of the server's clock a business time may be.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Every malformed field of `submission`, one violation per field; empty
/// when it is well-formed. `now` bounds `occurred_at` (at most 5 minutes ahead).
pub fn submission(submission: &Submission, now: DateTime<Utc>) -> Vec<FieldViolation> {
    let mut violations = Vec::new();
    let mut request = Checker { out: &mut violations, path: String::new() };
    request.check("request_id", formats::request_id(&submission.request_id));
    let project_code = if submission.project_code.trim().is_empty() {
        request.check("project_code", Err("不能为空".into()));
        None
    } else {
        let parsed = ProjectCode::parse(&submission.project_code);
        request.check("project_code", parsed.map(|_| ()).map_err(str::to_owned));
        parsed.ok()
    };
    request.business_time("occurred_at", submission.occurred_at.as_ref(), Required, now);
    let context = Context { project_region: project_code.map(|code| code.region), now };
    let mut fact = request.at("fact");
    match &submission.body {
        Some(Body::Fact(body)) => match &body.kind {
            Some(kind) => facts::validate(&mut fact, kind, &context),
            None => fact.fail("缺少事实内容"),
        },
        Some(Body::Correction(correction)) => self::correction(&mut fact, correction, &context),
        None => fact.fail("缺少事实内容"),
    }
    violations
}

/// A correction: what it supersedes, why, and the full replacement, which is
/// validated like an original under `replacement.<kind>`.
fn correction(c: &mut Checker<'_>, correction: &DisclosureCorrected, context: &Context<'_>) {
    c.event_id("supersedes_event_id", &correction.supersedes_event_id, Required);
    c.text("reason", &correction.reason, TEXT_MAX, Required);
    match correction.replacement.as_ref().and_then(|fact| fact.kind.as_ref()) {
        Some(kind) => facts::validate(&mut c.at("replacement").at(&snake_case(kind_name(kind))), kind, context),
        None => c.at("replacement").fail("缺少更正后的完整事实"),
    }
    c.business_time("replacement_occurred_at", correction.replacement_occurred_at.as_ref(), Optional, context.now);
}

/// The oneof field name of a fact kind: `TenderAnnounced` → `tender_announced`.
fn snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    snake
}

/// What the fact rules need beyond the fact itself.
struct Context<'a> {
    /// Region segment (AAAAAA) of the request's project code, when it parsed.
    project_region: Option<&'a str>,
    /// The server's clock.
    now: DateTime<Utc>,
}

/// Collects violations under a path prefix; a field reported once keeps its
/// first violation.
struct Checker<'a> {
    out: &'a mut Vec<FieldViolation>,
    path: String,
}

impl Checker<'_> {
    /// The checker of a sub-field.
    fn at(&mut self, field: &str) -> Checker<'_> {
        let path = if self.path.is_empty() { field.to_owned() } else { format!("{}.{field}", self.path) };
        Checker { out: self.out, path }
    }

    /// The checker of entry `index` of a repeated field.
    fn item(&mut self, field: &str, index: usize) -> Checker<'_> {
        let path =
            if self.path.is_empty() { format!("{field}[{index}]") } else { format!("{}.{field}[{index}]", self.path) };
        Checker { out: self.out, path }
    }

    /// Reports this checker's own field, unless it is already reported.
    fn fail(&mut self, description: impl Into<String>) {
        if !self.out.iter().any(|violation| violation.field == self.path) {
            self.out.push(FieldViolation::new(self.path.clone(), description));
        }
    }

    /// Reports `field` when `outcome` names a problem.
    fn check(&mut self, field: &str, outcome: Outcome) {
        if let Err(description) = outcome {
            self.at(field).fail(description);
        }
    }

    /// A business time: a valid instant, at most 5 minutes after `now`.
    fn business_time(
        &mut self,
        field: &str,
        value: Option<&Timestamp>,
        presence: values::Presence,
        now: DateTime<Utc>,
    ) {
        let Some(value) = self.instant(field, value, presence) else { return };
        let latest = now + CLOCK_SKEW;
        let nanos = u32::try_from(value.nanos).unwrap_or_default();
        if DateTime::from_timestamp(value.seconds, nanos).is_some_and(|at| at > latest) {
            self.check(field, Err("不得晚于服务器当前时间 5 分钟以上".into()));
        }
    }
}

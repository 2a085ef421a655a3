//! The last line of defence for published text: validation refuses control
//! characters since the text rule existed, but an event an earlier version
//! accepted may still carry one, and a single U+000B makes a whole Atom feed
//! invalid XML. Every string of a rendered entry and summary is passed
//! through here; a character text may not hold becomes U+FFFD (the
//! replacement character), visibly, instead of breaking every reader.

use gongkai_domain::validate::{is_text, is_text_char};
use gongkai_proto::v1::{DocumentRef, Organization, Person, ProjectSummary, TimelineEntry};

/// Replaces what text may not hold in `text`, if anything.
fn clean(text: &mut String) {
    if !is_text(text) {
        *text = text.chars().map(|c| if is_text_char(c) { c } else { '\u{FFFD}' }).collect();
    }
}

fn organization(org: &mut Organization) {
    clean(&mut org.name);
    clean(&mut org.unified_social_credit_code);
}

fn person(person: &mut Person) {
    for text in [
        &mut person.name,
        &mut person.id_number,
        &mut person.phone,
        &mut person.role,
        &mut person.certificate_number,
        &mut person.employer,
    ] {
        clean(text);
    }
}

fn document(document: &mut DocumentRef) {
    clean(&mut document.title);
    clean(&mut document.url);
    clean(&mut document.sha256);
}

/// Every string of a timeline entry.
pub(super) fn entry(entry: &mut TimelineEntry) {
    for text in [
        &mut entry.event_id,
        &mut entry.r#type,
        &mut entry.title_zh,
        &mut entry.title_en,
        &mut entry.summary_zh,
        &mut entry.summary_en,
        &mut entry.supersedes_event_id,
        &mut entry.superseded_by_event_id,
        &mut entry.fact_type,
        &mut entry.tender_code,
    ] {
        clean(text);
    }
    entry.lot_codes.iter_mut().chain(entry.restricted_fields.iter_mut()).for_each(clean);
    for amount in &mut entry.amounts {
        clean(&mut amount.label_zh);
        clean(&mut amount.label_en);
        clean(&mut amount.lot_code);
    }
    entry.parties.iter_mut().for_each(organization);
    entry.people.iter_mut().for_each(person);
    entry.documents.iter_mut().for_each(document);
    for change in &mut entry.changes {
        clean(&mut change.path);
        clean(&mut change.before);
        clean(&mut change.after);
    }
    for clock in &mut entry.clocks {
        clean(&mut clock.kind);
        clean(&mut clock.label_zh);
        clean(&mut clock.label_en);
        clean(&mut clock.lot_code);
    }
    for flag in &mut entry.flags {
        clean(&mut flag.title);
        clean(&mut flag.explanation);
    }
}

/// Every string of a summary.
pub(super) fn summary(summary: &mut ProjectSummary) {
    clean(&mut summary.project_code);
    clean(&mut summary.name);
    clean(&mut summary.region_code);
    clean(&mut summary.chain_head_hash);
    if let Some(owner) = &mut summary.owner {
        organization(owner);
    }
    if let Some(approval) = &mut summary.environmental_approval {
        clean(&mut approval.document_number);
        clean(&mut approval.conclusion);
        if let Some(authority) = &mut approval.approving_authority {
            organization(authority);
        }
        approval.documents.iter_mut().for_each(document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_would_break_a_feed_is_replaced_visibly() {
        let mut entry = TimelineEntry {
            summary_zh: "范围\u{b}说明".into(),
            title_en: "ok\ttab".into(),
            parties: vec![Organization { name: "公司\u{0}".into(), ..Default::default() }],
            ..Default::default()
        };
        super::entry(&mut entry);
        assert_eq!(entry.summary_zh, "范围\u{fffd}说明");
        assert_eq!(entry.title_en, "ok\ttab");
        assert_eq!(entry.parties[0].name, "公司\u{fffd}");
    }
}

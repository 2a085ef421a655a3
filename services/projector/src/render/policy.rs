//! The disclosure policy: what of a fact the public may see, given everything
//! the project has recorded so far.
//!
//! Redaction works on the fact itself: [`public_fact`] returns a copy with
//! every restricted field cleared, and the public entry (texts, parties,
//! people, documents, correction diffs) is rendered from that copy only, so
//! no template can leak what it never receives.
//!
//! | field | public from |
//! |---|---|
//! | `TenderAnnounced.invited_bidders` | bids of every lot of the tender opened (lots cancelled or failed unopened excepted; at least one opened) |
//! | `PrequalificationCompleted.qualified_applicants`, `.disqualified_applicants`, `.documents` | the same, over the lots the prequalification covers |
//! | `ObjectionRaised.objector` (stage documents or unstated) | the same, over the objection's lot (or the whole tender) |
//! | `ComplaintFiled.complainant` | the same, over the complaint's lot (or the whole tender) |
//! | `BidsEvaluated.committee_members`, `.documents` | an AwardAnnounced for the lot recorded after the evaluation |
//! | `Person.id_number`, `Person.phone` (everywhere) | never |
//! | `ComplaintFiled.details`, `.documents` | never (supervisor-only) |
//! | `HouseholdCompensationPublished.households` (names, ID numbers, per-household amounts), `.documents` | never (supervisor-only); the public copy carries `household_count` and `category_totals` instead |
//! | compliance flags | never (dropped by the caller) |
//!
//! "Recorded" means in the project's *effective* history (each fact as last
//! corrected, in its original position), so a correction that moves a bid
//! opening to another lot also moves the release. What the history releases
//! is asked of the [`Lookup`] (`lookup::Releases`), which notes each
//! question for the incremental renderer.

use gongkai_domain::state::land::set_public_totals;
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{ObjectionStage, Person};

use super::lookup::Lookup;

/// A fact as the public may see it, and the paths of what was withheld.
#[derive(Debug, Clone)]
pub(crate) struct Redaction {
    /// The fact with every restricted field cleared.
    pub(crate) fact: Kind,
    /// Paths (in the fact) of the non-empty fields that were cleared.
    pub(crate) withheld: Vec<String>,
}

/// The public copy of `kind`, a fact at `position` in the effective history.
pub(crate) fn public_fact(kind: &Kind, position: u64, disclosure: &Lookup<'_>) -> Redaction {
    let mut fact = kind.clone();
    let mut withheld = Vec::new();
    match &mut fact {
        Kind::TenderAnnounced(f) if !disclosure.bidders_public(&f.tender_code, &[]) => {
            clear(&mut withheld, "invited_bidders", f.invited_bidders.is_empty());
            f.invited_bidders.clear();
        }
        Kind::PrequalificationCompleted(f) if !disclosure.bidders_public(&f.tender_code, &f.lot_codes) => {
            clear(&mut withheld, "qualified_applicants", f.qualified_applicants.is_empty());
            clear(&mut withheld, "disqualified_applicants", f.disqualified_applicants.is_empty());
            clear(&mut withheld, "documents", f.documents.is_empty());
            f.qualified_applicants.clear();
            f.disqualified_applicants.clear();
            f.documents.clear();
        }
        Kind::ObjectionRaised(f) => {
            let after_opening = matches!(f.stage(), ObjectionStage::BidOpening | ObjectionStage::EvaluationResult);
            if !after_opening && !disclosure.bidders_public(&f.tender_code, &lots_of(&f.lot_code)) {
                clear(&mut withheld, "objector", f.objector.is_none());
                f.objector = None;
            }
        }
        Kind::ComplaintFiled(f) => {
            if !disclosure.bidders_public(&f.tender_code, &lots_of(&f.lot_code)) {
                clear(&mut withheld, "complainant", f.complainant.is_none());
                f.complainant = None;
            }
            clear(&mut withheld, "details", f.details.is_empty());
            clear(&mut withheld, "documents", f.documents.is_empty());
            f.details.clear();
            f.documents.clear();
        }
        Kind::BidsEvaluated(f) => {
            if disclosure.committee_public(&f.tender_code, &f.lot_code, position) {
                for (i, member) in f.committee_members.iter_mut().enumerate() {
                    strip_personal(member, &format!("committee_members[{i}]"), &mut withheld);
                }
            } else {
                clear(&mut withheld, "committee_members", f.committee_members.is_empty());
                clear(&mut withheld, "documents", f.documents.is_empty());
                f.committee_members.clear();
                f.documents.clear();
            }
            for (i, candidate) in f.candidates.iter_mut().enumerate() {
                if let Some(manager) = &mut candidate.project_manager {
                    strip_personal(manager, &format!("candidates[{i}].project_manager"), &mut withheld);
                }
            }
        }
        Kind::HouseholdCompensationPublished(f) => {
            set_public_totals(f);
            clear(&mut withheld, "households", f.households.is_empty());
            clear(&mut withheld, "documents", f.documents.is_empty());
            f.households.clear();
            f.documents.clear();
        }
        Kind::CandidatesPublicized(f) => {
            for (i, candidate) in f.candidates.iter_mut().enumerate() {
                if let Some(manager) = &mut candidate.project_manager {
                    strip_personal(manager, &format!("candidates[{i}].project_manager"), &mut withheld);
                }
            }
        }
        _ => {}
    }
    Redaction { fact, withheld }
}

/// Notes that `path` was withheld, unless it was empty anyway.
fn clear(withheld: &mut Vec<String>, path: &str, empty: bool) {
    if !empty {
        withheld.push(path.to_owned());
    }
}

/// Clears a person's personal data (never public), noting what was there.
fn strip_personal(person: &mut Person, path: &str, withheld: &mut Vec<String>) {
    if !person.id_number.is_empty() {
        withheld.push(format!("{path}.id_number"));
        person.id_number.clear();
    }
    if !person.phone.is_empty() {
        withheld.push(format!("{path}.phone"));
        person.phone.clear();
    }
}

/// One lot code as a list; the empty code (whole tender) as the empty list.
fn lots_of(lot_code: &str) -> Vec<String> {
    if lot_code.is_empty() { Vec::new() } else { vec![lot_code.to_owned()] }
}

//! Open data built from the public read model only: OCDS 1.1 release and
//! record packages per tender project, an OC4IDS 0.9 project package per
//! project.
//!
//! * **ocid**: `<prefix>-<project code>-<tender code>` ([`OcidPrefix::ocid`]):
//!   a tender code is unique only within its project, the project code is
//!   unique nationally, and the prefix (configured, `site.ocid_prefix`) is
//!   the deployment's own, registered with the Open Contracting Partnership.
//!   The default, `ocds-gkcn01`, is not registered. This is ocid scheme
//!   [`OCID_SCHEME`]; scheme 1 (`ocds-gkcn01-<tender code>`) is retired.
//! * **One release per disclosed fact**: each public timeline entry of the
//!   tender becomes a release (id = event id, unique within its ocid), plus
//!   the project's approval as the `planning` release. Corrections carry the
//!   `…Update` tag of the fact they correct.
//! * **planning/project/id** and **title** (the OCDS Project extension's
//!   fields, declared in `extensions` by a copy this site serves at
//!   `/api/v1/ocds/extensions/project/`), and **planning/budget/projectID**
//!   and **planning/budget/project** (core)
//!   are the project code and name: core fields, so no extension has to be
//!   declared or fetched to read them.
//! * Awards and contracts are identified per lot: `<tender code>-<lot code>`.
//! * Document hashes have no OCDS field; they are given in the document's
//!   `description` as `SHA-256: <hex>`; `documentType` is common.proto's
//!   mapping of `DocumentType`.
//! * **Nothing empty**: every export goes through [`prune`], which drops
//!   empty strings, arrays and objects (OCDS and OC4IDS ask for a field to be
//!   omitted rather than sent empty; OC4IDS refuses an empty
//!   `contractingProcesses`, which a project has until its first tender).
//! * OC4IDS: status from the stage (`maintenance` in operation and after the
//!   handover); `period` is the approval's planned construction period;
//!   `sector` comes from the project code's industry segment ([`sectors`]);
//!   `type` from the project type and a PPP project's operating model
//!   ([`oc4ids_type`]); `budget` is the approved total investment;
//!   `social.landCompensationBudget` and `environment` from the public
//!   summary; the project's own documents (facts of no tender, such as the
//!   land and EIA facts) as project `documents`.
//! * OC4IDS location: the project's region, named from the division data
//!   set ([`gongkai_domain::divisions`]): `description` is its full name
//!   (`黑龙江省哈尔滨市双城区`), `address.region` its province and
//!   `address.locality` the rest (`哈尔滨市双城区`), as an address reads; the
//!   code is kept as a `gazetteer` entry of scheme [`REGION_GAZETTEER`]. A
//!   code the data set does not know stays in `address.region`, as before.
//! * OC4IDS outcomes, two measures apart: `completion` is the project's
//!   final accounts against its approval (投资节余/超支 in
//!   `finalValueDetails`, the end date against the plan in
//!   `endDateDetails`); each contracting process summary carries its
//!   contracts against their signing: `contractValue` and `contractPeriod`
//!   as signed, `modifications` for each disclosed variation (old and new
//!   value and period), a `delivery` milestone per contract due on its end
//!   date in force and met on its actual completion date, and `finalValue`
//!   once every contract of the process is settled. Calendar dates are
//!   midnight, Beijing time.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use gongkai_domain::clock::utc_or_epoch;
use gongkai_domain::codes::ProjectCode;
use gongkai_domain::divisions;
use gongkai_proto::v1::{
    CalendarDate, ContractOutcome, DateRange, DocumentType, EiaDocumentKind, EnvironmentalImpactApproved, Organization,
    PartyRole, PppOperatingModel, ProjectSummary, ProjectType, Stage, TimelineEntry,
};
use serde_json::{Map, Value, json};

/// The ocid scheme the exports, the change feed and the bulk download follow
/// (`ocid_scheme` there): 2 = `<prefix>-<project code>-<tender code>`.
/// Scheme 1 (`ocds-gkcn01-<tender code>`) gave the same ocid to tenders of
/// different projects; its ids are retired.
pub const OCID_SCHEME: u32 = 2;

/// The prefix of every ocid a deployment publishes: `ocds-` and the six
/// lowercase letters or digits the Open Contracting Partnership registered
/// for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct OcidPrefix(String);

impl OcidPrefix {
    /// The default, `ocds-gkcn01`: **not registered** with the Open
    /// Contracting Partnership. A deployment that publishes registers its
    /// own prefix and configures it (`site.ocid_prefix`).
    pub const UNREGISTERED_DEFAULT: &'static str = "ocds-gkcn01";

    /// `prefix` if it has the shape of a registered one (`ocds-` and six
    /// characters `a-z0-9`).
    pub fn new(prefix: &str) -> Result<Self, InvalidOcidPrefix> {
        let registered = prefix
            .strip_prefix("ocds-")
            .is_some_and(|id| id.len() == 6 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if registered { Ok(Self(prefix.to_owned())) } else { Err(InvalidOcidPrefix(prefix.to_owned())) }
    }

    /// The prefix, e.g. `ocds-gkcn01`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ocid of tender `tender_code` of project `project_code`:
    /// `<prefix>-<project code>-<tender code>`, unique across projects (a
    /// tender code is unique only within its project) and deployments (each
    /// has its own prefix).
    pub fn ocid(&self, project_code: &str, tender_code: &str) -> String {
        format!("{}-{project_code}-{tender_code}", self.0)
    }
}

impl Default for OcidPrefix {
    fn default() -> Self {
        Self(Self::UNREGISTERED_DEFAULT.to_owned())
    }
}

impl TryFrom<String> for OcidPrefix {
    type Error = InvalidOcidPrefix;

    fn try_from(prefix: String) -> Result<Self, Self::Error> {
        Self::new(&prefix)
    }
}

impl std::str::FromStr for OcidPrefix {
    type Err = InvalidOcidPrefix;

    fn from_str(prefix: &str) -> Result<Self, Self::Err> {
        Self::new(prefix)
    }
}

/// A string that is not an ocid prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an ocid prefix: `ocds-` and six characters a-z or 0-9, as registered with the Open Contracting Partnership"
)]
pub struct InvalidOcidPrefix(String);

/// Who publishes.
const PUBLISHER: &str = "公开 gongkai";

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Whether `value` carries nothing: null, a string of nothing but
/// whitespace (as Python's `str.isspace` counts it, which the Data Review
/// Tool uses), an empty array or object.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.chars().all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Drops from `value`, depth first, every member that carries nothing (see
/// `is_empty`), including arrays and objects emptied by the drop: OCDS and
/// OC4IDS ask for a field with no value to be left out, and OC4IDS refuses
/// some empty arrays outright. Every export goes through it.
pub fn prune(value: &mut Value) {
    match value {
        Value::Array(items) => {
            items.iter_mut().for_each(prune);
            items.retain(|item| !is_empty(item));
        }
        Value::Object(fields) => {
            fields.values_mut().for_each(prune);
            fields.retain(|_, field| !is_empty(field));
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

fn yuan(fen: i64) -> Value {
    if fen % 100 == 0 { json!(fen / 100) } else { json!(fen as f64 / 100.0) }
}

fn value(fen: i64) -> Value {
    json!({ "amount": yuan(fen), "currency": "CNY" })
}

fn short(fact_type: &str) -> &str {
    fact_type.trim_start_matches("gongkai.v1.")
}

/// The OCDS tag of a fact kind (first) and of a correction of it (second).
fn tags(fact_type: &str) -> (&'static str, &'static str) {
    match short(fact_type) {
        "ProjectApproved" | "PppDetailsDisclosed" => ("planning", "planningUpdate"),
        "TenderAnnounced" => ("tender", "tenderUpdate"),
        "TenderAmended" => ("tenderAmendment", "tenderUpdate"),
        "TenderCancelled" | "TenderFailed" => ("tenderCancellation", "tenderUpdate"),
        "AwardAnnounced" | "AwardNoticeIssued" => ("award", "awardUpdate"),
        "AwardCancelled" => ("awardCancellation", "awardUpdate"),
        "ContractSigned" => ("contract", "contractUpdate"),
        "ContractVaried" => ("contractAmendment", "contractUpdate"),
        "MilestoneReached"
        | "PaymentMade"
        | "PerformanceIssueRecorded"
        | "CompletionAccepted"
        | "ContractSettled"
        | "FinalAccountsSettled" => ("implementation", "implementationUpdate"),
        _ => ("tenderUpdate", "tenderUpdate"),
    }
}

fn ocds_role(role: PartyRole) -> &'static str {
    match role {
        PartyRole::Owner | PartyRole::Tenderee | PartyRole::Buyer => "buyer",
        PartyRole::TenderAgent => "procuringEntity",
        PartyRole::Bidder => "tenderer",
        PartyRole::Supplier | PartyRole::ConsortiumMember => "supplier",
        PartyRole::Payee => "payee",
        PartyRole::Funder => "funder",
        PartyRole::ApprovingAuthority | PartyRole::SupervisingAuthority => "reviewBody",
        PartyRole::Objector => "enquirer",
        _ => "interestedParty",
    }
}

fn party_id(org: &Organization) -> String {
    if org.unified_social_credit_code.is_empty() {
        format!("name-{}", org.name)
    } else {
        format!("CN-USCC-{}", org.unified_social_credit_code)
    }
}

fn party_ref(org: &Organization) -> Value {
    json!({ "id": party_id(org), "name": org.name })
}

/// Parties of `entries`, one per organization, roles merged.
fn parties<'a>(entries: impl Iterator<Item = &'a TimelineEntry>, owner: Option<&Organization>) -> Vec<Value> {
    let mut by_id: BTreeMap<String, (Value, Vec<&'static str>)> = BTreeMap::new();
    let mut add = |org: &Organization, role: &'static str| {
        let id = party_id(org);
        let entry = by_id.entry(id.clone()).or_insert_with(|| {
            let mut party = json!({ "id": id, "name": org.name });
            if !org.unified_social_credit_code.is_empty() {
                party["identifier"] = json!({ "scheme": "CN-USCC", "id": org.unified_social_credit_code });
            }
            (party, Vec::new())
        });
        if !entry.1.contains(&role) {
            entry.1.push(role);
        }
    };
    if let Some(owner) = owner {
        add(owner, "buyer");
    }
    for entry in entries {
        for org in &entry.parties {
            add(org, ocds_role(org.role()));
        }
    }
    by_id
        .into_values()
        .map(|(mut party, roles)| {
            party["roles"] = json!(roles);
            party
        })
        .collect()
}

/// The OCDS/OC4IDS `documentType` of a document type, as common.proto maps
/// it; none for DOCUMENT_TYPE_OTHER.
fn document_type(kind: DocumentType) -> Option<&'static str> {
    Some(match kind {
        DocumentType::Notice => "tenderNotice",
        DocumentType::TenderDocuments => "biddingDocuments",
        DocumentType::Clarification => "clarifications",
        DocumentType::BidOpeningRecord => "bidders",
        DocumentType::EvaluationReport => "evaluationReports",
        DocumentType::Publicity => "shortlistedFirms",
        DocumentType::AwardNotice => "awardNotice",
        DocumentType::Contract => "contractSigned",
        DocumentType::VariationOrder => "contractAnnexe",
        DocumentType::AcceptanceReport => "completionCertificate",
        DocumentType::FinalAccounts => "financialAuditReport",
        DocumentType::ApprovalDocument => "budgetApproval",
        DocumentType::PppImplementationPlan => "projectPlan",
        DocumentType::VfmReport => "valueForMoneyAnalysis",
        DocumentType::FiscalAffordabilityReport => "assetAndLiabilityAssessment",
        DocumentType::ComplaintDecision => "complaints",
        DocumentType::ExpropriationNotice => "landAndSettlementImpact",
        DocumentType::CompensationPlan => "resettlementPlan",
        DocumentType::SocialRiskAssessment => "socialImpact",
        DocumentType::EnvironmentalImpact => "environmentalImpact",
        DocumentType::Settlement => "finalAudit",
        DocumentType::Other | DocumentType::Unspecified => return None,
    })
}

fn documents(entry: &TimelineEntry) -> Vec<Value> {
    entry
        .documents
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut d = json!({
                "id": format!("{}-{}", entry.event_id, i + 1),
                "title": doc.title,
                "description": format!("SHA-256: {}", doc.sha256),
            });
            if let Some(kind) = document_type(doc.r#type()) {
                d["documentType"] = json!(kind);
            }
            if !doc.url.is_empty() {
                d["url"] = json!(doc.url);
            }
            if doc.published_at.is_some() {
                d["datePublished"] = json!(rfc3339(utc_or_epoch(doc.published_at.as_ref())));
            }
            d
        })
        .collect()
}

fn amount(entry: &TimelineEntry, label: &str) -> Option<i64> {
    let found: Vec<i64> = entry.amounts.iter().filter(|a| a.label_zh == label).map(|a| a.amount_fen).collect();
    // Within the money bound: the projector renders no amount past it, and a
    // thousand such amounts still sum inside i64; checked all the same.
    if found.is_empty() { None } else { gongkai_domain::money::checked_sum(found) }
}

fn lot_amount(entry: &TimelineEntry, label: &str, lot: &str) -> Option<i64> {
    entry
        .amounts
        .iter()
        .find(|a| a.label_zh == label && (a.lot_code == lot || a.lot_code.is_empty()))
        .map(|a| a.amount_fen)
}

/// The release of one public entry in the tender `tender_code`.
fn release(prefix: &OcidPrefix, summary: &ProjectSummary, tender_code: &str, entry: &TimelineEntry) -> Value {
    let ocid = prefix.ocid(&summary.project_code, tender_code);
    let (tag, correction_tag) = tags(&entry.fact_type);
    let tag = if entry.supersedes_event_id.is_empty() { tag } else { correction_tag };
    let date = rfc3339(utc_or_epoch(entry.recorded_at.as_ref()));
    let occurred = rfc3339(utc_or_epoch(entry.occurred_at.as_ref()));
    let mut release = json!({
        "ocid": ocid,
        "id": entry.event_id,
        "date": date,
        "tag": [tag],
        "initiationType": "tender",
        "language": "zh",
        "parties": parties(std::iter::once(entry), summary.owner.as_ref()),
    });
    if let Some(owner) = &summary.owner {
        release["buyer"] = party_ref(owner);
    }
    let docs = documents(entry);
    let description = entry.summary_zh.clone();
    let lot = entry.lot_codes.first().cloned().unwrap_or_default();
    let award_id = format!("{tender_code}-{lot}");
    match tag {
        "planning" | "planningUpdate" => {
            let mut budget = json!({
                "projectID": summary.project_code,
                "project": summary.name,
                "description": entry.title_zh,
            });
            if let Some(fen) = amount(entry, "批复总投资") {
                budget["amount"] = value(fen);
            }
            release["planning"] = json!({
                "rationale": description,
                "budget": budget,
                "project": { "id": summary.project_code, "title": summary.name },
                "documents": docs,
            });
        }
        "tender" | "tenderAmendment" | "tenderUpdate" | "tenderCancellation" => {
            let mut tender = json!({
                "id": tender_code,
                "title": entry.title_zh,
                "description": description,
                "documents": docs,
            });
            tender["status"] = json!(if tag == "tenderCancellation" { "cancelled" } else { "active" });
            if let Some(fen) = amount(entry, "最高投标限价") {
                tender["value"] = value(fen);
            }
            if tag == "tender" {
                tender["tenderPeriod"] = json!({ "startDate": occurred });
            }
            if tag == "tenderAmendment" {
                tender["amendments"] = json!([{ "id": entry.event_id, "date": date, "description": entry.summary_zh }]);
            }
            let tenderers: Vec<Value> =
                entry.parties.iter().filter(|o| o.role() == PartyRole::Bidder).map(party_ref).collect();
            if !tenderers.is_empty() {
                tender["numberOfTenderers"] = json!(tenderers.len());
                tender["tenderers"] = json!(tenderers);
            }
            release["tender"] = tender;
        }
        "award" | "awardUpdate" | "awardCancellation" => {
            let mut award = json!({
                "id": award_id,
                "title": entry.title_zh,
                "description": description,
                "date": occurred,
                "status": if tag == "awardCancellation" { "cancelled" } else { "active" },
                "documents": docs,
            });
            let suppliers: Vec<Value> =
                entry.parties.iter().filter(|o| o.role() == PartyRole::Supplier).map(party_ref).collect();
            if !suppliers.is_empty() {
                award["suppliers"] = json!(suppliers);
            }
            if let Some(fen) = lot_amount(entry, "中标价", &lot) {
                award["value"] = value(fen);
            }
            release["awards"] = json!([award]);
        }
        _ => {
            // contract, contractUpdate, contractAmendment, implementation(Update)
            let mut contract = json!({ "id": award_id, "awardID": award_id });
            match tag {
                "contract" | "contractUpdate" => {
                    contract["title"] = json!(entry.title_zh);
                    contract["description"] = json!(description);
                    contract["status"] = json!("active");
                    contract["dateSigned"] = json!(occurred);
                    contract["documents"] = json!(docs);
                    if let Some(fen) = lot_amount(entry, "合同价", &lot) {
                        contract["value"] = value(fen);
                    }
                }
                "contractAmendment" => {
                    contract["amendments"] =
                        json!([{ "id": entry.event_id, "date": occurred, "description": description }]);
                    contract["documents"] = json!(docs);
                }
                _ => {
                    let mut implementation = Map::new();
                    if let Some(fen) = amount(entry, "支付金额") {
                        let mut transaction = json!({ "id": entry.event_id, "date": occurred, "value": value(fen) });
                        if let Some(payee) = entry.parties.iter().find(|o| o.role() == PartyRole::Payee) {
                            transaction["payee"] = party_ref(payee);
                        }
                        implementation.insert("transactions".into(), json!([transaction]));
                    } else {
                        implementation.insert(
                            "milestones".into(),
                            json!([{ "id": entry.event_id, "title": entry.title_zh, "description": description,
                                      "status": "met", "dateMet": occurred }]),
                        );
                    }
                    implementation.insert("documents".into(), json!(docs));
                    contract["implementation"] = Value::Object(implementation);
                }
            }
            release["contracts"] = json!([contract]);
        }
    }
    prune(&mut release);
    release
}

/// The tender codes of a project's public timeline, in first-seen order.
pub fn tender_codes(timeline: &[TimelineEntry]) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for entry in timeline {
        if !entry.tender_code.is_empty() && !codes.contains(&entry.tender_code) {
            codes.push(entry.tender_code.clone());
        }
    }
    codes
}

/// Whether `entry` is released under tender `tender_code`: the tender's own
/// entries, and the project's approval (its `planning` release).
pub fn in_tender(entry: &TimelineEntry, tender_code: &str) -> bool {
    entry.tender_code == tender_code || (entry.tender_code.is_empty() && short(&entry.fact_type) == "ProjectApproved")
}

/// The releases of tender `tender_code` under `prefix`: the approval, then
/// every public entry of the tender, in timeline order.
pub fn releases(
    prefix: &OcidPrefix,
    summary: &ProjectSummary,
    timeline: &[TimelineEntry],
    tender_code: &str,
) -> Vec<Value> {
    timeline
        .iter()
        .filter(|entry| in_tender(entry, tender_code))
        .map(|entry| release(prefix, summary, tender_code, entry))
        .collect()
}

/// A package's `publishedDate` when it is built on demand from `entries`:
/// "the date of the last change to the underlying contents of the package"
/// (OCDS 1.1 and OC4IDS 0.9), the latest time one of them was recorded. So
/// the same data gives the same package, byte for byte, whenever it is asked
/// for (which is what lets the site answer a revalidation with a 304).
pub fn last_change<'a>(entries: impl Iterator<Item = &'a TimelineEntry>) -> DateTime<Utc> {
    entries.map(|entry| utc_or_epoch(entry.recorded_at.as_ref())).max().unwrap_or(DateTime::UNIX_EPOCH)
}

/// An OCDS 1.1 release package of one tender project.
pub fn release_package(uri: &str, base: &str, published: DateTime<Utc>, releases: Vec<Value>) -> Value {
    let mut package = json!({
        "uri": uri,
        "version": "1.1",
        "extensions": [project_extension_url(base)],
        "publishedDate": rfc3339(published),
        "publisher": { "name": PUBLISHER },
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "releases": releases,
    });
    prune(&mut package);
    package
}

/// Where the site at `base` serves the extension that declares
/// `planning.project` (the OCDS Project extension's fields, in a copy the
/// site publishes itself: `services/site/ocds/project-extension`).
pub fn project_extension_url(base: &str) -> String {
    format!("{base}/api/v1/ocds/extensions/project/extension.json")
}

/// The files of that extension, by name.
pub(crate) fn project_extension_file(name: &str) -> Option<&'static str> {
    match name {
        "extension.json" => Some(include_str!("../ocds/project-extension/extension.json")),
        "release-schema.json" => Some(include_str!("../ocds/project-extension/release-schema.json")),
        _ => None,
    }
}

/// Merges `update` into `into` by the OCDS merge rules: objects field by
/// field, arrays of objects with `id` by id, anything else replaced.
fn merge(into: &mut Value, update: &Value) {
    match (into, update) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(source))
            if source.iter().all(|v| v.get("id").is_some()) && target.iter().all(|v| v.get("id").is_some()) =>
        {
            for item in source {
                match target.iter_mut().find(|t| t.get("id") == item.get("id")) {
                    Some(existing) => merge(existing, item),
                    None => target.push(item.clone()),
                }
            }
        }
        (target, source) => *target = source.clone(),
    }
}

/// The compiled release of `releases` (in date order).
pub fn compiled_release(ocid: &str, releases: &[Value]) -> Value {
    let mut compiled = json!({});
    for release in releases {
        merge(&mut compiled, release);
    }
    let date = releases.last().and_then(|r| r.get("date")).cloned().unwrap_or(Value::Null);
    compiled["id"] = json!(format!("{ocid}-compiled"));
    compiled["tag"] = json!(["compiled"]);
    compiled["date"] = date;
    compiled
}

/// An OCDS 1.1 record package of one tender project, releases embedded, with
/// the compiled release.
pub fn record_package(uri: &str, base: &str, published: DateTime<Utc>, ocid: &str, releases: Vec<Value>) -> Value {
    let compiled = compiled_release(ocid, &releases);
    let mut package = json!({
        "uri": uri,
        "version": "1.1",
        "extensions": [project_extension_url(base)],
        "publishedDate": rfc3339(published),
        "publisher": { "name": PUBLISHER },
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "records": [{ "ocid": ocid, "releases": releases, "compiledRelease": compiled }],
    });
    prune(&mut package);
    package
}

/// The OC4IDS project status of a stage (the Stage enum's comments): a
/// project in operation, or handed over with its assets still in use, is in
/// `maintenance`.
fn oc4ids_status(stage: Stage) -> &'static str {
    match stage {
        Stage::Approval => "preparation",
        Stage::Completion => "completion",
        Stage::Operation | Stage::HandedOver => "maintenance",
        Stage::Cancelled => "cancelled",
        _ => "implementation",
    }
}

/// The OC4IDS `sector`s of a project, from its code's industry segment
/// (`II`, a division of GB/T 4754-2017 国民经济行业分类), parent sector
/// first; none for divisions the projectSector codelist has no sector for
/// (mining, manufacturing, building in general (47–50), municipal facilities
/// management (78)), or a code that does not parse.
pub fn sectors(project_code: &str) -> &'static [&'static str] {
    let Some(division) = ProjectCode::parse(project_code).ok().and_then(|code| code.industry.parse::<u8>().ok()) else {
        return &[];
    };
    match division {
        1..=5 => &["economy"],                      // 农、林、牧、渔业
        44 | 45 | 57 => &["energy"],                // 电力热力、燃气；管道运输
        46 | 77 => &["waterAndWaste"],              // 水的生产和供应；生态保护和环境治理
        53 => &["transport", "transport.rail"],     // 铁路运输
        54 => &["transport", "transport.road"],     // 道路运输
        55 => &["transport", "transport.water"],    // 水上运输
        56 => &["transport", "transport.air"],      // 航空运输
        58 => &["transport"],                       // 多式联运和运输代理
        60 | 63..=65 => &["communications"],        // 邮政；电信广电；互联网；信息技术
        76 | 79 => &["naturalResources"],           // 水利管理；土地管理
        83 => &["education"],                       // 教育
        84 | 85 => &["health"],                     // 卫生；社会工作
        86..=90 => &["cultureSportsAndRecreation"], // 文化、体育和娱乐
        91..=93 => &["governance"],                 // 党政机关
        _ => &[],
    }
}

/// The OC4IDS project `type`: a construction project (工程建设项目) builds
/// (the approval does not tell new works from rebuilding, so
/// `construction`); a PPP project by its disclosed operating model: BOT,
/// BOO and BOOT build, ROT rebuilds (`rehabilitation`); TOT, O&M and MC
/// take over existing assets and build nothing, and an undisclosed or other
/// model says nothing, so no type.
pub fn oc4ids_type(summary: &ProjectSummary) -> Option<&'static str> {
    match summary.project_type() {
        ProjectType::Construction => Some("construction"),
        ProjectType::Ppp => match summary.ppp_operating_model() {
            PppOperatingModel::Bot | PppOperatingModel::Boo | PppOperatingModel::Boot => Some("construction"),
            PppOperatingModel::Rot => Some("rehabilitation"),
            PppOperatingModel::Tot
            | PppOperatingModel::Om
            | PppOperatingModel::Mc
            | PppOperatingModel::Other
            | PppOperatingModel::Unspecified => None,
        },
        ProjectType::Unspecified => None,
    }
}

/// A calendar period as an OCDS/OC4IDS period (empty when neither end is known).
fn period(range: &DateRange) -> Value {
    let mut period = Map::new();
    if let Some(start) = &range.start {
        period.insert("startDate".to_owned(), json!(date_time(start)));
    }
    if let Some(end) = &range.end {
        period.insert("endDate".to_owned(), json!(date_time(end)));
    }
    Value::Object(period)
}

/// The OC4IDS `environment` of an EIA approval: an assessment was made, and
/// its category is the kind of document the EIA Law art. 16 asked for
/// (scheme `CN-EIA`: `report`, `reportForm`, `registrationForm`).
fn environment(approval: &EnvironmentalImpactApproved) -> Value {
    let mut environment = json!({ "hasImpactAssessment": true });
    let category = match approval.document_kind() {
        EiaDocumentKind::Report => Some(("report", "环境影响报告书（可能造成重大环境影响）")),
        EiaDocumentKind::ReportForm => Some(("reportForm", "环境影响报告表（可能造成轻度环境影响）")),
        EiaDocumentKind::RegistrationForm => Some(("registrationForm", "环境影响登记表（对环境影响很小）")),
        EiaDocumentKind::Unspecified => None,
    };
    if let Some((id, description)) = category {
        environment["impactCategories"] = json!([{ "scheme": "CN-EIA", "id": id, "description": description }]);
    }
    environment
}

/// A calendar date: `2024-03-01`.
fn day(date: &CalendarDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

/// A calendar date as an OCDS date-time: midnight, Beijing time.
fn date_time(date: &CalendarDate) -> String {
    format!("{}T00:00:00+08:00", day(date))
}

/// Basis points as a percentage: -420 → "-4.20%".
fn percent(bp: i32) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}%", bp.unsigned_abs() / 100, bp.unsigned_abs() % 100)
}

/// OC4IDS `completion`: the final accounts against the approval, once
/// settled (投资节余/超支 and the end date against the plan, in words).
fn completion(summary: &ProjectSummary) -> Option<Value> {
    let final_cost = summary.final_cost_fen?;
    let mut completion = json!({ "finalValue": value(final_cost) });
    if let Some(end) = &summary.current_end_date {
        completion["endDate"] = json!(date_time(end));
    }
    if !summary.final_scope.is_empty() {
        completion["finalScope"] = json!(summary.final_scope);
    }
    if let Some(variance) = summary.investment_variance_fen {
        let share = summary.investment_variance_bp.map_or_else(String::new, |bp| format!("（{}）", percent(bp)));
        let magnitude = gongkai_domain::money::zh(variance.abs());
        completion["finalValueDetails"] = json!(match variance.signum() {
            -1 => format!("投资节余：决算总投资较批复总投资节余 {magnitude}{share}。"),
            1 => format!("投资超支：决算总投资超出批复总投资 {magnitude}{share}。"),
            _ => "决算总投资与批复总投资持平。".to_owned(),
        });
    }
    if let Some(days) = summary.end_date_variance_days {
        completion["endDateDetails"] = json!(match days.signum() {
            1 => format!("实际完工日期比批复计划竣工日期晚 {days} 天。"),
            -1 => format!("实际完工日期比批复计划竣工日期早 {} 天。", days.unsigned_abs()),
            _ => "按批复计划竣工日期完工。".to_owned(),
        });
    }
    Some(completion)
}

/// The contracts of `tender_code` against their signing, into an OC4IDS
/// contracting process summary: value and period as signed, each variation
/// as a modification, a delivery milestone per contract (due on its end date
/// in force, met on its actual completion date), and the final value once
/// every one of them is settled.
fn contract_outcomes(process: &mut Value, summary: &ProjectSummary, tender_code: &str) {
    let outcomes: Vec<&ContractOutcome> =
        summary.contract_outcomes.iter().filter(|outcome| outcome.tender_code == tender_code).collect();
    if outcomes.is_empty() {
        return;
    }
    // Each a sum of a few contracts of one project, within the money bound.
    let signed: i64 = outcomes.iter().map(|outcome| outcome.signed_price_fen).sum();
    process["contractValue"] = value(signed);
    let periods = outcomes.iter().filter_map(|outcome| outcome.signed_period.as_ref());
    let key = |d: &&CalendarDate| (d.year, d.month, d.day);
    let start = periods.clone().filter_map(|period| period.start.as_ref()).min_by_key(key);
    let end = periods.filter_map(|period| period.end.as_ref()).max_by_key(key);
    let mut period = Map::new();
    if let Some(start) = start {
        period.insert("startDate".to_owned(), json!(date_time(start)));
    }
    if let Some(end) = end {
        period.insert("endDate".to_owned(), json!(date_time(end)));
    }
    if !period.is_empty() {
        process["contractPeriod"] = Value::Object(period);
    }
    let settled: Option<Vec<i64>> = outcomes.iter().map(|outcome| outcome.settled_value_fen).collect();
    if let Some(settled) = settled {
        process["finalValue"] = value(settled.iter().sum());
    }
    let modifications: Vec<Value> = outcomes.iter().flat_map(|outcome| modifications(outcome)).collect();
    if !modifications.is_empty() {
        process["modifications"] = json!(modifications);
    }
    let milestones: Vec<Value> = outcomes.iter().filter_map(|outcome| delivery(outcome)).collect();
    if !milestones.is_empty() {
        process["milestones"] = json!(milestones);
    }
}

/// Each disclosed variation of a contract as an OC4IDS modification.
fn modifications(outcome: &ContractOutcome) -> Vec<Value> {
    let mut price = outcome.signed_price_fen;
    let mut end = outcome.signed_period.as_ref().and_then(|period| period.end);
    let start = outcome.signed_period.as_ref().and_then(|period| period.start);
    let period = |end: Option<CalendarDate>| {
        let mut period = Map::new();
        if let Some(start) = &start {
            period.insert("startDate".to_owned(), json!(date_time(start)));
        }
        if let Some(end) = &end {
            period.insert("endDate".to_owned(), json!(date_time(end)));
        }
        Value::Object(period)
    };
    outcome
        .changes
        .iter()
        .map(|change| {
            let mut modification = json!({
                "id": format!("{}-{}", outcome.contract_code, change.variation_number),
                "releaseID": change.event_id,
            });
            if let Some(at) = &change.occurred_at {
                modification["date"] = json!(rfc3339(utc_or_epoch(Some(at))));
            }
            let mut kinds = Vec::new();
            let mut words = Vec::new();
            if change.price_change_fen != 0 {
                kinds.push("value");
                words.push(format!("合同价款变更 {}", gongkai_domain::money::zh(change.price_change_fen)));
                modification["oldContractValue"] = value(price);
                modification["newContractValue"] = value(change.price_after_fen);
            }
            if let Some(new_end) = change.new_end_date {
                kinds.push("duration");
                words.push(format!("合同竣工日期调整为 {}", day(&new_end)));
                modification["oldContractPeriod"] = period(end);
                modification["newContractPeriod"] = period(Some(new_end));
                end = Some(new_end);
            }
            price = change.price_after_fen;
            if kinds.len() == 1 {
                modification["type"] = json!(kinds[0]);
            }
            modification["description"] = json!(if words.is_empty() {
                format!("合同 {} 变更 {}（价款与工期不变）", outcome.contract_code, change.variation_number)
            } else {
                format!("合同 {} 变更 {}：{}。", outcome.contract_code, change.variation_number, words.join("，"))
            });
            modification
        })
        .collect()
}

/// A contract's completion as an OC4IDS delivery milestone: due on its end
/// date in force, met on its actual completion date; none without either.
fn delivery(outcome: &ContractOutcome) -> Option<Value> {
    let due = outcome.current_end_date.as_ref();
    let met = outcome.actual_completion_date.as_ref();
    if due.is_none() && met.is_none() {
        return None;
    }
    let mut milestone = json!({
        "id": format!("{}-completion", outcome.contract_code),
        "title": format!("合同 {} 竣工", outcome.contract_code),
        "type": "delivery",
        "status": if met.is_some() { "met" } else { "scheduled" },
    });
    if let Some(due) = due {
        milestone["dueDate"] = json!(date_time(due));
    }
    if let Some(met) = met {
        milestone["dateMet"] = json!(date_time(met));
    }
    if let Some(days) = outcome.time_variation_days {
        let what = if met.is_some() { "实际竣工" } else { "现约定竣工日期" };
        milestone["description"] = json!(match days.signum() {
            1 => format!("{what}较签约时约定的竣工日期晚 {days} 天"),
            -1 => format!("{what}较签约时约定的竣工日期早 {} 天", days.unsigned_abs()),
            _ => format!("{what}与签约时约定的竣工日期相同"),
        });
    }
    Some(milestone)
}

/// The `gazetteer.scheme` of the region codes in OC4IDS locations: GB/T 2260,
/// which `locationGazetteers` (an open codelist) does not list, named the
/// way org-id names Chinese registers.
pub const REGION_GAZETTEER: &str = "CN-GBT2260";

/// The OC4IDS location of a project in region `code`; see the module docs.
fn location(code: &str) -> Value {
    let place = divisions::place(code);
    let province = divisions::place(code.get(..2).unwrap_or_default());
    let address = match (&place, &province) {
        (Some(place), Some(province)) => {
            let locality = place.full_zh.strip_prefix(province.full_zh.as_str()).unwrap_or_default();
            json!({ "region": province.full_zh, "locality": locality, "countryName": "中国" })
        }
        _ => json!({ "region": code, "countryName": "中国" }),
    };
    json!({
        "id": "1",
        "description": place.map(|place| place.full_zh).unwrap_or_default(),
        "gazetteer": { "scheme": REGION_GAZETTEER, "identifiers": [code] },
        "address": address,
    })
}

/// An OC4IDS 0.9 project package of one project, its contracting processes
/// identified by their ocids under `prefix`.
pub fn project_package(
    uri: &str,
    base: &str,
    prefix: &OcidPrefix,
    published: DateTime<Utc>,
    summary: &ProjectSummary,
    timeline: &[TimelineEntry],
) -> Value {
    let mut project = json!({
        "id": summary.project_code,
        "title": summary.name,
        "status": oc4ids_status(summary.stage()),
        "sector": sectors(&summary.project_code),
        "updated": rfc3339(utc_or_epoch(summary.last_event_at.as_ref())),
        "locations": [location(&summary.region_code)],
        "parties": parties(timeline.iter(), summary.owner.as_ref()),
    });
    if let Some(owner) = &summary.owner {
        project["publicAuthority"] = party_ref(owner);
    }
    if let Some(kind) = oc4ids_type(summary) {
        project["type"] = json!(kind);
    }
    if let Some(planned) = &summary.baseline_planned_period {
        project["period"] = period(planned);
    }
    if summary.baseline_investment_fen > 0 {
        project["budget"] = json!({ "amount": value(summary.baseline_investment_fen) });
    }
    if let Some(completion) = completion(summary) {
        project["completion"] = completion;
    }
    if let Some(approval) = timeline.iter().find(|e| short(&e.fact_type) == "ProjectApproved") {
        project["description"] = json!(approval.summary_zh);
    }
    if let Some(fen) = summary.land.as_ref().map(|land| land.compensation_budget_fen).filter(|fen| *fen > 0) {
        project["social"] = json!({ "landCompensationBudget": value(fen) });
    }
    if let Some(approval) = &summary.environmental_approval {
        project["environment"] = environment(approval);
    }
    // The project's own documents: those of the facts that belong to no
    // tender (approval, PPP details, land, EIA, completion), as in force.
    let documents: Vec<Value> = timeline
        .iter()
        .filter(|e| e.tender_code.is_empty() && e.superseded_by_event_id.is_empty())
        .flat_map(documents)
        .collect();
    if !documents.is_empty() {
        project["documents"] = json!(documents);
    }
    let processes: Vec<Value> = tender_codes(timeline)
        .iter()
        .map(|tender_code| {
            let entries: Vec<&TimelineEntry> = timeline.iter().filter(|e| &e.tender_code == tender_code).collect();
            let title = entries.first().map(|e| e.title_zh.clone()).unwrap_or_default();
            let ocid = prefix.ocid(&summary.project_code, tender_code);
            let mut process_summary = json!({
                "ocid": ocid,
                "title": title,
                "externalReference": tender_code,
            });
            contract_outcomes(&mut process_summary, summary, tender_code);
            json!({
                "id": ocid,
                "summary": process_summary,
                "releases": entries.iter().map(|e| {
                    let (tag, correction_tag) = tags(&e.fact_type);
                    json!({
                        "id": e.event_id,
                        "tag": [if e.supersedes_event_id.is_empty() { tag } else { correction_tag }],
                        "date": rfc3339(utc_or_epoch(e.recorded_at.as_ref())),
                        "url": format!(
                            "{base}/api/v1/projects/{}/ocds/{}/releases",
                            summary.project_code,
                            crate::home::encode(tender_code)
                        ),
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    project["contractingProcesses"] = json!(processes);
    let mut package = json!({
        "uri": uri,
        "version": "0.9",
        "publishedDate": rfc3339(published),
        "publisher": { "name": PUBLISHER },
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "projects": [project],
    });
    prune(&mut package);
    package
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocids_name_the_project_and_the_tender_under_a_registered_looking_prefix() {
        let prefix = OcidPrefix::default();
        assert_eq!(prefix.as_str(), "ocds-gkcn01");
        let ocid = prefix.ocid("2024-230113-77-01-000020", "2024-230113-T1");
        assert_eq!(ocid, "ocds-gkcn01-2024-230113-77-01-000020-2024-230113-T1");
        assert_ne!(ocid, prefix.ocid("2024-230113-77-01-000021", "2024-230113-T1"), "one tender code, two projects");
        assert_eq!("ocds-a1b2c3".parse::<OcidPrefix>().map(|p| p.ocid("P", "T")), Ok("ocds-a1b2c3-P-T".to_owned()));
        for bad in [
            "",
            "gkcn01",
            "ocds-",
            "ocds-GKCN01",
            "ocds-gkcn0",
            "ocds-gkcn012",
            "ocds_gkcn01",
            "ocds-gk cn1",
            "ocds-\u{4e00}\u{4e00}",
        ] {
            assert!(OcidPrefix::new(bad).is_err(), "{bad:?} is no ocid prefix");
        }
    }

    #[test]
    fn pruning_drops_what_carries_nothing_however_deep() {
        let mut value = json!({
            "keep": { "n": 0, "b": false, "s": "x", "a": [1] },
            "empty": { "a": [], "o": {}, "s": "", "blank": " \u{3000}\n", "null": null, "sep": "\u{1f}" },
            "list": [[], {}, "", { "only": [] }, "y"],
            "documents": [],
        });
        prune(&mut value);
        assert_eq!(value, json!({ "keep": { "n": 0, "b": false, "s": "x", "a": [1] }, "list": ["y"] }));
        let mut nothing = json!({ "a": { "b": [{}] } });
        prune(&mut nothing);
        assert_eq!(nothing, json!({}));
    }

    #[test]
    fn sectors_come_from_the_industry_segment_of_the_project_code() {
        assert_eq!(sectors("2024-230113-77-01-000020"), ["waterAndWaste"]);
        assert_eq!(sectors("2024-230113-54-01-000020"), ["transport", "transport.road"]);
        assert_eq!(sectors("2024-230113-83-02-000020"), ["education"]);
        assert!(sectors("2017-230113-48-01-012345").is_empty(), "civil engineering in general: no sector");
        assert!(sectors("not a code").is_empty());
    }

    #[test]
    fn the_type_follows_the_project_type_and_the_ppp_operating_model() {
        let mut summary = ProjectSummary { project_type: ProjectType::Construction as i32, ..Default::default() };
        assert_eq!(oc4ids_type(&summary), Some("construction"));
        summary.project_type = ProjectType::Ppp as i32;
        assert_eq!(oc4ids_type(&summary), None, "no operating model disclosed yet");
        for (model, kind) in [
            (PppOperatingModel::Bot, Some("construction")),
            (PppOperatingModel::Boot, Some("construction")),
            (PppOperatingModel::Rot, Some("rehabilitation")),
            (PppOperatingModel::Tot, None),
            (PppOperatingModel::Om, None),
        ] {
            summary.ppp_operating_model = model as i32;
            assert_eq!(oc4ids_type(&summary), kind, "{model:?}");
        }
    }

    #[test]
    fn a_project_with_only_its_approval_exports_no_empty_array() {
        let summary = ProjectSummary {
            project_code: "2024-230113-77-01-000020".into(),
            name: "污水处理厂".into(),
            stage: Stage::Approval as i32,
            baseline_planned_period: Some(DateRange {
                start: Some(CalendarDate { year: 2024, month: 6, day: 1 }),
                end: None,
            }),
            ..Default::default()
        };
        let package =
            project_package("https://x/o", "https://x", &OcidPrefix::default(), DateTime::UNIX_EPOCH, &summary, &[]);
        let project = &package["projects"][0];
        assert!(project.get("contractingProcesses").is_none() && project.get("parties").is_none(), "{project:#}");
        assert_eq!(project["period"], json!({ "startDate": "2024-06-01T00:00:00+08:00" }));
        assert_eq!(project["status"], "preparation");
    }
}

//! Plain-language titles and summaries of every fact kind, Chinese first,
//! with the amounts, parties, people and documents an entry shows.
//!
//! Everything here works on the fact it is given: for the public view that is
//! the redacted copy from `policy`, so nothing withheld can appear. `withheld`
//! only lets the text say that something is not yet public, never what.

use gongkai_domain::ProjectState;
use gongkai_proto::v1::fact::Kind;
use gongkai_proto::v1::{
    AcceptanceResult, ApprovalKind, Bid, Candidate, DocumentRef, LabeledAmount, LegalClock, Organization, PartyRole,
    Person, ProcurementMethod, QualificationMode,
};

use super::format::{
    Labels, change_en, change_zh, count_en, date_en, date_zh, day_en, day_zh, instant_en, instant_zh, lots_en, lots_zh,
    money_en, money_zh, naive, names_en, names_zh, org_en, org_zh, percent,
};
use prost_types::Timestamp;

/// What one fact renders to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rendered {
    pub(crate) title_zh: String,
    pub(crate) title_en: String,
    pub(crate) summary_zh: String,
    pub(crate) summary_en: String,
    pub(crate) amounts: Vec<LabeledAmount>,
    pub(crate) parties: Vec<Organization>,
    pub(crate) people: Vec<Person>,
    pub(crate) documents: Vec<DocumentRef>,
    pub(crate) tender_code: String,
    pub(crate) lot_codes: Vec<String>,
    pub(crate) clocks: Vec<LegalClock>,
}

/// Accumulates one entry's text and attachments.
struct Out<'a> {
    rendered: Rendered,
    zh: Vec<String>,
    en: Vec<String>,
    withheld: &'a [String],
}

impl Out<'_> {
    fn title(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.rendered.title_zh = zh.into();
        self.rendered.title_en = en.into();
    }

    /// One sentence in each language (the Chinese ends with "。", the English with ".").
    fn say(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.zh.push(zh.into());
        self.en.push(en.into());
    }

    fn amount(&mut self, zh: impl Into<String>, en: impl Into<String>, fen: i64, lot_code: &str) {
        self.rendered.amounts.push(LabeledAmount {
            label_zh: zh.into(),
            label_en: en.into(),
            amount_fen: fen,
            lot_code: lot_code.to_owned(),
        });
    }

    /// Names `org` as a party, with `role` unless it states its own.
    fn party(&mut self, org: Option<&Organization>, role: PartyRole) {
        let Some(org) = org else { return };
        let mut org = org.clone();
        if org.role == PartyRole::Unspecified as i32 {
            org.role = role as i32;
        }
        if !self.rendered.parties.contains(&org) {
            self.rendered.parties.push(org);
        }
    }

    fn parties<'o>(&mut self, orgs: impl IntoIterator<Item = &'o Organization>, role: PartyRole) {
        for org in orgs {
            self.party(Some(org), role);
        }
    }

    fn person(&mut self, person: Option<&Person>) {
        if let Some(person) = person {
            self.rendered.people.push(person.clone());
        }
    }

    fn withheld(&self, path: &str) -> bool {
        self.withheld.iter().any(|p| p == path)
    }

    fn scope(&mut self, tender_code: &str, lot_codes: &[String]) {
        self.rendered.tender_code = tender_code.to_owned();
        self.rendered.lot_codes = lot_codes.to_vec();
    }

    fn finish(mut self, documents: &[DocumentRef]) -> Rendered {
        self.rendered.summary_zh = self.zh.concat();
        self.rendered.summary_en = self.en.join(" ");
        self.rendered.documents = documents.to_vec();
        self.rendered
    }
}

/// Adds a legal clock ending at `ends_at`, when set.
fn clock(out: &mut Out<'_>, kind: &str, (label_zh, label_en): (&str, &str), ends_at: Option<Timestamp>, lot: &str) {
    if let Some(ends_at) = ends_at {
        out.rendered.clocks.push(LegalClock {
            kind: kind.to_owned(),
            label_zh: label_zh.to_owned(),
            label_en: label_en.to_owned(),
            ends_at: Some(ends_at),
            lot_code: lot.to_owned(),
        });
    }
}

/// Renders `kind`; `withheld` lists the paths the policy cleared from it.
pub(crate) fn fact(kind: &Kind, state: &ProjectState, withheld: &[String]) -> Rendered {
    let mut out = Out { rendered: Rendered::default(), zh: Vec::new(), en: Vec::new(), withheld };
    let documents = match kind {
        Kind::ProjectApproved(f) => {
            let (kind_zh, _) = f.approval_kind().labels();
            let (type_zh, type_en) = f.project_type().labels();
            out.title(
                format!("项目{kind_zh}：{}", f.project_name),
                format!("Project {}: {}", approval_title_en(f.approval_kind()), f.project_name),
            );
            let authority = org_zh(f.approving_authority.as_ref());
            let what = format!("{}（{type_zh}，{}）", f.project_name, f.industry);
            let decision = match f.approval_kind() {
                ApprovalKind::Filing => format!("{authority}以{}对{what}予以备案", f.approval_document_number),
                ApprovalKind::Ratification => format!("{authority}以{}核准{what}", f.approval_document_number),
                _ => format!("{authority}以{}批复{what}", f.approval_document_number),
            };
            out.say(
                format!("{decision}，项目法人为{}。", org_zh(f.owner.as_ref())),
                format!(
                    "{} {} this {type_en} ({}; industry: {}); owner: {}.",
                    org_en(f.approving_authority.as_ref()),
                    approval_verb_en(f.approval_kind()),
                    f.approval_document_number,
                    f.industry,
                    org_en(f.owner.as_ref()),
                ),
            );
            let sources_zh: Vec<&str> = f.funding_sources().map(|s| s.labels().0).collect();
            let sources_en: Vec<&str> = f.funding_sources().map(|s| s.labels().1).collect();
            out.say(
                format!("批复总投资{}，资金来源：{}。", money_zh(f.total_investment_fen), sources_zh.join("、")),
                format!(
                    "Approved total investment {}, funded by {}.",
                    money_en(f.total_investment_fen),
                    sources_en.join(", ")
                ),
            );
            if !f.funding_description.is_empty() {
                out.say(
                    format!("资金说明：{}。", trim_stop(&f.funding_description)),
                    format!("Funding: {}.", trim_stop(&f.funding_description)),
                );
            }
            if let Some(period) = &f.planned_period {
                out.say(
                    format!("计划建设期{}至{}。", date_zh(period.start.as_ref()), date_zh(period.end.as_ref())),
                    format!(
                        "Planned construction period {} to {}.",
                        date_en(period.start.as_ref()),
                        date_en(period.end.as_ref())
                    ),
                );
            }
            if let Some(location) = f.location.as_ref().filter(|l| !l.address.is_empty()) {
                out.say(format!("建设地点：{}。", location.address), format!("Site: {}.", location.address));
            }
            out.say(
                format!("建设内容：{}。", trim_stop(&f.scope_description)),
                format!("Scope: {}.", f.scope_description),
            );
            out.amount("批复总投资", "Approved total investment", f.total_investment_fen, "");
            out.party(f.approving_authority.as_ref(), PartyRole::ApprovingAuthority);
            out.party(f.owner.as_ref(), PartyRole::Owner);
            &f.documents
        }
        Kind::PppDetailsDisclosed(f) => {
            let (model_zh, model_en) = f.operating_model().labels();
            let (period_zh, period_adj_en, period_en) = months(f.cooperation_period_months);
            out.title(
                format!("PPP项目信息公开：{model_zh}，合作期{period_zh}"),
                format!("PPP details disclosed: {model_en}, {period_adj_en} cooperation period"),
            );
            let (pay_zh, pay_en) = f.payment_mechanism().labels();
            out.say(
                format!("运作方式{model_zh}，合作期限{period_zh}，回报机制为{pay_zh}。"),
                format!("Operating model {model_en}, cooperation period of {period_en}, payment mechanism: {pay_en}."),
            );
            if !f.operating_model_description.is_empty() {
                out.say(
                    format!("运作方式说明：{}。", trim_stop(&f.operating_model_description)),
                    format!("Model description: {}.", f.operating_model_description),
                );
            }
            let (vfm_zh, vfm_en) = f.value_for_money_conclusion().labels();
            let (fa_zh, fa_en) = f.fiscal_affordability_conclusion().labels();
            out.say(
                format!(
                    "物有所值评价{vfm_zh}（{}）；财政承受能力论证{fa_zh}（{}）。",
                    trim_stop(&f.value_for_money_summary),
                    trim_stop(&f.fiscal_affordability_summary)
                ),
                format!(
                    "Value-for-money evaluation {vfm_en} ({}); fiscal affordability assessment {fa_en} ({}).",
                    f.value_for_money_summary, f.fiscal_affordability_summary
                ),
            );
            out.say(
                format!(
                    "PPP项目支出占一般公共预算支出比例{}，政府出资代表持股{}。",
                    percent(f.general_budget_share_bp.into()),
                    percent(f.government_equity_share_bp.into())
                ),
                format!(
                    "PPP spending takes {} of the general public budget; government equity share {}.",
                    percent(f.general_budget_share_bp.into()),
                    percent(f.government_equity_share_bp.into())
                ),
            );
            &f.documents
        }
        Kind::ProjectSuspended(f) => {
            status_change(&mut out, ("项目暂停", "Project suspended"), &f.reason, f.decided_by.as_ref());
            &f.documents
        }
        Kind::ProjectResumed(f) => {
            status_change(&mut out, ("项目恢复", "Project resumed"), &f.reason, f.decided_by.as_ref());
            &f.documents
        }
        Kind::ProjectCancelled(f) => {
            status_change(&mut out, ("项目撤销", "Project cancelled"), &f.reason, f.decided_by.as_ref());
            &f.documents
        }
        Kind::TenderAnnounced(f) => {
            let lot_codes: Vec<String> = f.lots.iter().map(|lot| lot.lot_code.clone()).collect();
            out.scope(&f.tender_code, &lot_codes);
            let invited = f.method() == ProcurementMethod::Invited;
            let (notice_zh, notice_en) =
                if invited { ("投标邀请", "Invitation to tender") } else { ("招标公告", "Tender notice") };
            out.title(
                format!("{notice_zh}：{}（{}个标段）", f.name, f.lots.len()),
                format!("{notice_en}: {} ({})", f.name, count_en(f.lots.len(), "lot")),
            );
            let (method_zh, method_en) = f.method().labels();
            let (category_zh, category_en) = f.category().labels();
            let (qual_zh, qual_en) = f.qualification_mode().labels();
            out.say(
                format!(
                    "{}以{method_zh}方式采购（{category_zh}，{qual_zh}），招标项目编号{}，交易标识码{}。",
                    org_zh(f.tenderee.as_ref()),
                    f.tender_code,
                    f.unified_deal_code
                ),
                format!(
                    "{} procures {category_en} by {method_en} ({qual_en}), tender code {}, deal code {}.",
                    org_en(f.tenderee.as_ref()),
                    f.tender_code,
                    f.unified_deal_code
                ),
            );
            if let Some(agent) = &f.tender_agent {
                out.say(format!("招标代理机构：{}。", agent.name), format!("Tender agent: {}.", agent.name));
            }
            let mut lots_zh = Vec::new();
            let mut lots_en = Vec::new();
            for lot in &f.lots {
                match lot.ceiling_price_fen {
                    Some(ceiling) => {
                        lots_zh.push(format!("{}（{}，最高投标限价{}）", lot.lot_code, lot.name, money_zh(ceiling)));
                        lots_en.push(format!("{} ({}, ceiling price {})", lot.lot_code, lot.name, money_en(ceiling)));
                        out.amount("最高投标限价", "Ceiling price", ceiling, &lot.lot_code);
                    }
                    None => {
                        lots_zh.push(format!("{}（{}）", lot.lot_code, lot.name));
                        lots_en.push(format!("{} ({})", lot.lot_code, lot.name));
                    }
                }
                if lot.estimated_value_fen > 0 {
                    out.amount("估算价", "Estimated value", lot.estimated_value_fen, &lot.lot_code);
                }
            }
            out.say(format!("标段：{}。", lots_zh.join("；")), format!("Lots: {}.", lots_en.join("; ")));
            if let Some(sale) = &f.document_sale_period {
                out.say(
                    format!("招标文件发售期{}至{}。", instant_zh(sale.start.as_ref()), instant_zh(sale.end.as_ref())),
                    format!(
                        "Tender documents on sale from {} to {}.",
                        instant_en(sale.start.as_ref()),
                        instant_en(sale.end.as_ref())
                    ),
                );
            }
            if f.qualification_mode() == QualificationMode::Prequalification {
                out.say(
                    format!("资格预审申请截止时间{}。", instant_zh(f.prequalification_deadline.as_ref())),
                    format!(
                        "Prequalification applications close at {}.",
                        instant_en(f.prequalification_deadline.as_ref())
                    ),
                );
            }
            out.say(
                format!(
                    "投标截止时间{}，开标时间{}，开标地点{}。",
                    instant_zh(f.bid_deadline.as_ref()),
                    instant_zh(f.bid_opening_at.as_ref()),
                    f.bid_opening_place
                ),
                format!(
                    "Bids close at {}; bid opening at {}, {}.",
                    instant_en(f.bid_deadline.as_ref()),
                    instant_en(f.bid_opening_at.as_ref()),
                    f.bid_opening_place
                ),
            );
            clock(&mut out, "bid_deadline", ("投标截止", "Bid deadline"), f.bid_deadline, "");
            if f.bid_security_fen > 0 {
                out.say(
                    format!("投标保证金{}。", money_zh(f.bid_security_fen)),
                    format!("Bid security {}.", money_en(f.bid_security_fen)),
                );
                out.amount("投标保证金", "Bid security", f.bid_security_fen, "");
            }
            if !f.retender_of.is_empty() {
                out.say(
                    format!("本次为招标项目{}的重新招标。", f.retender_of),
                    format!("This re-tenders {}.", f.retender_of),
                );
            }
            if !f.invited_bidders.is_empty() {
                out.say(
                    format!("受邀投标人{}家：{}。", f.invited_bidders.len(), names_zh(&f.invited_bidders)),
                    format!(
                        "{} invited: {}.",
                        count_en(f.invited_bidders.len(), "bidder"),
                        names_en(&f.invited_bidders)
                    ),
                );
            } else if out.withheld("invited_bidders") {
                out.say(
                    "受邀投标人名称及数量依法于开标后公开。",
                    "The invited bidders' names and number are made public at bid opening.",
                );
            }
            out.party(f.tenderee.as_ref(), PartyRole::Tenderee);
            out.party(f.tender_agent.as_ref(), PartyRole::TenderAgent);
            out.parties(&f.invited_bidders, PartyRole::Bidder);
            &f.documents
        }
        Kind::TenderAmended(f) => {
            out.scope(&f.tender_code, &f.lot_codes);
            let (kind_zh, kind_en) = f.kind().labels();
            let tender = tender_name(state, &f.tender_code);
            out.title(format!("招标文件{kind_zh}：{tender}"), format!("Tender {kind_en}: {tender}"));
            out.say(
                format!("{}（涉及{}）。", trim_stop(&f.summary), lots_zh(&f.lot_codes)),
                format!("{} (concerns {}).", f.summary, lots_en(&f.lot_codes)),
            );
            if f.affects_bid_preparation {
                out.say("该澄清或修改可能影响投标文件编制。", "The change may affect the preparation of bids.");
            }
            if f.new_bid_deadline.is_some() {
                out.say(
                    format!("投标截止时间调整为{}。", instant_zh(f.new_bid_deadline.as_ref())),
                    format!("The bid deadline moves to {}.", instant_en(f.new_bid_deadline.as_ref())),
                );
                clock(&mut out, "bid_deadline", ("投标截止", "Bid deadline"), f.new_bid_deadline, "");
            }
            if let Some(opening) = f.new_bid_opening_at.as_ref().filter(|_| f.new_bid_opening_at != f.new_bid_deadline)
            {
                out.say(
                    format!("开标时间调整为{}。", instant_zh(Some(opening))),
                    format!("Bid opening moves to {}.", instant_en(Some(opening))),
                );
            }
            &f.documents
        }
        Kind::TenderSuspended(f) => {
            out.scope(&f.tender_code, &f.lot_codes);
            tender_status(&mut out, state, ("招标暂停", "Tender suspended"), &f.tender_code, &f.lot_codes, &f.reason);
            &f.documents
        }
        Kind::TenderResumed(f) => {
            out.scope(&f.tender_code, &f.lot_codes);
            tender_status(&mut out, state, ("招标恢复", "Tender resumed"), &f.tender_code, &f.lot_codes, &f.reason);
            if f.new_bid_deadline.is_some() {
                out.say(
                    format!("投标截止时间调整为{}。", instant_zh(f.new_bid_deadline.as_ref())),
                    format!("The bid deadline moves to {}.", instant_en(f.new_bid_deadline.as_ref())),
                );
            }
            &f.documents
        }
        Kind::TenderCancelled(f) => {
            out.scope(&f.tender_code, &f.lot_codes);
            tender_status(&mut out, state, ("终止招标", "Tender cancelled"), &f.tender_code, &f.lot_codes, &f.reason);
            &f.documents
        }
        Kind::BidsOpened(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            let n = f.bids.len();
            out.title(
                format!("开标：{}标段 {n}家投标人", f.lot_code),
                format!("Bid opening: lot {}, {}", f.lot_code, count_en(n, "bidder")),
            );
            out.say(
                format!(
                    "{}{}于{}在{}开标。",
                    tender_name(state, &f.tender_code),
                    lot_label_zh(state, &f.tender_code, &f.lot_code),
                    instant_zh(f.opened_at.as_ref()),
                    f.place
                ),
                format!(
                    "Bids for lot {} of {} were opened at {}, {}.",
                    f.lot_code,
                    tender_name(state, &f.tender_code),
                    instant_en(f.opened_at.as_ref()),
                    f.place
                ),
            );
            if f.bids.is_empty() {
                out.say("无人投标。", "No bids were received.");
            } else {
                let zh: Vec<String> = f.bids.iter().map(bid_zh).collect();
                let en: Vec<String> = f.bids.iter().map(bid_en).collect();
                out.say(
                    format!("共{n}家投标：{}。", zh.join("；")),
                    format!("{}: {}.", count_en(n, "bid"), en.join("; ")),
                );
            }
            for bid in &f.bids {
                let name = org_zh(bid.bidder.as_ref());
                out.amount(
                    format!("投标报价（{name}）"),
                    format!("Bid price ({})", org_en(bid.bidder.as_ref())),
                    bid.price_fen,
                    &f.lot_code,
                );
                out.party(bid.bidder.as_ref(), PartyRole::Bidder);
                out.parties(&bid.consortium_members, PartyRole::ConsortiumMember);
            }
            &f.documents
        }
        Kind::PrequalificationCompleted(f) => {
            out.scope(&f.tender_code, &f.lot_codes);
            let tender = tender_name(state, &f.tender_code);
            let hidden = out.withheld("qualified_applicants") || out.withheld("disqualified_applicants");
            if hidden {
                out.title(format!("资格预审结果：{tender}"), format!("Prequalification result: {tender}"));
            } else {
                out.title(
                    format!("资格预审结果：{tender}（通过{}家）", f.qualified_applicants.len()),
                    format!(
                        "Prequalification result: {tender} ({} qualified)",
                        count_en(f.qualified_applicants.len(), "applicant")
                    ),
                );
            }
            if let Some(period) = &f.application_period {
                out.say(
                    format!(
                        "资格预审（{}）申请期{}至{}。",
                        lots_zh(&f.lot_codes),
                        instant_zh(period.start.as_ref()),
                        instant_zh(period.end.as_ref())
                    ),
                    format!(
                        "Prequalification for {}: applications from {} to {}.",
                        lots_en(&f.lot_codes),
                        instant_en(period.start.as_ref()),
                        instant_en(period.end.as_ref())
                    ),
                );
            }
            if hidden {
                out.say(
                    "申请人名称及数量依法于开标后公开。",
                    "The applicants' names and number are made public at bid opening.",
                );
            } else {
                out.say(
                    format!("通过资格预审的申请人：{}。", none_zh(names_zh(&f.qualified_applicants))),
                    format!("Qualified applicants: {}.", none_en(names_en(&f.qualified_applicants))),
                );
                if !f.disqualified_applicants.is_empty() {
                    let zh: Vec<String> = f
                        .disqualified_applicants
                        .iter()
                        .map(|d| format!("{}（{}）", org_zh(d.applicant.as_ref()), trim_stop(&d.reason)))
                        .collect();
                    let en: Vec<String> = f
                        .disqualified_applicants
                        .iter()
                        .map(|d| format!("{} ({})", org_en(d.applicant.as_ref()), d.reason))
                        .collect();
                    out.say(format!("未通过：{}。", zh.join("；")), format!("Not qualified: {}.", en.join("; ")));
                }
            }
            out.parties(&f.qualified_applicants, PartyRole::Bidder);
            out.parties(f.disqualified_applicants.iter().filter_map(|d| d.applicant.as_ref()), PartyRole::Bidder);
            &f.documents
        }
        Kind::BidsEvaluated(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            match f.candidates.iter().min_by_key(|c| c.rank) {
                Some(first) => out.title(
                    format!("评标完成：{}标段 第一中标候选人{}", f.lot_code, org_zh(first.bidder.as_ref())),
                    format!(
                        "Evaluation completed: lot {}, first-ranked candidate {}",
                        f.lot_code,
                        org_en(first.bidder.as_ref())
                    ),
                ),
                None => out.title(
                    format!("评标完成：{}标段 无中标候选人", f.lot_code),
                    format!("Evaluation completed: lot {}, no candidate", f.lot_code),
                ),
            }
            let (method_zh, method_en) = f.evaluation_method().labels();
            out.say(
                format!(
                    "{}评标报告于{}完成，评标办法：{method_zh}，有效投标{}家。",
                    lot_label_zh(state, &f.tender_code, &f.lot_code),
                    instant_zh(f.completed_at.as_ref()),
                    f.valid_bid_count
                ),
                format!(
                    "The evaluation report for lot {} was completed at {} (method: {method_en}); {} valid.",
                    f.lot_code,
                    instant_en(f.completed_at.as_ref()),
                    count_en(usize::try_from(f.valid_bid_count).unwrap_or(0), "bid")
                ),
            );
            candidates(&mut out, &f.candidates, &f.lot_code);
            if !f.rejected_bids.is_empty() {
                let zh: Vec<String> = f
                    .rejected_bids
                    .iter()
                    .map(|r| format!("{}（{}）", org_zh(r.bidder.as_ref()), trim_stop(&r.reason)))
                    .collect();
                let en: Vec<String> =
                    f.rejected_bids.iter().map(|r| format!("{} ({})", org_en(r.bidder.as_ref()), r.reason)).collect();
                out.say(format!("否决投标：{}。", zh.join("；")), format!("Rejected bids: {}.", en.join("; ")));
                out.parties(f.rejected_bids.iter().filter_map(|r| r.bidder.as_ref()), PartyRole::Bidder);
            }
            if !f.committee_members.is_empty() {
                let names: Vec<&str> = f.committee_members.iter().map(|p| p.name.as_str()).collect();
                out.say(
                    format!("评标委员会成员：{}。", names.join("、")),
                    format!("Evaluation committee: {}.", names.join(", ")),
                );
                for member in &f.committee_members {
                    out.person(Some(member));
                }
            } else if out.withheld("committee_members") {
                out.say(
                    "评标委员会成员名单依法于中标结果公告后公开。",
                    "The evaluation committee is made public with the award result.",
                );
            }
            &f.documents
        }
        Kind::CandidatesPublicized(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            out.title(
                format!("中标候选人公示：{}标段", f.lot_code),
                format!("Candidate publicity: lot {}", f.lot_code),
            );
            if let Some(period) = &f.publicity_period {
                out.say(
                    format!(
                        "{}中标候选人公示期{}至{}，公示期内可依法提出异议。",
                        lot_label_zh(state, &f.tender_code, &f.lot_code),
                        instant_zh(period.start.as_ref()),
                        instant_zh(period.end.as_ref())
                    ),
                    format!(
                        "The candidates for lot {} are publicized from {} to {}; objections may be raised meanwhile.",
                        f.lot_code,
                        instant_en(period.start.as_ref()),
                        instant_en(period.end.as_ref())
                    ),
                );
            }
            let ends_at = f.publicity_period.as_ref().and_then(|period| period.end);
            clock(&mut out, "candidate_publicity", ("中标候选人公示期", "Candidate publicity"), ends_at, &f.lot_code);
            candidates(&mut out, &f.candidates, &f.lot_code);
            &f.documents
        }
        Kind::ObjectionRaised(f) => {
            let lots = lot_list(&f.lot_code);
            out.scope(&f.tender_code, &lots);
            let tender = tender_name(state, &f.tender_code);
            out.title(
                format!("异议：{tender}{}", lot_suffix_zh(&f.lot_code)),
                format!("Objection: {tender}{}", lot_suffix_en(&f.lot_code)),
            );
            let (stage_zh, stage_en) = f.stage().labels();
            let (who_zh, who_en) = match &f.objector {
                Some(o) => (o.name.clone(), o.name.clone()),
                None if out.withheld("objector") => (
                    "一潜在投标人（名称依法于开标后公开）".to_owned(),
                    "A potential bidder (named at bid opening)".to_owned(),
                ),
                None => ("异议人".to_owned(), "An objector".to_owned()),
            };
            out.say(
                format!(
                    "{who_zh}于{}提出异议（{stage_zh}）：{}。",
                    instant_zh(f.received_at.as_ref()),
                    trim_stop(&f.subject)
                ),
                format!("{who_en} objected on {} ({stage_en}): {}.", instant_en(f.received_at.as_ref()), f.subject),
            );
            if f.answer.is_empty() {
                out.say("招标人尚未答复。", "The tenderee has not answered yet.");
            } else {
                out.say(
                    format!("招标人于{}答复：{}。", instant_zh(f.answered_at.as_ref()), trim_stop(&f.answer)),
                    format!("The tenderee answered on {}: {}.", instant_en(f.answered_at.as_ref()), f.answer),
                );
            }
            out.party(f.objector.as_ref(), PartyRole::Objector);
            &f.documents
        }
        Kind::ComplaintFiled(f) => {
            let lots = lot_list(&f.lot_code);
            out.scope(&f.tender_code, &lots);
            let tender = tender_name(state, &f.tender_code);
            out.title(
                format!("投诉：{tender}{}", lot_suffix_zh(&f.lot_code)),
                format!("Complaint: {tender}{}", lot_suffix_en(&f.lot_code)),
            );
            let (who_zh, who_en) = match &f.complainant {
                Some(o) => (o.name.clone(), o.name.clone()),
                None if out.withheld("complainant") => (
                    "一潜在投标人（名称依法于开标后公开）".to_owned(),
                    "A potential bidder (named at bid opening)".to_owned(),
                ),
                None => ("投诉人".to_owned(), "A complainant".to_owned()),
            };
            out.say(
                format!(
                    "{who_zh}向{}投诉（{}受理）：{}。",
                    org_zh(f.authority.as_ref()),
                    instant_zh(f.received_at.as_ref()),
                    trim_stop(&f.subject)
                ),
                format!(
                    "{who_en} complained to {} (received {}): {}.",
                    org_en(f.authority.as_ref()),
                    instant_en(f.received_at.as_ref()),
                    f.subject
                ),
            );
            if !f.details.is_empty() {
                out.say(format!("投诉详情：{}。", trim_stop(&f.details)), format!("Details: {}.", f.details));
            } else if out.withheld("details") {
                out.say(
                    "投诉详情可能涉及商业秘密，不予公开。",
                    "The complaint's details may contain trade secrets and are not public.",
                );
            }
            if !f.objection_event_id.is_empty() {
                out.say(
                    format!("此前已提出异议（事件{}）。", f.objection_event_id),
                    format!("It follows objection event {}.", f.objection_event_id),
                );
            }
            out.party(f.complainant.as_ref(), PartyRole::Objector);
            out.party(f.authority.as_ref(), PartyRole::SupervisingAuthority);
            &f.documents
        }
        Kind::ComplaintDecided(f) => {
            if let Some(complaint) = state.complaint(&f.complaint_event_id) {
                out.scope(&complaint.tender_code, &lot_list(&complaint.lot_code));
            }
            let (outcome_zh, outcome_en) = f.outcome().labels();
            out.title(format!("投诉处理决定：{outcome_zh}"), format!("Complaint decided: {outcome_en}"));
            out.say(
                format!("{}作出投诉处理决定：{outcome_zh}。", instant_zh(f.decided_at.as_ref())),
                format!("On {} the complaint was decided: {outcome_en}.", instant_en(f.decided_at.as_ref())),
            );
            out.say(format!("{}。", trim_stop(&f.decision_summary)), f.decision_summary.clone());
            &f.documents
        }
        Kind::AwardAnnounced(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            let winner_zh = org_zh(f.winner.as_ref());
            let winner_en = org_en(f.winner.as_ref());
            out.title(
                format!("中标结果公告：{}标段 {winner_zh}，{}", f.lot_code, money_zh(f.award_price_fen)),
                format!("Award: lot {} to {winner_en} at {}", f.lot_code, money_en(f.award_price_fen)),
            );
            out.say(
                format!(
                    "{}公告{}中标人为{winner_zh}，中标价{}。",
                    instant_zh(f.announced_at.as_ref()),
                    lot_label_zh(state, &f.tender_code, &f.lot_code),
                    money_zh(f.award_price_fen)
                ),
                format!(
                    "On {} lot {} was awarded to {winner_en} at {}.",
                    instant_en(f.announced_at.as_ref()),
                    f.lot_code,
                    money_en(f.award_price_fen)
                ),
            );
            if let Some(ceiling) = state.lot(&f.tender_code, &f.lot_code).and_then(|lot| lot.ceiling_price_fen)
                && ceiling > 0
            {
                let bp = i64::try_from(i128::from(f.award_price_fen) * 10_000 / i128::from(ceiling)).unwrap_or(0);
                out.say(
                    format!("中标价为最高投标限价的{}。", percent(bp)),
                    format!("That is {} of the ceiling price.", percent(bp)),
                );
            }
            if !f.not_first_ranked_reason.is_empty() {
                out.say(
                    format!("中标人非排名第一的中标候选人，理由：{}。", trim_stop(&f.not_first_ranked_reason)),
                    format!("The winner is not the first-ranked candidate: {}.", f.not_first_ranked_reason),
                );
            }
            out.amount("中标价", "Award price", f.award_price_fen, &f.lot_code);
            out.party(f.winner.as_ref(), PartyRole::Supplier);
            &f.documents
        }
        Kind::AwardNoticeIssued(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            out.title(
                format!("中标通知书：{}标段 {}", f.lot_code, org_zh(f.winner.as_ref())),
                format!("Award notice: lot {} to {}", f.lot_code, org_en(f.winner.as_ref())),
            );
            out.say(
                format!(
                    "{}向{}发出{}中标通知书，合同应自发出之日起30日内订立。",
                    instant_zh(f.issued_at.as_ref()),
                    org_zh(f.winner.as_ref()),
                    lot_label_zh(state, &f.tender_code, &f.lot_code)
                ),
                format!(
                    "On {} the award notice for lot {} was issued to {}; the contract is due within 30 days.",
                    instant_en(f.issued_at.as_ref()),
                    f.lot_code,
                    org_en(f.winner.as_ref())
                ),
            );
            out.party(f.winner.as_ref(), PartyRole::Supplier);
            &f.documents
        }
        Kind::AwardCancelled(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            out.title(format!("取消中标：{}标段", f.lot_code), format!("Award cancelled: lot {}", f.lot_code));
            out.say(
                format!(
                    "{}的中标被取消，原因：{}。",
                    lot_label_zh(state, &f.tender_code, &f.lot_code),
                    trim_stop(&f.reason)
                ),
                format!("The award of lot {} was cancelled: {}.", f.lot_code, f.reason),
            );
            if !f.complaint_event_id.is_empty() {
                out.say(
                    format!("起因于投诉（事件{}）。", f.complaint_event_id),
                    format!("It follows complaint event {}.", f.complaint_event_id),
                );
            }
            &f.documents
        }
        Kind::TenderFailed(f) => {
            out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
            let (reason_zh, reason_en) = f.reason().labels();
            out.title(
                format!("流标：{}标段（{reason_zh}）", f.lot_code),
                format!("Tender failed: lot {} ({reason_en})", f.lot_code),
            );
            out.say(
                format!("{}流标，原因：{reason_zh}。", lot_label_zh(state, &f.tender_code, &f.lot_code)),
                format!("The tender of lot {} failed: {reason_en}.", f.lot_code),
            );
            if !f.reason_text.is_empty() {
                out.say(format!("{}。", trim_stop(&f.reason_text)), f.reason_text.clone());
            }
            &f.documents
        }
        Kind::ContractSigned(f) => {
            out.scope(&f.tender_code, &f.lot_codes);
            let (what_zh, what_en) = if f.is_ppp_project_agreement {
                ("PPP项目合同签订", "PPP project agreement signed")
            } else {
                ("合同签订", "Contract signed")
            };
            let name = if f.title.is_empty() { f.contract_code.clone() } else { f.title.clone() };
            out.title(
                format!("{what_zh}：{name}，{}", money_zh(f.price_fen)),
                format!("{what_en}: {name}, {}", money_en(f.price_fen)),
            );
            out.say(
                format!(
                    "{}，{}与{}签订合同{}（{}，{}），合同价{}。",
                    instant_zh(f.signed_at.as_ref()),
                    org_zh(f.buyer.as_ref()),
                    names_zh(&f.suppliers),
                    f.contract_code,
                    tender_name(state, &f.tender_code),
                    lots_zh(&f.lot_codes),
                    money_zh(f.price_fen)
                ),
                format!(
                    "On {} {} signed contract {} with {} ({}, {}) for {}.",
                    instant_en(f.signed_at.as_ref()),
                    org_en(f.buyer.as_ref()),
                    f.contract_code,
                    names_en(&f.suppliers),
                    tender_name(state, &f.tender_code),
                    lots_en(&f.lot_codes),
                    money_en(f.price_fen)
                ),
            );
            if let Some(period) = &f.contract_period {
                out.say(
                    format!("合同期{}至{}。", date_zh(period.start.as_ref()), date_zh(period.end.as_ref())),
                    format!("Contract period {} to {}.", date_en(period.start.as_ref()), date_en(period.end.as_ref())),
                );
            }
            out.amount("合同价", "Contract price", f.price_fen, "");
            out.party(f.buyer.as_ref(), PartyRole::Buyer);
            out.parties(&f.suppliers, PartyRole::Supplier);
            &f.documents
        }
        Kind::ContractVaried(f) => {
            let mut what_zh = Vec::new();
            let mut what_en = Vec::new();
            if f.changes_price {
                what_zh.push(format!("合同价{}", change_zh(f.price_change_fen)));
                what_en.push(format!("price: {}", change_en(f.price_change_fen)));
                out.amount("变更金额", "Price change", f.price_change_fen, "");
            }
            if f.changes_time {
                what_zh.push(format!("合同完成日期调整为{}", date_zh(f.new_end_date.as_ref())));
                what_en.push(format!("end date moved to {}", date_en(f.new_end_date.as_ref())));
            }
            if f.changes_scope {
                what_zh.push(format!("范围变更：{}", trim_stop(&f.scope_change)));
                what_en.push(format!("scope: {}", f.scope_change));
            }
            out.title(
                format!(
                    "合同变更：{} 第{}号（{}）",
                    f.contract_code,
                    f.variation_number,
                    what_zh.first().map_or("", |s| s)
                ),
                format!(
                    "Contract variation {} of {} ({})",
                    f.variation_number,
                    f.contract_code,
                    what_en.first().map_or("", |s| s)
                ),
            );
            out.say(
                format!("合同{}变更{}：{}。", f.contract_code, f.variation_number, what_zh.join("；")),
                format!("Variation {} of contract {}: {}.", f.variation_number, f.contract_code, what_en.join("; ")),
            );
            out.say(
                format!("变更原因：{}；批准单位：{}。", trim_stop(&f.reason), org_zh(f.approved_by.as_ref())),
                format!("Reason: {}; approved by {}.", f.reason, org_en(f.approved_by.as_ref())),
            );
            if let Some(contract) = state.contract(&f.contract_code) {
                out.scope(&contract.tender_code, &contract.lot_codes);
            }
            out.party(f.approved_by.as_ref(), PartyRole::Other);
            &f.documents
        }
        Kind::MilestoneReached(f) => {
            let (kind_zh, kind_en) = f.kind().labels();
            out.title(
                format!("履约节点：{}（{}）", f.milestone_name, f.contract_code),
                format!("Milestone reached: {} ({})", f.milestone_name, f.contract_code),
            );
            out.say(
                format!(
                    "合同{}于{}达到节点{}“{}”（{kind_zh}），总体进度{}。",
                    f.contract_code,
                    day_zh(f.reached_at.as_ref()),
                    f.milestone_code,
                    f.milestone_name,
                    percent(f.progress_bp.into())
                ),
                format!(
                    "Contract {} reached milestone {} \"{}\" ({kind_en}) on {}; overall progress {}.",
                    f.contract_code,
                    f.milestone_code,
                    f.milestone_name,
                    day_en(f.reached_at.as_ref()),
                    percent(f.progress_bp.into())
                ),
            );
            if let Some(planned) = &f.planned_date {
                let late = reached_date(f.reached_at.as_ref())
                    .zip(naive(planned))
                    .map(|(reached, planned)| (reached - planned).num_days());
                let (zh, en) = match late {
                    Some(days) if days > 0 => (format!("，延后{days}天"), format!(", {days} days late")),
                    Some(days) if days < 0 => (format!("，提前{}天", -days), format!(", {} days early", -days)),
                    Some(_) => ("，按期".to_owned(), ", on time".to_owned()),
                    None => (String::new(), String::new()),
                };
                out.say(
                    format!("计划日期{}{zh}。", date_zh(Some(planned))),
                    format!("Planned for {}{en}.", date_en(Some(planned))),
                );
            }
            if let Some(contract) = state.contract(&f.contract_code) {
                out.scope(&contract.tender_code, &contract.lot_codes);
            }
            &f.documents
        }
        Kind::PaymentMade(f) => {
            let (kind_zh, kind_en) = f.kind().labels();
            out.title(
                format!("支付：{} {}", f.contract_code, money_zh(f.amount_fen)),
                format!("Payment: {} under {}", money_en(f.amount_fen), f.contract_code),
            );
            out.say(
                format!(
                    "{}按合同{}向{}支付{kind_zh}{}（支付编号{}）。",
                    day_zh(f.paid_at.as_ref()),
                    f.contract_code,
                    org_zh(f.payee.as_ref()),
                    money_zh(f.amount_fen),
                    f.payment_number
                ),
                format!(
                    "On {} a {kind_en} of {} was paid to {} under contract {} (payment {}).",
                    day_en(f.paid_at.as_ref()),
                    money_en(f.amount_fen),
                    org_en(f.payee.as_ref()),
                    f.contract_code,
                    f.payment_number
                ),
            );
            if !f.milestone_code.is_empty() {
                out.say(format!("对应履约节点{}。", f.milestone_code), format!("For milestone {}.", f.milestone_code));
            }
            if let Some(contract) = state.contract(&f.contract_code) {
                out.scope(&contract.tender_code, &contract.lot_codes);
            }
            out.amount("支付金额", "Amount paid", f.amount_fen, "");
            out.party(f.payee.as_ref(), PartyRole::Payee);
            &f.documents
        }
        Kind::PerformanceIssueRecorded(f) => {
            let (kind_zh, kind_en) = f.kind().labels();
            out.title(
                format!("履约问题：{kind_zh}（{}）", f.contract_code),
                format!("Performance issue: {kind_en} ({})", f.contract_code),
            );
            out.say(
                format!(
                    "合同{}于{}发生{kind_zh}：{}。",
                    f.contract_code,
                    day_zh(f.occurred_at.as_ref()),
                    trim_stop(&f.description)
                ),
                format!(
                    "Contract {}: {kind_en} on {}: {}.",
                    f.contract_code,
                    day_en(f.occurred_at.as_ref()),
                    f.description
                ),
            );
            if let Some(days) = f.delay_days {
                out.say(
                    format!("延误{days}天。"),
                    format!("Delay: {}.", count_en(usize::try_from(days).unwrap_or(0), "day")),
                );
            }
            if let Some(penalty) = f.penalty_fen {
                out.say(format!("处以违约金/罚款{}。", money_zh(penalty)), format!("Penalty: {}.", money_en(penalty)));
                out.amount("违约金/罚款", "Penalty", penalty, "");
            }
            if let Some(contract) = state.contract(&f.contract_code) {
                out.scope(&contract.tender_code, &contract.lot_codes);
            }
            &f.documents
        }
        Kind::CompletionAccepted(f) => {
            let (result_zh, result_en) = f.result().labels();
            out.title(format!("竣工验收：{result_zh}"), format!("Completion acceptance: {result_en}"));
            out.say(
                format!(
                    "{}完成合同{}的竣工验收，结论：{result_zh}，实际竣工日期{}。",
                    day_zh(f.accepted_at.as_ref()),
                    f.contract_codes.join("、"),
                    date_zh(f.actual_completion_date.as_ref())
                ),
                format!(
                    "On {} the works of contract(s) {} were accepted: {result_en}; actual completion date {}.",
                    day_en(f.accepted_at.as_ref()),
                    f.contract_codes.join(", "),
                    date_en(f.actual_completion_date.as_ref())
                ),
            );
            if f.result() == AcceptanceResult::Failed {
                out.say("工程须整改后重新验收。", "The works must be remedied and accepted again.");
            }
            if !f.participants.is_empty() {
                out.say(
                    format!("参加单位：{}。", names_zh(&f.participants)),
                    format!("Participants: {}.", names_en(&f.participants)),
                );
            }
            if !f.remarks.is_empty() {
                out.say(format!("验收意见：{}。", trim_stop(&f.remarks)), format!("Remarks: {}.", f.remarks));
            }
            out.parties(&f.participants, PartyRole::Other);
            &f.documents
        }
        Kind::FinalAccountsSettled(f) => {
            out.title(
                format!("竣工决算：{}", money_zh(f.final_cost_fen)),
                format!("Final accounts settled: {}", money_en(f.final_cost_fen)),
            );
            out.say(
                format!(
                    "{}竣工决算经{}审计确定，决算总投资{}，实际完工日期{}。",
                    day_zh(f.settled_at.as_ref()),
                    org_zh(f.audited_by.as_ref()),
                    money_zh(f.final_cost_fen),
                    date_zh(f.actual_end_date.as_ref())
                ),
                format!(
                    "On {} the final accounts, audited by {}, were settled at {}; actual end date {}.",
                    day_en(f.settled_at.as_ref()),
                    org_en(f.audited_by.as_ref()),
                    money_en(f.final_cost_fen),
                    date_en(f.actual_end_date.as_ref())
                ),
            );
            if let Some(approval) = state.approval().filter(|a| a.fact.total_investment_fen > 0) {
                let approved = approval.fact.total_investment_fen;
                let diff = f.final_cost_fen - approved; // both within the money bound
                let bp = i64::try_from(i128::from(diff) * 10_000 / i128::from(approved)).unwrap_or(0);
                let (zh, en) = if diff > 0 {
                    (
                        format!("超出批复总投资{}（{}）", money_zh(diff), percent(bp)),
                        format!("{} ({}) over", money_en(diff), percent(bp)),
                    )
                } else if diff < 0 {
                    (
                        format!("较批复总投资节余{}（{}）", money_zh(-diff), percent(-bp)),
                        format!("{} ({}) under", money_en(-diff), percent(-bp)),
                    )
                } else {
                    ("与批复总投资持平".to_owned(), "exactly at".to_owned())
                };
                out.say(
                    format!("{zh}。"),
                    format!("That is {en} the approved total investment of {}.", money_en(approved)),
                );
            }
            out.say(
                format!("实际建设内容：{}。", trim_stop(&f.final_scope)),
                format!("Final scope: {}.", f.final_scope),
            );
            out.amount("决算总投资", "Final cost", f.final_cost_fen, "");
            out.party(f.audited_by.as_ref(), PartyRole::Auditor);
            &f.documents
        }
    };
    out.finish(documents)
}

/// Title and sentence of a project status change.
fn status_change(out: &mut Out<'_>, (zh, en): (&str, &str), reason: &str, decided_by: Option<&Organization>) {
    out.title(zh, en);
    match decided_by {
        Some(org) => out.say(
            format!("{}决定{zh}，原因：{}。", org.name, trim_stop(reason)),
            format!("{en} by decision of {}: {reason}.", org.name),
        ),
        None => out.say(format!("{zh}，原因：{}。", trim_stop(reason)), format!("{en}: {reason}.")),
    }
    out.party(decided_by, PartyRole::Other);
}

/// Title and sentence of a tender status change.
fn tender_status(
    out: &mut Out<'_>,
    state: &ProjectState,
    (zh, en): (&str, &str),
    tender_code: &str,
    lot_codes: &[String],
    reason: &str,
) {
    let tender = tender_name(state, tender_code);
    out.title(format!("{zh}：{tender}（{}）", lots_zh(lot_codes)), format!("{en}: {tender} ({})", lots_en(lot_codes)));
    out.say(
        format!("{tender}（{}）{zh}，原因：{}。", lots_zh(lot_codes), trim_stop(reason)),
        format!("{en} ({}): {reason}.", lots_en(lot_codes)),
    );
}

/// The ranked candidates, with their prices and project managers.
fn candidates(out: &mut Out<'_>, list: &[Candidate], lot_code: &str) {
    if list.is_empty() {
        return;
    }
    let mut ranked: Vec<&Candidate> = list.iter().collect();
    ranked.sort_by_key(|c| c.rank);
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for c in ranked {
        let mut line_zh = format!("第{}名{}，投标报价{}", c.rank, org_zh(c.bidder.as_ref()), money_zh(c.bid_price_fen));
        let mut line_en = format!("{}. {}, bid {}", c.rank, org_en(c.bidder.as_ref()), money_en(c.bid_price_fen));
        if !c.score.is_empty() {
            line_zh.push_str(&format!("，得分{}", c.score));
            line_en.push_str(&format!(", score {}", c.score));
        }
        if let Some(pm) = &c.project_manager {
            let cert_zh = if pm.certificate_number.is_empty() {
                String::new()
            } else {
                format!("，证书编号{}", pm.certificate_number)
            };
            let cert_en = if pm.certificate_number.is_empty() {
                String::new()
            } else {
                format!(", certificate {}", pm.certificate_number)
            };
            line_zh.push_str(&format!("，项目负责人{}{cert_zh}", pm.name));
            line_en.push_str(&format!(", project manager {}{cert_en}", pm.name));
        }
        zh.push(line_zh);
        en.push(line_en);
        out.amount(
            format!("第{}名候选人报价", c.rank),
            format!("Bid of candidate ranked {}", c.rank),
            c.bid_price_fen,
            lot_code,
        );
        out.party(c.bidder.as_ref(), PartyRole::Bidder);
        out.person(c.project_manager.as_ref());
    }
    out.say(format!("中标候选人：{}。", zh.join("；")), format!("Candidates: {}.", en.join("; ")));
}

fn bid_zh(bid: &Bid) -> String {
    let mut s = format!("{}报价{}", org_zh(bid.bidder.as_ref()), money_zh(bid.price_fen));
    if !bid.consortium_members.is_empty() {
        s.push_str(&format!("（联合体成员：{}）", names_zh(&bid.consortium_members)));
    }
    s
}

fn bid_en(bid: &Bid) -> String {
    let mut s = format!("{} at {}", org_en(bid.bidder.as_ref()), money_en(bid.price_fen));
    if !bid.consortium_members.is_empty() {
        s.push_str(&format!(" (consortium with {})", names_en(&bid.consortium_members)));
    }
    s
}

/// The tender's name as announced, else its code.
fn tender_name(state: &ProjectState, tender_code: &str) -> String {
    state
        .tender(tender_code)
        .map(|tender| tender.name.clone())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| tender_code.to_owned())
}

/// "A1标段（一标段：污水处理厂）", or "A1标段" when the lot is unknown.
fn lot_label_zh(state: &ProjectState, tender_code: &str, lot_code: &str) -> String {
    match state.lot(tender_code, lot_code).map(|lot| lot.name.as_str()).filter(|name| !name.is_empty()) {
        Some(name) => format!("{lot_code}标段（{name}）"),
        None => format!("{lot_code}标段"),
    }
}

fn lot_list(lot_code: &str) -> Vec<String> {
    if lot_code.is_empty() { Vec::new() } else { vec![lot_code.to_owned()] }
}

fn lot_suffix_zh(lot_code: &str) -> String {
    if lot_code.is_empty() { String::new() } else { format!(" {lot_code}标段") }
}

fn lot_suffix_en(lot_code: &str) -> String {
    if lot_code.is_empty() { String::new() } else { format!(", lot {lot_code}") }
}

/// A cooperation period: 300 months → ("25年", "25-year", "25 years").
fn months(n: i32) -> (String, String, String) {
    if n > 0 && n % 12 == 0 {
        let years = n / 12;
        (format!("{years}年"), format!("{years}-year"), count_en(usize::try_from(years).unwrap_or(0), "year"))
    } else {
        (format!("{n}个月"), format!("{n}-month"), count_en(usize::try_from(n).unwrap_or(0), "month"))
    }
}

/// "approved", "ratified", "filed", for titles.
fn approval_title_en(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Ratification => "ratified",
        ApprovalKind::Filing => "filed",
        _ => "approved",
    }
}

/// What the authority did, for sentences.
fn approval_verb_en(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::Ratification => "ratified",
        ApprovalKind::Filing => "accepted the filing of",
        _ => "approved",
    }
}

/// The Beijing calendar day of an instant.
fn reached_date(ts: Option<&prost_types::Timestamp>) -> Option<chrono::NaiveDate> {
    let offset = chrono::FixedOffset::east_opt(8 * 3600)?;
    let utc = chrono::DateTime::from_timestamp(ts?.seconds, 0)?;
    Some(utc.with_timezone(&offset).date_naive())
}

/// Text without a trailing full stop, so that a sentence can end it.
fn trim_stop(text: &str) -> &str {
    text.trim_end().trim_end_matches(['。', '.', '；', ';'])
}

fn none_zh(list: String) -> String {
    if list.is_empty() { "无".to_owned() } else { list }
}

fn none_en(list: String) -> String {
    if list.is_empty() { "none".to_owned() } else { list }
}

//! Tendering facts (招标): announcement, amendment, suspension, resumption,
//! cancellation and bid opening, each scoped to its tender and lots. The bid
//! deadline an announcement or an amendment sets becomes a legal clock;
//! invited bidders the policy withheld are said to be withheld, never named.

use gongkai_proto::v1::{
    Bid, BidsOpened, PartyRole, ProcurementMethod, QualificationMode, TenderAmended, TenderAnnounced, TenderCancelled,
    TenderResumed, TenderSuspended,
};

use super::{Lookup, Out, Rendered, clock, lot_label_zh, trim_stop};
use crate::render::format::{
    Labels, count_en, instant_en, instant_zh, lots_en, lots_zh, money_en, money_zh, names_en, names_zh, org_en, org_zh,
};

/// A tender notice or invitation: method, lots and their prices, dates,
/// security, and the invited bidders (or that they are not yet public).
pub(super) fn announced(mut out: Out<'_>, f: &TenderAnnounced) -> Rendered {
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
            format!("Prequalification applications close at {}.", instant_en(f.prequalification_deadline.as_ref())),
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
        out.say(format!("本次为招标项目{}的重新招标。", f.retender_of), format!("This re-tenders {}.", f.retender_of));
    }
    if !f.invited_bidders.is_empty() {
        out.say(
            format!("受邀投标人{}家：{}。", f.invited_bidders.len(), names_zh(&f.invited_bidders)),
            format!("{} invited: {}.", count_en(f.invited_bidders.len(), "bidder"), names_en(&f.invited_bidders)),
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
    out.finish(&f.documents)
}

/// A clarification or amendment of the tender documents, with any new bid
/// deadline or opening time.
pub(super) fn amended(mut out: Out<'_>, project: &Lookup<'_>, f: &TenderAmended) -> Rendered {
    out.scope(&f.tender_code, &f.lot_codes);
    let (kind_zh, kind_en) = f.kind().labels();
    let tender = project.tender_name(&f.tender_code);
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
    if let Some(opening) = f.new_bid_opening_at.as_ref().filter(|_| f.new_bid_opening_at != f.new_bid_deadline) {
        out.say(
            format!("开标时间调整为{}。", instant_zh(Some(opening))),
            format!("Bid opening moves to {}.", instant_en(Some(opening))),
        );
    }
    out.finish(&f.documents)
}

/// A tender suspension.
pub(super) fn suspended(mut out: Out<'_>, project: &Lookup<'_>, f: &TenderSuspended) -> Rendered {
    out.scope(&f.tender_code, &f.lot_codes);
    tender_status(&mut out, project, ("招标暂停", "Tender suspended"), &f.tender_code, &f.lot_codes, &f.reason);
    out.finish(&f.documents)
}

/// A tender resumption, with any new bid deadline.
pub(super) fn resumed(mut out: Out<'_>, project: &Lookup<'_>, f: &TenderResumed) -> Rendered {
    out.scope(&f.tender_code, &f.lot_codes);
    tender_status(&mut out, project, ("招标恢复", "Tender resumed"), &f.tender_code, &f.lot_codes, &f.reason);
    if f.new_bid_deadline.is_some() {
        out.say(
            format!("投标截止时间调整为{}。", instant_zh(f.new_bid_deadline.as_ref())),
            format!("The bid deadline moves to {}.", instant_en(f.new_bid_deadline.as_ref())),
        );
    }
    out.finish(&f.documents)
}

/// A tender cancellation.
pub(super) fn cancelled(mut out: Out<'_>, project: &Lookup<'_>, f: &TenderCancelled) -> Rendered {
    out.scope(&f.tender_code, &f.lot_codes);
    tender_status(&mut out, project, ("终止招标", "Tender cancelled"), &f.tender_code, &f.lot_codes, &f.reason);
    out.finish(&f.documents)
}

/// A lot's bid opening: when, where, and every bid with its price.
pub(super) fn bids_opened(mut out: Out<'_>, project: &Lookup<'_>, f: &BidsOpened) -> Rendered {
    out.scope(&f.tender_code, std::slice::from_ref(&f.lot_code));
    let n = f.bids.len();
    out.title(
        format!("开标：{}标段 {n}家投标人", f.lot_code),
        format!("Bid opening: lot {}, {}", f.lot_code, count_en(n, "bidder")),
    );
    out.say(
        format!(
            "{}{}于{}在{}开标。",
            project.tender_name(&f.tender_code),
            lot_label_zh(project, &f.tender_code, &f.lot_code),
            instant_zh(f.opened_at.as_ref()),
            f.place
        ),
        format!(
            "Bids for lot {} of {} were opened at {}, {}.",
            f.lot_code,
            project.tender_name(&f.tender_code),
            instant_en(f.opened_at.as_ref()),
            f.place
        ),
    );
    if f.bids.is_empty() {
        out.say("无人投标。", "No bids were received.");
    } else {
        let zh: Vec<String> = f.bids.iter().map(bid_zh).collect();
        let en: Vec<String> = f.bids.iter().map(bid_en).collect();
        out.say(format!("共{n}家投标：{}。", zh.join("；")), format!("{}: {}.", count_en(n, "bid"), en.join("; ")));
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
    out.finish(&f.documents)
}

/// Title and sentence of a tender status change.
fn tender_status(
    out: &mut Out<'_>,
    project: &Lookup<'_>,
    (zh, en): (&str, &str),
    tender_code: &str,
    lot_codes: &[String],
    reason: &str,
) {
    let tender = project.tender_name(tender_code);
    out.title(format!("{zh}：{tender}（{}）", lots_zh(lot_codes)), format!("{en}: {tender} ({})", lots_en(lot_codes)));
    out.say(
        format!("{tender}（{}）{zh}，原因：{}。", lots_zh(lot_codes), trim_stop(reason)),
        format!("{en} ({}): {reason}.", lots_en(lot_codes)),
    );
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

//! The project page (`/projects/{code}`): its stage bar, running legal
//! clocks, schedule and money pictures (`pictures`), amounts, contract and
//! investment outcomes, land expropriation and EIA figures, and full
//! timeline as a person follows it (`timeline`: by when things happened,
//! grouped by tender and lot, corrections beside what they correct, long
//! parts folded, links to the promptness of its region and trading
//! centers), and the view models the template reads. Rendered pages are kept in the page cache
//! (`cache`) until the project changes or a clock's text would go stale.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use gongkai_domain::clock::{beijing, utc_or_epoch};
use gongkai_domain::promptness::made_public_at;
use gongkai_domain::state::land::category_words;
use gongkai_proto::v1::{ProjectSummary, TimelineEntry};

use crate::cache::{CachedPage, Variant};
use crate::chrome::{LangQuery, PageMeta, html_bytes, not_found, page_meta, template_failed};
use crate::pictures::{self, Picture};
use crate::read::{decode_summary, load, unavailable};
use crate::text::{
    Lang, day, project_bar_keys, region_full, stage_name, time_left, time_left_holds_until, type_name, when,
    yuan_exact, yuan_human,
};
use crate::{SiteState, conditional, opendata, outcome, promptness, proof, timeline};

#[derive(Debug)]
struct StageStep {
    name: String,
    class: &'static str,
}

#[derive(Debug)]
struct ClockView {
    label: String,
    lot: String,
    when: String,
    iso: String,
    left: String,
}

#[derive(Debug)]
struct EntryView {
    seq: u64,
    title: String,
    summary: String,
    when: String,
    iso: String,
    /// When it was made public, and how long after it happened, in words.
    public_when: String,
    public_iso: String,
    lag: String,
    /// The summary of the folded parties, people and documents; empty when
    /// there are none.
    more: String,
    /// Whether the "what changed" table folds (it is long).
    fold_changes: bool,
    superseded: bool,
    superseded_by: Option<(u64, String)>,
    corrects: Option<(u64, String)>,
    changes: Vec<(String, String, String)>,
    amounts: Vec<(String, String, String)>,
    parties: Vec<String>,
    people: Vec<String>,
    documents: Vec<(String, String, String)>,
    withheld: bool,
}

/// An entry with the corrections attached to it.
#[derive(Debug)]
struct ItemView {
    entry: EntryView,
    corrections: Vec<EntryView>,
}

/// A group of the timeline (see `timeline`): its older items fold.
#[derive(Debug)]
struct GroupView {
    heading: String,
    older_summary: String,
    older: Vec<ItemView>,
    recent: Vec<ItemView>,
}

/// Room for a rendered page: most, pictures included, are 40 to 64 KB.
const PAGE_CAPACITY: usize = 64 * 1024;

/// Rows of a "what changed" table shown unfolded.
const CHANGES_SHOWN: usize = 3;

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    page: PageMeta,
    code: String,
    name: String,
    kind: String,
    region: String,
    owner: String,
    stage_note: String,
    /// Non-empty while the projector cannot render the project's newer
    /// events (it is parked): the page shows its last good timeline and says so.
    updating: String,
    stage_bar: Vec<StageStep>,
    clocks: Vec<ClockView>,
    /// The schedule and the money, drawn (see `pictures`).
    pictures: [Picture; 2],
    figures: Vec<(String, String, String)>,
    /// Each contract's outcome against its signing.
    contracts: Vec<outcome::ContractRow>,
    /// Land expropriation, resettlement and the EIA approval: (label, value,
    /// exact amount or empty), from the public summary's counts and totals.
    land: Vec<(String, String, String)>,
    /// The timeline, grouped when the project has several tenders or lots.
    groups: Vec<GroupView>,
    grouped: bool,
    /// Links to the promptness pages of the project's region and trading
    /// centers: (href, text).
    promptness: Vec<(String, String)>,
    chain_head: String,
    /// What the transparency log says of the project, and how to check it.
    log: Vec<String>,
    head_seq: u64,
    tenders: Vec<String>,
}

/// The land and EIA rows of a project page: counts and totals only, as the
/// public summary holds them (no household is in it).
fn land_rows(lang: Lang, summary: &ProjectSummary) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let mut money = |label: String, fen: i64| rows.push((label, yuan_human(lang, fen), yuan_exact(fen)));
    if let Some(land) = &summary.land {
        if land.compensation_budget_fen != 0 {
            money(
                lang.pick("征地补偿安置费用预算", "Compensation and resettlement budget").to_owned(),
                land.compensation_budget_fen,
            );
        }
        money(lang.pick("已支付征收补偿费用", "Compensation paid").to_owned(), land.compensation_paid_fen);
        for total in &land.categories {
            let (zh, en) = category_words(total.category());
            if total.payments > 0 {
                money(format!("{}{}", lang.pick("已支付：", "Paid: "), lang.pick(zh, en)), total.paid_fen);
            }
            if total.households > 0 {
                let label = match lang {
                    Lang::Zh => format!("分户补偿公示：{zh}（{}户）", total.households),
                    Lang::En => format!("Per household: {en} ({} households)", total.households),
                };
                money(label, total.household_results_fen);
            }
        }
        let steps = match lang {
            Lang::Zh => format!(
                "{}个：预公告{}，补偿方案{}，风险评估{}，已批准或决定{}",
                land.expropriations, land.pre_announced, land.with_plan, land.risk_assessed, land.decided
            ),
            Lang::En => format!(
                "{}: {} pre-announced, {} with a plan, {} assessed, {} approved or decided",
                land.expropriations, land.pre_announced, land.with_plan, land.risk_assessed, land.decided
            ),
        };
        rows.push((lang.pick("征收", "Expropriations").to_owned(), steps, String::new()));
        if land.households_with_results > 0 {
            let households = match lang {
                Lang::Zh => format!("{}户", land.households_with_results),
                Lang::En => format!("{} households", land.households_with_results),
            };
            rows.push((
                lang.pick("分户补偿已公示", "Households' compensation published").to_owned(),
                households,
                String::new(),
            ));
        }
        if land.relocations > 0 {
            let moved = match lang {
                Lang::Zh => format!("{}次，涉及{}户", land.relocations, land.households_relocated),
                Lang::En => format!("{} times, {} households", land.relocations, land.households_relocated),
            };
            rows.push((lang.pick("搬迁或拆除", "Relocation or demolition").to_owned(), moved, String::new()));
        }
    }
    if let Some(approval) = &summary.environmental_approval {
        let authority = approval.approving_authority.as_ref().map(|org| org.name.as_str()).unwrap_or_default();
        let on = day(utc_or_epoch(approval.approved_at.as_ref()));
        rows.push((
            lang.pick("环评批复", "EIA approval").to_owned(),
            format!("{authority} {}（{on}）", approval.document_number),
            String::new(),
        ));
    }
    rows
}

fn role_name(lang: Lang, role: gongkai_proto::v1::PartyRole) -> &'static str {
    use gongkai_proto::v1::PartyRole as R;
    match role {
        R::Owner => lang.pick("项目法人", "owner"),
        R::Tenderee => lang.pick("招标人", "tenderee"),
        R::TenderAgent => lang.pick("招标代理机构", "tender agent"),
        R::Bidder => lang.pick("投标人", "bidder"),
        R::Supplier => lang.pick("中标人", "winner"),
        R::Buyer => lang.pick("采购人", "buyer"),
        R::ApprovingAuthority => lang.pick("审批机关", "approving authority"),
        R::SupervisingAuthority => lang.pick("监督部门", "supervising authority"),
        R::Funder => lang.pick("出资方", "funder"),
        R::Payee => lang.pick("收款方", "payee"),
        R::ConstructionSupervisor => lang.pick("监理单位", "construction supervisor"),
        R::Designer => lang.pick("设计单位", "designer"),
        R::Auditor => lang.pick("审计单位", "auditor"),
        R::ConsortiumMember => lang.pick("联合体成员", "consortium member"),
        R::Objector => lang.pick("异议人", "objector"),
        _ => lang.pick("其他", "other"),
    }
}

/// One entry as the page shows it; `seq_of` gives the seq of an event id.
fn entry_view(lang: Lang, e: &TimelineEntry, seq_of: &BTreeMap<&str, u64>) -> EntryView {
    let record = |seq: u64| match lang {
        Lang::Zh => format!("第{seq}号记录"),
        Lang::En => format!("record no. {seq}"),
    };
    let at = utc_or_epoch(e.occurred_at.as_ref());
    let public_at = utc_or_epoch(made_public_at(e).as_ref());
    let parties: Vec<String> =
        e.parties.iter().map(|o| format!("{}（{}）", o.name, role_name(lang, o.role()))).collect();
    let people: Vec<String> = e
        .people
        .iter()
        .map(|p| if p.role.is_empty() { p.name.clone() } else { format!("{}（{}）", p.name, p.role) })
        .collect();
    let documents: Vec<(String, String, String)> =
        e.documents.iter().map(|d| (d.title.clone(), d.url.clone(), d.sha256.clone())).collect();
    EntryView {
        seq: e.project_seq,
        title: lang.pick(&e.title_zh, &e.title_en).to_owned(),
        summary: lang.pick(&e.summary_zh, &e.summary_en).to_owned(),
        when: when(at),
        iso: at.to_rfc3339(),
        public_when: when(public_at),
        public_iso: public_at.to_rfc3339(),
        lag: timeline::lag_text(lang, e),
        more: more_summary(lang, parties.len(), people.len(), documents.len()),
        fold_changes: e.changes.len() > CHANGES_SHOWN,
        superseded: !e.superseded_by_event_id.is_empty(),
        superseded_by: seq_of.get(e.superseded_by_event_id.as_str()).map(|s| (*s, record(*s))),
        corrects: seq_of.get(e.supersedes_event_id.as_str()).map(|s| (*s, record(*s))),
        changes: e.changes.iter().map(|c| (c.path.clone(), c.before.clone(), c.after.clone())).collect(),
        amounts: e
            .amounts
            .iter()
            .map(|a| {
                let label = lang.pick(&a.label_zh, &a.label_en);
                let label = if a.lot_code.is_empty() {
                    label.to_owned()
                } else {
                    format!("{label}（{} {}）", lang.pick("标段", "lot"), a.lot_code)
                };
                (label, yuan_human(lang, a.amount_fen), yuan_exact(a.amount_fen))
            })
            .collect(),
        parties,
        people,
        documents,
        withheld: e.details_withheld,
    }
}

/// The summary of an entry's folded details: `相关单位 3 个 · 文件 2 份`.
fn more_summary(lang: Lang, parties: usize, people: usize, documents: usize) -> String {
    let mut parts = Vec::new();
    for (count, zh, en_one, en_many) in [
        (parties, "相关单位 {} 个", "1 party", "{} parties"),
        (people, "相关人员 {} 名", "1 person", "{} people"),
        (documents, "文件 {} 份", "1 document", "{} documents"),
    ] {
        if count > 0 {
            let text = match lang {
                Lang::Zh => zh,
                Lang::En if count == 1 => en_one,
                Lang::En => en_many,
            };
            parts.push(text.replace("{}", &count.to_string()));
        }
    }
    parts.join(" · ")
}

/// Legal clocks still running at `now`: the latest clock of each kind per
/// tender and lot (a later amendment moves a deadline), over entries not
/// superseded by a correction.
/// Also returns the last instant at which their text still holds.
fn running_clocks(
    lang: Lang,
    entries: &[TimelineEntry],
    now: DateTime<Utc>,
) -> (Vec<ClockView>, Option<DateTime<Utc>>) {
    let mut latest: BTreeMap<(String, String, String), &gongkai_proto::v1::LegalClock> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.superseded_by_event_id.is_empty()) {
        for clock in &entry.clocks {
            latest.insert((clock.kind.clone(), entry.tender_code.clone(), clock.lot_code.clone()), clock);
        }
    }
    let mut running: Vec<(DateTime<Utc>, ClockView)> = latest
        .values()
        .filter_map(|clock| {
            let ends = utc_or_epoch(clock.ends_at.as_ref());
            (ends > now).then(|| {
                (
                    ends,
                    ClockView {
                        label: lang.pick(&clock.label_zh, &clock.label_en).to_owned(),
                        lot: if clock.lot_code.is_empty() {
                            String::new()
                        } else {
                            format!("{} {}", lang.pick("标段", "lot"), clock.lot_code)
                        },
                        when: when(ends),
                        iso: ends.to_rfc3339(),
                        left: time_left(lang, now, ends),
                    },
                )
            })
        })
        .collect();
    running.sort_by_key(|(ends, _)| *ends);
    let holds_until = running.iter().map(|(ends, _)| time_left_holds_until(now, *ends)).min();
    (running.into_iter().map(|(_, view)| view).collect(), holds_until)
}

/// The schedule and money pictures of a project: stages as reached from the
/// public timeline, everything else from the public summary.
fn project_pictures(
    lang: Lang,
    project_type: &str,
    stage: &str,
    summary: &ProjectSummary,
    entries: &[TimelineEntry],
    now: DateTime<Utc>,
) -> [Picture; 2] {
    let stages = pictures::stages_reached(project_bar_keys(project_type, stage), entries)
        .into_iter()
        .map(|(key, since)| (stage_name(lang, key), since))
        .collect();
    // A completed, handed-over or stopped project's last stage is a point.
    let runs = !matches!(stage, "completion" | "handed_over" | "cancelled" | "suspended");
    let today = now.with_timezone(&beijing()).date_naive();
    let schedule = pictures::ScheduleInput::of(summary, stages, runs, today);
    [pictures::schedule(lang, &schedule), pictures::money(lang, summary)]
}

pub(crate) async fn project_page(
    State(state): State<SiteState>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, by_switch) = Lang::negotiate(q.lang.as_deref(), &headers);
    let variant = Variant::of(lang, by_switch);
    let now = (state.clock)();
    if let Some(page) = state.pages.get(&code, variant, now) {
        return html_bytes(StatusCode::OK, page.lang, page.body.clone(), Some(page.etag.clone()));
    }
    // Taken before reading, so an eviction during the render is noticed.
    let ticket = state.pages.ticket();
    let (project, entries) = match load(&state.store, &code).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let message = match lang {
                Lang::Zh => format!("没有项目代码为 {code} 的公开项目。请核对代码，或在项目列表中搜索。"),
                Lang::En => {
                    format!("No public project has the code {code}. Check the code or search the project list.")
                }
            };
            return not_found(lang, by_switch, message);
        }
        Err(error) => return unavailable(error),
    };
    let summary = decode_summary(&project.summary);
    let bar = || project_bar_keys(&project.project_type, &project.stage);
    let current = bar().position(|key| key == project.stage);
    let stage_bar = bar()
        .enumerate()
        .map(|(i, key)| StageStep {
            name: stage_name(lang, key),
            class: match current {
                Some(c) if i < c => "done",
                Some(c) if i == c => "current",
                _ => "todo",
            },
        })
        .collect();
    let stage_note = if current.is_none() {
        format!("{}：{}", lang.pick("项目状态", "Project status"), stage_name(lang, &project.stage))
    } else {
        String::new()
    };
    let seq_of: BTreeMap<&str, u64> = entries.iter().map(|e| (e.event_id.as_str(), e.project_seq)).collect();
    let arranged = timeline::arrange(&entries);
    let grouped = arranged.len() > 1;
    let view = |at: usize| entry_view(lang, &entries[at], &seq_of);
    let item = |item: &timeline::Item| ItemView {
        entry: view(item.entry),
        corrections: item.corrections.iter().map(|at| view(*at)).collect(),
    };
    let groups = arranged
        .iter()
        .map(|group| {
            let folded = timeline::folded(group.items.len());
            GroupView {
                heading: timeline::heading(lang, &group.key, grouped),
                older_summary: timeline::older_summary(lang, folded),
                older: group.items[..folded].iter().map(item).collect(),
                recent: group.items[folded..].iter().map(item).collect(),
            }
        })
        .collect();
    let mut figures = Vec::new();
    let mut figure = |label: (&str, &str), fen: i64| {
        figures.push((lang.pick(label.0, label.1).to_owned(), yuan_human(lang, fen), yuan_exact(fen)));
    };
    if summary.baseline_investment_fen != 0 {
        figure(("批复总投资", "Approved total investment"), summary.baseline_investment_fen);
    }
    if let Some(fen) = summary.current_contract_price_fen {
        figure(("当前合同价", "Current contract value"), fen);
    }
    if let Some(fen) = summary.final_cost_fen {
        figure(("决算总投资", "Final cost"), fen);
    }
    figures.extend(outcome::project_rows(lang, &summary));
    let contracts = outcome::contract_rows(lang, &summary);
    let pictures = project_pictures(lang, &project.project_type, &project.stage, &summary, &entries, now);
    let land = land_rows(lang, &summary);
    let (clocks, clocks_hold_until) = running_clocks(lang, &entries, now);
    let log = proof::log_status(&state.store, lang, &code, summary.head_seq).await;
    // The schedule picture marks today: the page is drawn again on the next
    // Beijing day.
    let tomorrow = (now.with_timezone(&beijing()).date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(beijing()).single())
        .map(|midnight| midnight.with_timezone(&Utc));
    // A log status the store could not give is drawn again on the next request.
    let log_holds_until = (log.logged == proof::Logged::Unknown).then_some(now);
    let valid_until = [clocks_hold_until, log_holds_until, tomorrow].into_iter().flatten().min();
    let links_q = if lang == Lang::En && by_switch { "?lang=en" } else { "" };
    let page = ProjectPage {
        page: page_meta(lang, by_switch, format!("{} · 公开 gongkai", project.name), &format!("/projects/{code}")),
        name: project.name.clone(),
        kind: type_name(lang, &project.project_type),
        region: region_full(lang, &project.region_code),
        owner: summary.owner.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        stage_note,
        updating: project
            .parked_since
            .map(|_| {
                lang.pick(
                    "本项目时间线正在更新，最新的披露暂未显示；以下为此前已公开的内容。",
                    "This timeline is being updated: the latest disclosures are not shown yet; below is what was public before.",
                )
                .to_owned()
            })
            .unwrap_or_default(),
        stage_bar,
        clocks,
        pictures,
        figures,
        contracts,
        land,
        groups,
        grouped,
        promptness: promptness::project_links(lang, &project.region_code, &entries, links_q),
        chain_head: summary.chain_head_hash.clone(),
        log: log.lines,
        head_seq: summary.head_seq,
        tenders: opendata::tender_codes(&entries),
        code,
    };
    // Sized for a whole page up front: growing the buffer copied it several times.
    let mut body = String::with_capacity(PAGE_CAPACITY);
    if let Err(error) = page.render_into(&mut body) {
        return template_failed(&error);
    }
    let body = Bytes::from(body);
    let etag = conditional::body_etag(&body);
    state.pages.insert(
        &page.code,
        variant,
        ticket,
        CachedPage {
            lang,
            body: body.clone(),
            etag: etag.clone(),
            valid_until,
            awaits_checkpoint: log.logged == proof::Logged::Waiting,
        },
    );
    html_bytes(StatusCode::OK, lang, body, Some(etag))
}

//! Pictures on the site's pages, drawn on the server as inline SVG: a
//! project's schedule (planned against actual, per stage and per contract,
//! today marked) and its money (bars on one scale), and the home page's
//! projects by stage and by region and amounts under way.
//!
//! Pure: inputs are plain values (built from the public summary and
//! timeline by [`ScheduleInput::of`] and [`money`], or from the store's
//! totals by the caller), the output a [`Picture`] whose [`Picture::html`]
//! is a `<figure>`. Every picture carries its text alternative: a caption,
//! `role="img"` with that caption as its accessible name, and a visually
//! hidden table of the same figures, plus notes of anything drawn clamped.
//!
//! Project data is hostile: every text goes through [`escape`] (markup
//! escaped, characters XML forbids dropped), amounts are drawn as `f64`
//! clamped to the scale, dates are clamped to [`FIRST_YEAR`]..=[`LAST_YEAR`]
//! (and said so), so nothing panics, overflows or draws outside the
//! `viewBox`. The geometry is sized for a 400-unit wide `viewBox` drawn at
//! 100 % of its column: about 360 px on a 390-px phone, so the smallest
//! (12.5-unit) text reads at 11.2 px; labels sit on their own line above
//! each bar, so they never overlap it or each other.

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate};
use gongkai_domain::clock::{beijing, utc_or_epoch};
use gongkai_domain::money::AMOUNT_MAX_FEN;
use gongkai_domain::vocabulary::stage_label;
use gongkai_proto::v1::{
    CalendarDate, MilestoneKind, ProjectSummary, PublicEvent, Stage, TimelineEntry, fact, public_event,
};
use prost::Message;

use crate::feeds::xml_text;
use crate::text::{Lang, yuan_exact, yuan_human};

/// Width of every picture's `viewBox`.
const WIDTH: f64 = 400.0;
/// Label and value size (`viewBox` units): 12 px on a 390-px phone.
const FONT: f64 = 13.5;
/// Axis, legend and in-bar size: 11.2 px on that phone.
const SMALL: f64 = 12.5;
/// Height of a bar.
const BAR: f64 = 11.0;
/// Height of one labelled bar: its label line, the bar and a gap.
const ROW: f64 = 35.0;
/// Height of the stages' bar, which holds their names.
const STAGE_BAR: f64 = 16.0;
/// Height of a group heading line.
const HEADING: f64 = 20.0;
/// At most this many contracts are drawn; the table lists them all.
const MAX_CONTRACTS: usize = 8;
/// Dates outside these years are drawn at the edge and said so.
const FIRST_YEAR: i32 = 1900;
const LAST_YEAR: i32 = 2200;

/// Colours, each at least 3:1 against white (non-text contrast) and 4.5:1
/// under white text; shapes and labels, never colour alone, tell marks apart.
const INK: &str = "#1a1a1a";
const BLUE: &str = "#0b4f9c";
const MID_BLUE: &str = "#2f6db5";
const LIGHT_BLUE: &str = "#cfe3f7";
const GREEN: &str = "#2e6b30";
const GREY: &str = "#555555";
const TRACK: &str = "#ececec";
const TODAY: &str = "#a34700";

/// `text` fit for XML text and attribute values: what XML 1.0 forbids
/// dropped, markup and quotes escaped.
pub(crate) fn escape(text: &str) -> String {
    quick_xml::escape::escape(xml_text(text).as_ref()).into_owned()
}

/// Estimated advance of `text` at `size`: wide (CJK, full-width) characters
/// an em, others 0.62 em (generous for digits and Latin letters).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().map(|c| if is_wide(c) { 1.0 } else { 0.62 }).sum::<f64>() * size
}

fn is_wide(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{A4CF}' | '\u{AC00}'..='\u{D7A3}' | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FF60}' | '\u{FFE0}'..='\u{FFE6}' | '\u{20000}'..)
}

/// `text` cut with an ellipsis to fit `room` at `size` (the table keeps it
/// whole).
/// The line above a bar: `left` (text, size, weight) from the left edge,
/// cut to leave room for `right`, which ends at the right edge.
fn label_line(canvas: &mut Canvas, y: f64, left: (&str, f64, &str), right: (&str, f64, &str)) {
    let (right_text, right_size, right_weight) = right;
    let (left_text, left_size, left_weight) = left;
    canvas.text(WIDTH, y + 14.0, right_size, "end", INK, right_weight, right_text);
    let room = (WIDTH - text_width(right_text, right_size) - 10.0).max(0.0);
    canvas.text(0.0, y + 14.0, left_size, "start", INK, left_weight, &fit(left_text, room, left_size));
}

fn fit(text: &str, room: f64, size: f64) -> String {
    if text_width(text, size) <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = text_width("…", size);
    for c in text.chars() {
        used += text_width(c.encode_utf8(&mut [0; 4]), size);
        if used > room {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// A number for SVG: at most one decimal, never NaN or infinite.
fn n(value: f64) -> Number {
    Number(if value.is_finite() { (value * 10.0).round() } else { 0.0 })
}

/// A number as `n` writes it, in tenths: written straight into the
/// picture, with integer arithmetic for every coordinate the pictures use
/// (float formatting, and a `String` per number, cost more than the rest of
/// the drawing).
#[derive(Debug, Clone, Copy)]
struct Number(f64);

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = self.0;
        // Exact as an integer; -0 keeps its sign as the float path writes it.
        if tenths.abs() < 1e15 && !(tenths == 0.0 && tenths.is_sign_negative()) {
            let tenths = tenths as i64;
            let (sign, whole, tenth) = (if tenths < 0 { "-" } else { "" }, tenths.abs() / 10, tenths.abs() % 10);
            return if tenth == 0 { write!(f, "{sign}{whole}") } else { write!(f, "{sign}{whole}.{tenth}") };
        }
        if tenths % 10.0 == 0.0 { write!(f, "{}", tenths / 10.0) } else { write!(f, "{:.1}", tenths / 10.0) }
    }
}

/// A picture and its text alternative.
#[derive(Debug)]
pub(crate) struct Picture {
    /// Prefix of the element ids, unique on its page.
    id: &'static str,
    caption: String,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Drawn {
        svg: String,
        /// Column heads, then rows, of the table of the same figures.
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        /// What the picture clamps or leaves out, in words.
        notes: Vec<String>,
    },
    /// Nothing to draw, and why.
    Nothing(String),
}

impl Picture {
    /// The `<figure>`: caption, the SVG (or why there is none), the hidden
    /// table and the notes. All text is escaped here.
    pub(crate) fn html(&self) -> String {
        let id = self.id;
        let caption = escape(&self.caption);
        let mut out =
            format!(r#"<figure class="picture" id="{id}"><figcaption id="{id}-caption">{caption}</figcaption>"#);
        match &self.body {
            Body::Nothing(why) => {
                let _ = write!(out, r#"<p class="meta">{}</p>"#, escape(why));
            }
            Body::Drawn { svg, columns, rows, notes } => {
                out.push_str(svg);
                let _ = write!(out, r#"<table class="vh"><caption>{caption}</caption><thead><tr>"#);
                for column in columns {
                    let _ = write!(out, r#"<th scope="col">{}</th>"#, escape(column));
                }
                out.push_str("</tr></thead><tbody>");
                for row in rows {
                    out.push_str("<tr>");
                    for (i, cell) in row.iter().enumerate() {
                        let (open, close) = if i == 0 { (r#"<th scope="row">"#, "</th>") } else { ("<td>", "</td>") };
                        let _ = write!(out, "{open}{}{close}", escape(cell));
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table>");
                for note in notes {
                    let _ = write!(out, r#"<p class="meta">{}</p>"#, escape(note));
                }
            }
        }
        out.push_str("</figure>");
        out
    }

    #[cfg(test)]
    fn svg(&self) -> Option<&str> {
        match &self.body {
            Body::Drawn { svg, .. } => Some(svg),
            Body::Nothing(_) => None,
        }
    }
}

/// An SVG being drawn: the elements, and how tall it has grown.
struct Canvas {
    body: String,
    height: f64,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas { body: String::new(), height: 0.0 }
    }

    /// A text at (`x`, `y`); size, anchor, colour and weight are written
    /// only where they differ from the picture's defaults (`FONT`, start,
    /// `INK`, normal), which keeps the page light.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, fill: &str, weight: &str, text: &str) {
        let _ = write!(self.body, r#"<text x="{}" y="{}""#, n(x), n(y));
        if size != FONT {
            let _ = write!(self.body, r#" font-size="{}""#, n(size));
        }
        if anchor != "start" {
            let _ = write!(self.body, r#" text-anchor="{anchor}""#);
        }
        if fill != INK {
            let _ = write!(self.body, r#" fill="{fill}""#);
        }
        if !weight.is_empty() {
            let _ = write!(self.body, r#" font-weight="{weight}""#);
        }
        let _ = write!(self.body, ">{}</text>", escape(text));
    }

    /// A rectangle, its corners clamped into the `viewBox`'s width.
    fn rect(&mut self, x0: f64, x1: f64, y: f64, height: f64, fill: &str, stroke: Option<&str>) {
        let (x0, x1) = (x0.clamp(0.0, WIDTH), x1.clamp(0.0, WIDTH));
        let (x0, x1) = if x0 <= x1 { (x0, x1) } else { (x1, x0) };
        let stroke = stroke.map_or_else(String::new, |s| format!(r#" stroke="{s}" stroke-width="1""#));
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"{stroke}/>"#,
            n(x0),
            n(y),
            n(x1 - x0),
            n(height)
        );
    }

    fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, stroke: &str, dashed: bool) {
        let dash = if dashed { r#" stroke-dasharray="4 3""# } else { "" };
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" stroke-width="1.5"{dash}/>"#,
            n(x0.clamp(0.0, WIDTH)),
            n(y0),
            n(x1.clamp(0.0, WIDTH)),
            n(y1)
        );
    }

    /// A marker centred at `x` (kept inside the width) on a line at `y`.
    fn mark(&mut self, mark: Mark, x: f64, y: f64) {
        let x = x.clamp(6.0, WIDTH - 6.0);
        let points = match mark {
            Mark::Diamond => [(x, y - 7.0), (x + 6.0, y), (x, y + 7.0), (x - 6.0, y)].to_vec(),
            Mark::Triangle => [(x - 5.0, y - 6.0), (x + 5.0, y - 6.0), (x, y + 1.0)].to_vec(),
        };
        let points: Vec<String> = points.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
        let (fill, stroke) = match mark {
            Mark::Diamond => (INK, "#ffffff"),
            Mark::Triangle => (TODAY, "#ffffff"),
        };
        let _ = write!(
            self.body,
            r#"<polygon points="{}" fill="{fill}" stroke="{stroke}" stroke-width="1"/>"#,
            points.join(" ")
        );
    }

    /// The finished `<svg>`, named by `label`, with `defs` before the body.
    fn finish(self, id: &str, label: &str, defs: &str) -> String {
        let height = self.height.max(1.0).ceil();
        let label = escape(label);
        format!(
            r#"<svg role="img" aria-labelledby="{id}-caption" viewBox="0 0 {} {}" width="100%" font-size="{}" fill="{INK}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{defs}{}</svg>"#,
            n(WIDTH),
            n(height),
            n(FONT),
            self.body
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Mark {
    /// Actual completion.
    Diamond,
    /// A variation's new end date.
    Triangle,
}

// --- Bars on one scale ------------------------------------------------------

/// How a bar is filled: each kind of figure its own, named in its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Planned or approved.
    Plan,
    /// Signed or counted.
    Solid,
    /// After variations.
    Hatched,
    /// Paid.
    Paid,
    /// Final (settled, final accounts).
    Final,
}

/// One row of a bar chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BarRow {
    /// A heading over the bars that follow.
    Group(String),
    /// A bar: its label, value and value as read.
    Bar { label: String, value: i64, text: String, fill: Fill },
}

/// The scale of a bar chart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Values above it are drawn at full length and said to be off scale.
    pub(crate) cap: i64,
}

impl Scale {
    /// Amounts: capped at the domain's bound.
    pub(crate) const MONEY: Scale = Scale { cap: AMOUNT_MAX_FEN };
    /// Counts.
    pub(crate) const COUNT: Scale = Scale { cap: i64::MAX };
}

const HATCH: &str = "hatch";

/// Horizontal bars on one scale, each labelled above with its label and
/// value; `columns` head the table (label, value, then the exact amount
/// when `exact`).
pub(crate) fn bar_chart(
    lang: Lang,
    id: &'static str,
    caption: String,
    rows: &[BarRow],
    scale: Scale,
    exact: bool,
) -> Picture {
    let bars: Vec<i64> = rows
        .iter()
        .filter_map(|row| match row {
            BarRow::Bar { value, .. } => Some(*value),
            BarRow::Group(_) => None,
        })
        .collect();
    if bars.is_empty() {
        return Picture {
            id,
            caption,
            body: Body::Nothing(lang.pick("尚无可画的数据。", "Nothing to draw yet.").to_owned()),
        };
    }
    let top = bars.iter().copied().max().unwrap_or(0).clamp(1, scale.cap.max(1));
    let mut canvas = Canvas::new();
    let mut table = Vec::new();
    let mut notes = Vec::new();
    let mut group = String::new();
    let mut y = 0.0;
    for row in rows {
        match row {
            BarRow::Group(heading) => {
                canvas.text(0.0, y + 15.0, FONT, "start", INK, "bold", &fit(heading, WIDTH, FONT));
                y += HEADING;
                group = heading.clone();
            }
            BarRow::Bar { label, value, text, fill } => {
                label_line(&mut canvas, y, (label, FONT, ""), (text, FONT, "bold"));
                let bar_y = y + 19.0;
                canvas.rect(0.0, WIDTH, bar_y, BAR, TRACK, None);
                let length = (*value).clamp(0, top) as f64 / top as f64 * WIDTH;
                let (paint, stroke) = bar_paint(*fill, id);
                canvas.rect(0.0, length, bar_y, BAR, &paint, stroke);
                y += ROW;
                let named = if group.is_empty() { label.clone() } else { format!("{group} · {label}") };
                if *value < 0 {
                    notes.push(match lang {
                        Lang::Zh => format!("{named}为负数（{text}），按零画出。"),
                        Lang::En => format!("{named} is negative ({text}): drawn at zero."),
                    });
                } else if *value > scale.cap {
                    notes.push(match lang {
                        Lang::Zh => format!("{named}（{text}）超出比例尺，画至尽头。"),
                        Lang::En => format!("{named} ({text}) is off the scale: drawn to its end."),
                    });
                }
                let mut cells = vec![named, text.clone()];
                if exact {
                    cells.push(yuan_exact(*value));
                }
                table.push(cells);
            }
        }
    }
    canvas.height = y;
    let mut columns = vec![lang.pick("项目", "Item").to_owned(), lang.pick("数值", "Value").to_owned()];
    if exact {
        columns.push(lang.pick("精确金额", "Exact amount").to_owned());
    }
    let svg = canvas.finish(id, &caption, &hatch_defs(id));
    Picture { id, caption, body: Body::Drawn { svg, columns, rows: table, notes } }
}

/// The paint (and outline) of a bar of `fill` in picture `id`.
fn bar_paint(fill: Fill, id: &str) -> (String, Option<&'static str>) {
    match fill {
        Fill::Plan => (LIGHT_BLUE.to_owned(), Some(BLUE)),
        Fill::Solid => (BLUE.to_owned(), None),
        Fill::Hatched => (format!("url(#{id}-{HATCH})"), Some(BLUE)),
        Fill::Paid => (GREEN.to_owned(), None),
        Fill::Final => (GREY.to_owned(), None),
    }
}

/// The hatch pattern of picture `id`: diagonal blue stripes on white, which
/// print as stripes in black and white too.
fn hatch_defs(id: &str) -> String {
    format!(
        r##"<defs><pattern id="{id}-{HATCH}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/><rect width="3" height="6" fill="{MID_BLUE}"/></pattern></defs>"##
    )
}

// --- Money -------------------------------------------------------------------

/// The money picture of a project: approved investment, each contract's
/// signed price, price in force, paid so far and settled value, and the
/// final accounts' cost, as bars on one scale.
pub(crate) fn money(lang: Lang, summary: &ProjectSummary) -> Picture {
    let mut rows = Vec::new();
    let bar = |label: (&str, &str), fen: i64, fill: Fill| BarRow::Bar {
        label: lang.pick(label.0, label.1).to_owned(),
        value: fen,
        text: yuan_human(lang, fen),
        fill,
    };
    if summary.baseline_investment_fen != 0 {
        rows.push(bar(("批复总投资", "Approved investment"), summary.baseline_investment_fen, Fill::Plan));
    }
    for outcome in summary.contract_outcomes.iter().take(MAX_CONTRACTS) {
        rows.push(BarRow::Group(format!("{} {}", lang.pick("合同", "Contract"), outcome.contract_code)));
        rows.push(bar(("签约合同价", "Signed"), outcome.signed_price_fen, Fill::Solid));
        rows.push(bar(("现合同价（含变更）", "With variations"), outcome.current_price_fen, Fill::Hatched));
        rows.push(bar(("已支付", "Paid so far"), outcome.paid_fen, Fill::Paid));
        if let Some(settled) = outcome.settled_value_fen {
            rows.push(bar(("结算价款", "Settled"), settled, Fill::Final));
        }
    }
    if let Some(final_cost) = summary.final_cost_fen {
        rows.push(bar(("决算总投资", "Final cost"), final_cost, Fill::Final));
    }
    let caption = lang.pick("金额（同一比例尺）", "Amounts (one scale)").to_owned();
    let mut picture = bar_chart(lang, "money", caption, &rows, Scale::MONEY, true);
    let contracts = summary.contract_outcomes.len();
    if let Body::Drawn { notes, .. } = &mut picture.body {
        if contracts > MAX_CONTRACTS {
            notes.push(match lang {
                Lang::Zh => format!("图中画出前 {MAX_CONTRACTS} 份合同（共 {contracts} 份），全部见下方合同结果表。"),
                Lang::En => format!(
                    "The first {MAX_CONTRACTS} of {contracts} contracts are drawn; the outcome table below lists all."
                ),
            });
        }
    } else {
        picture.body = Body::Nothing(
            lang.pick("尚无批复总投资或合同金额。", "No approved investment or contract amount yet.").to_owned(),
        );
    }
    picture
}

// --- Schedule ----------------------------------------------------------------

/// A contract's periods as the schedule draws them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContractDates {
    pub(crate) code: String,
    pub(crate) signed_start: Option<NaiveDate>,
    pub(crate) signed_end: Option<NaiveDate>,
    /// End date in force after variations.
    pub(crate) current_end: Option<NaiveDate>,
    /// The new end dates of the variations that moved it, in order.
    pub(crate) variations: Vec<(String, NaiveDate)>,
    pub(crate) completed: Option<NaiveDate>,
}

/// What the schedule picture draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleInput {
    /// The approval's planned construction period.
    pub(crate) planned: Option<(NaiveDate, NaiveDate)>,
    /// Each stage reached (its name) and since when, in order.
    pub(crate) stages: Vec<(String, NaiveDate)>,
    /// Whether the last stage reached is still running (else it is drawn
    /// as a point: the project completed, was handed over or cancelled).
    pub(crate) last_stage_runs: bool,
    pub(crate) contracts: Vec<ContractDates>,
    pub(crate) today: NaiveDate,
}

/// A calendar date, if it is one.
pub(crate) fn calendar_day(date: Option<&CalendarDate>) -> Option<NaiveDate> {
    let date = date?;
    NaiveDate::from_ymd_opt(date.year, u32::try_from(date.month).ok()?, u32::try_from(date.day).ok()?)
}

impl ScheduleInput {
    /// The schedule of `summary`, with `stages` reached (from the timeline)
    /// and `today`.
    pub(crate) fn of(
        summary: &ProjectSummary,
        stages: Vec<(String, NaiveDate)>,
        last_stage_runs: bool,
        today: NaiveDate,
    ) -> Self {
        let planned = summary
            .baseline_planned_period
            .as_ref()
            .and_then(|period| Some((calendar_day(period.start.as_ref())?, calendar_day(period.end.as_ref())?)));
        let contracts = summary
            .contract_outcomes
            .iter()
            .map(|outcome| {
                let period = outcome.signed_period.as_ref();
                ContractDates {
                    code: outcome.contract_code.clone(),
                    signed_start: calendar_day(period.and_then(|p| p.start.as_ref())),
                    signed_end: calendar_day(period.and_then(|p| p.end.as_ref())),
                    current_end: calendar_day(outcome.current_end_date.as_ref()),
                    variations: outcome
                        .changes
                        .iter()
                        .filter_map(|change| {
                            Some((change.variation_number.clone(), calendar_day(change.new_end_date.as_ref())?))
                        })
                        .collect(),
                    completed: calendar_day(outcome.actual_completion_date.as_ref()),
                }
            })
            .collect();
        ScheduleInput { planned, stages, last_stage_runs, contracts, today }
    }
}

fn first_drawable() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn last_drawable() -> NaiveDate {
    NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The time axis: dates to x.
struct Axis {
    start: NaiveDate,
    days: f64,
}

impl Axis {
    fn x(&self, date: NaiveDate) -> f64 {
        let date = date.clamp(first_drawable(), last_drawable());
        ((date - self.start).num_days() as f64 / self.days * WIDTH).clamp(0.0, WIDTH)
    }
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The schedule picture: the approval's planned period, the stages as
/// reached, each contract's signed period with its extension or
/// shortening, variations and completion, and today.
pub(crate) fn schedule(lang: Lang, input: &ScheduleInput) -> Picture {
    let caption = lang.pick("工期：计划与实际", "Schedule: planned and actual").to_owned();
    let contracts: Vec<&ContractDates> = input.contracts.iter().take(MAX_CONTRACTS).collect();
    let mut dates: Vec<NaiveDate> = vec![input.today];
    if let Some((start, end)) = input.planned {
        dates.extend([start, end]);
    }
    dates.extend(input.stages.iter().map(|(_, at)| *at));
    for c in &contracts {
        dates.extend([c.signed_start, c.signed_end, c.current_end, c.completed].into_iter().flatten());
        dates.extend(c.variations.iter().map(|(_, at)| *at));
    }
    if input.planned.is_none()
        && input.stages.is_empty()
        && contracts.iter().all(|c| c.signed_start.is_none() && c.signed_end.is_none())
    {
        return Picture {
            id: "schedule",
            caption,
            body: Body::Nothing(
                lang.pick("尚无计划工期、阶段或合同工期。", "No planned period, stage or contract period yet.")
                    .to_owned(),
            ),
        };
    }
    let mut notes = Vec::new();
    let (first, last) = (first_drawable(), last_drawable());
    if dates.iter().any(|d| *d < first || *d > last) {
        notes.push(match lang {
            Lang::Zh => format!("有日期在 {FIRST_YEAR}—{LAST_YEAR} 年之外，画在图的边缘；确切日期见表。"),
            Lang::En => format!(
                "Some dates lie outside {FIRST_YEAR}–{LAST_YEAR}: drawn at the edge; the table has them exactly."
            ),
        });
    }
    let lo = dates.iter().copied().min().unwrap_or(input.today).clamp(first, last);
    let hi = dates.iter().copied().max().unwrap_or(input.today).clamp(first, last);
    // A margin of 3 % (at least two weeks) on either side.
    let pad = Duration::days(((hi - lo).num_days() / 33).max(14));
    let start = lo.checked_sub_signed(pad).unwrap_or(lo);
    let end = hi.checked_add_signed(pad).unwrap_or(hi);
    let axis = Axis { start, days: ((end - start).num_days() as f64).max(1.0) };

    let mut canvas = Canvas::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let today_x = axis.x(input.today);
    // Today's label on top, kept inside the width.
    let today_label = format!("{} {}", lang.pick("今天", "Today"), iso(input.today));
    let half = text_width(&today_label, SMALL) / 2.0;
    canvas.text(today_x.clamp(half, WIDTH - half), 12.0, SMALL, "middle", TODAY, "bold", &today_label);
    let mut y = 18.0;
    // Each row's bar band, where today's line crosses it (never its labels).
    let mut bands: Vec<(f64, f64)> = Vec::new();
    let mut row = |canvas: &mut Canvas, label: &str, right: &str, bar: f64| -> f64 {
        label_line(canvas, y, (label, FONT, "bold"), (right, SMALL, ""));
        let bar_y = y + 19.0;
        bands.push((bar_y - 3.0, bar_y + bar + 3.0));
        y += ROW - BAR + bar;
        bar_y
    };

    if let Some((start, end)) = input.planned {
        let (start, end) = (start.min(end), start.max(end));
        let label = lang.pick("批复计划工期", "Approved plan");
        let bar_y = row(&mut canvas, label, &format!("{} – {}", iso(start), iso(end)), BAR);
        canvas.rect(axis.x(start), axis.x(end), bar_y, BAR, LIGHT_BLUE, Some(BLUE));
        table.push(vec![label.to_owned(), iso(start), iso(end), String::new()]);
    }

    if !input.stages.is_empty() {
        let label = lang.pick("实际阶段", "Stages as reached");
        let current = input.stages.last().map(|(name, _)| name.as_str()).unwrap_or_default();
        let bar_y = row(&mut canvas, label, current, STAGE_BAR);
        for (i, (name, since)) in input.stages.iter().enumerate() {
            let next = input.stages.get(i + 1).map(|(_, at)| *at);
            let until = match next {
                Some(next) => next.max(*since),
                None if input.last_stage_runs => input.today.max(*since),
                None => *since,
            };
            let (x0, x1) = (axis.x(*since), axis.x(until));
            // Alternate shades with a white gap, so each stage reads apart.
            let paint = if i % 2 == 0 { BLUE } else { MID_BLUE };
            canvas.rect(x0, x1.max(x0 + 2.0), bar_y, STAGE_BAR, paint, None);
            if x1 - x0 > 1.0 {
                canvas.line(x0, bar_y, x0, bar_y + STAGE_BAR, "#ffffff", false);
            }
            if x1 - x0 >= text_width(name, SMALL) + 6.0 {
                canvas.text((x0 + x1) / 2.0, bar_y + 12.5, SMALL, "middle", "#ffffff", "", name);
            }
            let until_text = match next {
                Some(_) => iso(until),
                None if input.last_stage_runs => lang.pick("至今", "ongoing").to_owned(),
                None => String::new(),
            };
            table.push(vec![
                format!("{}{}", lang.pick("阶段：", "Stage: "), name),
                iso(*since),
                until_text,
                String::new(),
            ]);
        }
    }

    for c in &contracts {
        let label = format!("{} {}", lang.pick("合同", "Contract"), c.code);
        let start = c.signed_start.or(c.signed_end).or(c.current_end);
        let signed_end = c.signed_end.or(c.signed_start);
        let in_force = c.current_end.or(signed_end);
        let right = match (start, in_force) {
            (Some(start), Some(end)) => format!("{} – {}", iso(start), iso(end)),
            _ => String::new(),
        };
        let bar_y = row(&mut canvas, &label, &right, BAR);
        if let (Some(start), Some(signed_end), Some(in_force)) = (start, signed_end, in_force) {
            let (xs, xe, xf) = (axis.x(start), axis.x(signed_end), axis.x(in_force));
            if xf >= xe {
                canvas.rect(xs, xe.max(xs + 1.0), bar_y, BAR, BLUE, None);
                if xf > xe {
                    canvas.rect(xe, xf, bar_y, BAR, &format!("url(#schedule-{HATCH})"), Some(BLUE));
                }
            } else {
                canvas.rect(xs, xf.max(xs + 1.0), bar_y, BAR, BLUE, None);
                canvas.rect(xf, xe, bar_y, BAR, "#ffffff", Some(BLUE));
            }
        }
        for (_, moved_to) in &c.variations {
            canvas.mark(Mark::Triangle, axis.x(*moved_to), bar_y - 1.0);
        }
        if let Some(done) = c.completed {
            canvas.mark(Mark::Diamond, axis.x(done), bar_y + BAR / 2.0);
        }
        let mut details = Vec::new();
        if let Some(end) = c.current_end.filter(|end| Some(*end) != c.signed_end) {
            details.push(format!("{}{}", lang.pick("现约定竣工 ", "end now agreed "), iso(end)));
        }
        for (number, moved_to) in &c.variations {
            details.push(match lang {
                Lang::Zh => format!("变更 {number} 改至 {}", iso(*moved_to)),
                Lang::En => format!("variation {number} moved it to {}", iso(*moved_to)),
            });
        }
        details.push(match c.completed {
            Some(done) => format!("{}{}", lang.pick("实际竣工 ", "completed "), iso(done)),
            None => lang.pick("未验收", "not accepted").to_owned(),
        });
        let sep = lang.pick("；", "; ");
        table.push(vec![
            label,
            c.signed_start.map(iso).unwrap_or_default(),
            c.signed_end.map(iso).unwrap_or_default(),
            details.join(sep),
        ]);
    }
    if input.contracts.len() > MAX_CONTRACTS {
        notes.push(match lang {
            Lang::Zh => {
                format!("图中画出前 {MAX_CONTRACTS} 份合同（共 {} 份），全部见下方合同结果表。", input.contracts.len())
            }
            Lang::En => format!(
                "The first {MAX_CONTRACTS} of {} contracts are drawn; the outcome table below lists all.",
                input.contracts.len()
            ),
        });
    }
    for (top, bottom) in bands {
        canvas.line(today_x, top, today_x, bottom, TODAY, true);
    }
    table.push(vec![lang.pick("今天", "Today").to_owned(), iso(input.today), String::new(), String::new()]);

    canvas.line(today_x, y - 2.0, today_x, y + 8.0, TODAY, false);
    y = draw_axis(&mut canvas, lang, &axis, end, y + 4.0);
    y = draw_legend(&mut canvas, lang, y + 4.0);
    canvas.height = y;
    let columns = [("项目", "Row"), ("开始", "Start"), ("结束", "End"), ("说明", "Notes")]
        .iter()
        .map(|(zh, en)| lang.pick(zh, en).to_owned())
        .collect();
    let svg = canvas.finish("schedule", &caption, &hatch_defs("schedule"));
    Picture { id: "schedule", caption, body: Body::Drawn { svg, columns, rows: table, notes } }
}

/// The time axis from `axis.start` to `end` at `y`: a line, year ticks
/// labelled as often as they fit, month ticks where they are far enough
/// apart. Returns the new bottom.
fn draw_axis(canvas: &mut Canvas, lang: Lang, axis: &Axis, end: NaiveDate, y: f64) -> f64 {
    canvas.line(0.0, y, WIDTH, y, GREY, false);
    let per_day = WIDTH / axis.days;
    let per_month = per_day * 30.4;
    let per_year = per_day * 365.25;
    // Label every `step` years, so that labels stand at least 44 units apart.
    let step = [1, 2, 5, 10, 20, 50, 100].into_iter().find(|step| f64::from(*step) * per_year >= 44.0).unwrap_or(100);
    let label_months = per_month * 3.0 >= 40.0;
    let mut month = NaiveDate::from_ymd_opt(axis.start.year(), axis.start.month(), 1).unwrap_or(axis.start);
    // Bounded: the axis spans at most the drawable years plus a margin.
    for _ in 0..(12 * (LAST_YEAR - FIRST_YEAR + 3)) {
        if month > end {
            break;
        }
        if month >= axis.start {
            let x = axis.x(month);
            if month.month() == 1 {
                canvas.line(x, y, x, y + 6.0, GREY, false);
                if month.year() % step == 0 && (17.0..=WIDTH - 17.0).contains(&x) {
                    canvas.text(x, y + 18.0, SMALL, "middle", INK, "", &month.year().to_string());
                }
            } else if per_month >= 4.0 {
                canvas.line(x, y, x, y + 3.0, GREY, false);
                if label_months && month.month() % 3 == 1 && (14.0..=WIDTH - 14.0).contains(&x) {
                    let name = match lang {
                        Lang::Zh => format!("{}月", month.month()),
                        Lang::En => month.format("%b").to_string(),
                    };
                    canvas.text(x, y + 18.0, SMALL, "middle", GREY, "", &name);
                }
            }
        }
        month = month.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX);
        if month == NaiveDate::MAX {
            break;
        }
    }
    y + 24.0
}

/// The legend, wrapped to the width. Returns the new bottom.
fn draw_legend(canvas: &mut Canvas, lang: Lang, y: f64) -> f64 {
    let items: [(&str, &str); 6] = [
        ("批复计划", "Approved plan"),
        ("约定工期", "Signed period"),
        ("延期", "Extension"),
        ("变更后竣工日", "Varied end date"),
        ("实际竣工", "Completed"),
        ("今天", "Today"),
    ];
    let (mut x, mut line) = (0.0, y);
    for (i, (zh, en)) in items.iter().enumerate() {
        let text = lang.pick(zh, en);
        let width = 18.0 + text_width(text, SMALL) + 12.0;
        if x > 0.0 && x + width > WIDTH {
            x = 0.0;
            line += 18.0;
        }
        let mid = line + 8.0;
        match i {
            0 => canvas.rect(x, x + 14.0, mid - 5.0, 10.0, LIGHT_BLUE, Some(BLUE)),
            1 => canvas.rect(x, x + 14.0, mid - 5.0, 10.0, BLUE, None),
            2 => canvas.rect(x, x + 14.0, mid - 5.0, 10.0, &format!("url(#schedule-{HATCH})"), Some(BLUE)),
            3 => canvas.mark(Mark::Triangle, x + 7.0, mid + 2.0),
            4 => canvas.mark(Mark::Diamond, x + 7.0, mid),
            _ => canvas.line(x + 7.0, mid - 7.0, x + 7.0, mid + 7.0, TODAY, true),
        }
        canvas.text(x + 18.0, mid + 4.0, SMALL, "start", INK, "", text);
        x += width;
    }
    line + 20.0
}

/// The stage a public fact takes its project into (by its kind, and for a
/// milestone by the milestone's kind), as a stage label; `None` for facts
/// of no particular stage (land, PPP details, suspensions, corrections'
/// own bookkeeping).
fn stage_of(entry: &TimelineEntry) -> Option<&'static str> {
    let kind = entry.fact_type.rsplit('.').next().unwrap_or_default();
    let stage = match kind {
        "ProjectApproved" => Stage::Approval,
        "TenderAnnounced" => Stage::Tendering,
        "BidsOpened" | "BidsEvaluated" | "CandidatesPublicized" => Stage::Evaluation,
        "AwardAnnounced" | "AwardNoticeIssued" => Stage::Award,
        "ContractSigned" => Stage::Contract,
        "PaymentMade" | "PerformanceIssueRecorded" | "ContractVaried" => Stage::Performance,
        "CompletionAccepted" | "ContractSettled" | "FinalAccountsSettled" => Stage::Completion,
        "MilestoneReached" => match milestone_kind(entry) {
            Some(MilestoneKind::OperationStart) => Stage::Operation,
            Some(MilestoneKind::Handover) => Stage::HandedOver,
            _ => Stage::Performance,
        },
        _ => return None,
    };
    Some(stage_label(stage))
}

/// The kind of the milestone an entry records, from its public event.
fn milestone_kind(entry: &TimelineEntry) -> Option<MilestoneKind> {
    let event = PublicEvent::decode(entry.public_event.as_slice()).ok()?;
    let fact = match event.body? {
        public_event::Body::Fact(fact) => fact,
        public_event::Body::Correction(correction) => correction.replacement?,
    };
    match fact.kind? {
        fact::Kind::MilestoneReached(milestone) => Some(milestone.kind()),
        _ => None,
    }
}

/// When the project reached each stage of `bar` (stage labels in order),
/// by the business day (Beijing time) of its first fact of that stage in
/// the public timeline `entries`, superseded entries left out: stages
/// never reached are skipped, and a stage is never drawn before the one
/// it follows.
pub(crate) fn stages_reached<'a>(
    bar: impl Iterator<Item = &'a str>,
    entries: &[TimelineEntry],
) -> Vec<(&'a str, NaiveDate)> {
    let mut first: std::collections::BTreeMap<&str, NaiveDate> = std::collections::BTreeMap::new();
    for entry in entries.iter().filter(|e| e.superseded_by_event_id.is_empty()) {
        if let Some(stage) = stage_of(entry) {
            let day = utc_or_epoch(entry.occurred_at.as_ref()).with_timezone(&beijing()).date_naive();
            let earliest = first.entry(stage).or_insert(day);
            *earliest = (*earliest).min(day);
        }
    }
    let mut reached: Vec<(&str, NaiveDate)> = Vec::new();
    for key in bar {
        if let Some(day) = first.get(key) {
            let day = reached.last().map_or(*day, |(_, before)| (*day).max(*before));
            reached.push((key, day));
        }
    }
    reached
}

#[cfg(test)]
mod tests;

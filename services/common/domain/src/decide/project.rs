//! Project-level hard rules: approval, the gate every other fact passes
//! (approved and not cancelled), PPP details and resumption.

use gongkai_proto::v1::ProjectType;
use gongkai_proto::v1::fact::Kind;

use super::rules::{
    PPP_DETAILS_EXIST, PROJECT_CANCELLED, PROJECT_EXISTS, PROJECT_NOT_FOUND, PROJECT_NOT_PPP, PROJECT_NOT_SUSPENDED,
};
use super::{Ctx, reject};
use crate::kinds::kind_name;
use crate::state::ProjectStatus;
use crate::{ComplianceFlag, Rejection};

type Decision = Result<Vec<ComplianceFlag>, Rejection>;

/// ProjectApproved: only for a project not yet approved.
pub(super) fn approved(ctx: &Ctx<'_>) -> Decision {
    match ctx.state.approval() {
        Some(approval) => Err(reject(
            PROJECT_EXISTS,
            format!("项目 {} 已于事件 {} 立项，不能再次立项", ctx.project_code, approval.event_id),
            "the project is already approved",
        )
        .with("project_code", ctx.project_code)
        .with("event_id", approval.event_id.clone())),
        None => Ok(Vec::new()),
    }
}

/// Every fact but the approval: the project must be approved and not
/// cancelled (then only corrections are taken). A suspended project still
/// records what happens: the bus records facts, even unlawful ones.
pub(super) fn gate(ctx: &Ctx<'_>, kind: &Kind) -> Result<(), Rejection> {
    let state = ctx.state;
    let name = kind_name(kind);
    match state.status() {
        None => Err(reject(
            PROJECT_NOT_FOUND,
            format!("项目 {} 尚未立项，不能记录 {name}", ctx.project_code),
            format!("no approval recorded for this project before {name}"),
        )
        .with("project_code", ctx.project_code)),
        Some(ProjectStatus::Cancelled) => Err(reject(
            PROJECT_CANCELLED,
            format!("项目 {} 已撤销，不能再记录 {name}（只能更正已有记录）", ctx.project_code),
            "the project is cancelled; only corrections are accepted",
        )
        .with("project_code", ctx.project_code)
        .with("project_state", "cancelled")
        .with("event_id", state.status_event_id().unwrap_or_default())),
        Some(_) => Ok(()),
    }
}

/// PppDetailsDisclosed: only for a PPP project, once.
pub(super) fn ppp_details(ctx: &Ctx<'_>) -> Decision {
    let state = ctx.state;
    if state.project_type() != Some(ProjectType::Ppp) {
        let project_type = state.project_type().map_or("unspecified", |t| t.as_str_name());
        return Err(reject(
            PROJECT_NOT_PPP,
            format!("项目 {} 不是 PPP 项目（立项类型 {project_type}），不能披露 PPP 信息", ctx.project_code),
            "the project was not approved as a PPP project",
        )
        .with("project_code", ctx.project_code)
        .with("project_type", project_type));
    }
    if let Some(details) = state.ppp_details() {
        return Err(reject(
            PPP_DETAILS_EXIST,
            format!("项目 {} 已于事件 {} 披露 PPP 信息，如需修改请提交更正", ctx.project_code, details.event_id),
            "PPP details were already disclosed; correct them instead",
        )
        .with("project_code", ctx.project_code)
        .with("event_id", details.event_id.clone()));
    }
    Ok(Vec::new())
}

/// ProjectResumed: only for a suspended project.
pub(super) fn resumed(ctx: &Ctx<'_>) -> Decision {
    if ctx.state.status() == Some(ProjectStatus::Suspended) {
        return Ok(Vec::new());
    }
    Err(reject(
        PROJECT_NOT_SUSPENDED,
        format!("项目 {} 未暂停，无需恢复", ctx.project_code),
        "the project is not suspended",
    )
    .with("project_code", ctx.project_code)
    .with("project_state", "active"))
}

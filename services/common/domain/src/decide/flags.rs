//! Building compliance flags: the rule's code, Chinese title and legal anchor,
//! the events involved (oldest first, the new one last) and the figures.

use gongkai_proto::v1::Figure;

use super::rules;
use crate::vocabulary::FigureUnit;
use crate::{ComplianceFlag, ProjectState};

/// A soft rule's fixed texts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SoftRule {
    pub(crate) code: &'static str,
    pub(crate) title: &'static str,
    pub(crate) legal_basis: &'static str,
}

pub(crate) const BID_PERIOD: SoftRule = SoftRule {
    code: rules::TBL_24_BID_PERIOD,
    title: "招标文件发出至投标截止不足20日",
    legal_basis: "招标投标法第二十四条 (TBL art. 24)",
};
pub(crate) const SALE_WINDOW: SoftRule = SoftRule {
    code: rules::IR_16_SALE_WINDOW,
    title: "招标文件发售期不足5日",
    legal_basis: "招标投标法实施条例第十六条 (IR art. 16)",
};
pub(crate) const PREQUAL_PERIOD: SoftRule = SoftRule {
    code: rules::IR_17_PREQUAL_PERIOD,
    title: "资格预审申请文件提交时间不足5日",
    legal_basis: "招标投标法实施条例第十七条 (IR art. 17)",
};
pub(crate) const LATE_CLARIFICATION: SoftRule = SoftRule {
    code: rules::TBL_23_LATE_CLARIFICATION,
    title: "影响投标文件编制的澄清或修改距投标截止不足15日且未顺延",
    legal_basis: "招标投标法第二十三条、实施条例第二十一条 (TBL art. 23, IR art. 21)",
};
pub(crate) const OPENING_TIME: SoftRule = SoftRule {
    code: rules::TBL_34_OPENING_TIME,
    title: "开标时间与投标截止时间不一致",
    legal_basis: "招标投标法第三十四条 (TBL art. 34)",
};
pub(crate) const FEWER_THAN_3_BIDS: SoftRule = SoftRule {
    code: rules::TBL_28_FEWER_THAN_3_BIDS,
    title: "投标人少于3个仍评标或定标",
    legal_basis: "招标投标法第二十八条、实施条例第四十四条 (TBL art. 28, IR art. 44)",
};
pub(crate) const PUBLICITY_DELAY: SoftRule = SoftRule {
    code: rules::IR_54_PUBLICITY_DELAY,
    title: "收到评标报告后3日内未公示中标候选人",
    legal_basis: "招标投标法实施条例第五十四条 (IR art. 54)",
};
pub(crate) const PUBLICITY_SHORT: SoftRule = SoftRule {
    code: rules::IR_54_PUBLICITY_SHORT,
    title: "中标候选人公示期不足3日",
    legal_basis: "招标投标法实施条例第五十四条 (IR art. 54)",
};
pub(crate) const NOT_FIRST_RANKED: SoftRule = SoftRule {
    code: rules::IR_55_NOT_FIRST_RANKED,
    title: "未确定排名第一的中标候选人为中标人且未说明理由",
    legal_basis: "招标投标法实施条例第五十五条 (IR art. 55)",
};
pub(crate) const LATE_CONTRACT: SoftRule = SoftRule {
    code: rules::TBL_46_LATE_CONTRACT,
    title: "中标通知书发出后超过30日签订合同",
    legal_basis: "招标投标法第四十六条 (TBL art. 46)",
};
pub(crate) const PRICE_MISMATCH: SoftRule = SoftRule {
    code: rules::TBL_46_PRICE_MISMATCH,
    title: "合同价与中标价不一致",
    legal_basis: "招标投标法第四十六条 (TBL art. 46)",
};
pub(crate) const VARIATION_OVER_10PCT: SoftRule =
    SoftRule {
        code: rules::GK_VARIATION_OVER_10PCT, title: "合同累计变更超过合同价的10%", legal_basis: ""
    };
pub(crate) const COMPLETION_OVERRUN: SoftRule =
    SoftRule { code: rules::GK_COMPLETION_OVERRUN, title: "竣工投资或工期超出批复", legal_basis: "" };
pub(crate) const SETTLEMENT_OVER_CONTRACT: SoftRule = SoftRule {
    code: rules::GK_SETTLEMENT_OVER_CONTRACT,
    title: "结算价款超过合同价款（签约价加已公开的变更）",
    legal_basis: "",
};
pub(crate) const NEAR_CEILING: SoftRule =
    SoftRule { code: rules::GK_NEAR_CEILING, title: "中标价达到最高投标限价的99%以上", legal_basis: "" };
pub(crate) const SINGLE_BIDDER: SoftRule =
    SoftRule { code: rules::OCP_R018_SINGLE_BIDDER, title: "仅有一个投标人", legal_basis: "" };
pub(crate) const IDENTICAL_PRICES: SoftRule =
    SoftRule { code: rules::OCP_R028_IDENTICAL_PRICES, title: "多个投标报价完全相同", legal_basis: "" };
pub(crate) const COMMENT_PERIOD: SoftRule = SoftRule {
    code: rules::LAL_47_COMMENT_PERIOD,
    title: "征收补偿方案征求意见期不足30日",
    legal_basis: "土地管理法第四十七条、国有土地上房屋征收与补偿条例第十条 (LAL art. 47; 2011 Regulations art. 10)",
};
pub(crate) const DECISION_PREREQUISITES: SoftRule = SoftRule {
    code: rules::LAL_47_DECISION_PREREQUISITES,
    title: "征收决定前未公布补偿方案或未进行社会稳定风险评估",
    legal_basis: "土地管理法第四十七条、国有土地上房屋征收与补偿条例第十二条 (LAL art. 47; 2011 Regulations art. 12)",
};
pub(crate) const RELOCATION_BEFORE_COMPENSATION: SoftRule = SoftRule {
    code: rules::LAL_48_RELOCATION_BEFORE_COMPENSATION,
    title: "未支付征收补偿即搬迁或拆除（先搬迁后补偿）",
    legal_basis: "土地管理法第四十八条、国有土地上房屋征收与补偿条例第二十七条 (LAL art. 48; 2011 Regulations art. 27)",
};
pub(crate) const WORKS_BEFORE_EIA_APPROVAL: SoftRule = SoftRule {
    code: rules::EIA_25_WORKS_BEFORE_APPROVAL,
    title: "环境影响评价文件未经批准即开工建设",
    legal_basis: "环境影响评价法第二十二条、第二十五条 (EIA Law art. 22, 25)",
};

/// A figure with its limit.
pub(crate) fn figure(name: &str, value: i64, limit: Option<i64>, unit: FigureUnit) -> Figure {
    Figure { name: name.to_owned(), value, limit, unit: unit.as_str().to_owned() }
}

/// A figure in whole days against a limit.
pub(crate) fn days(name: &str, value: i64, limit: i64) -> Figure {
    figure(name, value, Some(limit), FigureUnit::Days)
}

/// A flag of `rule` raised by `new_event_id`, caused together with
/// `earlier` (any order, duplicates and empty ids dropped; sorted oldest first
/// by their position in `state`).
pub(crate) fn raise(
    state: &ProjectState,
    rule: SoftRule,
    earlier: &[&str],
    new_event_id: &str,
    figures: Vec<Figure>,
    explanation: String,
) -> ComplianceFlag {
    let mut ids: Vec<&str> = earlier.iter().copied().filter(|id| !id.is_empty() && *id != new_event_id).collect();
    ids.sort_by_key(|id| (state.position_of(id), *id));
    ids.dedup();
    let mut event_ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
    event_ids.push(new_event_id.to_owned());
    ComplianceFlag {
        rule: rule.code.to_owned(),
        title: rule.title.to_owned(),
        event_ids,
        figures,
        explanation,
        legal_basis: rule.legal_basis.to_owned(),
    }
}

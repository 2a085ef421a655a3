//! Folding one effective fact into the read model. Facts were accepted by
//! `decide`, but folding never assumes it: a fact naming something unknown
//! changes nothing, and a total that would leave the money bound (possible
//! only for an event accepted before the bound existed) is not taken: the
//! total keeps its last value and the model records a [`BoundFault`], so that
//! nothing built from it can publish a wrapped or saturated figure.

use std::collections::BTreeMap;

use gongkai_proto::v1::TenderAnnounced;
use gongkai_proto::v1::fact::Kind;

use super::BoundFault;
use super::Folded;
use super::land::{
    Assessment, CompensationPayment, Decision, Expropriation, HouseholdResults, Plan, Relocation, household_totals,
};
use super::model::{
    Award, AwardNotice, Complaint, Completion, Contract, EffectiveFact, Evaluation, FinalAccounts, LotState, LotStatus,
    Milestone, Objection, Opening, Payment, ProjectStatus, Publicity, Recorded, RecordedEvent, Settlement, Tender,
    Variation,
};
use crate::money::AMOUNT_MAX_FEN;

/// Folds `entry` into `model`; `index` resolves event ids to their original.
pub(super) fn apply(model: &mut Folded, index: &BTreeMap<String, RecordedEvent>, entry: &EffectiveFact) {
    let id = &entry.event_id;
    match &entry.fact {
        Kind::ProjectApproved(fact) => {
            if !(0..=AMOUNT_MAX_FEN).contains(&fact.total_investment_fen) {
                fault(model, id, "批复总投资超出界限".to_owned());
            }
            model.approval = Some(Recorded { event_id: id.clone(), fact: fact.clone() });
        }
        Kind::PppDetailsDisclosed(fact) => {
            model.ppp_details = Some(Recorded { event_id: id.clone(), fact: fact.clone() });
        }
        Kind::ProjectSuspended(_) => set_status(model, ProjectStatus::Suspended, id),
        Kind::ProjectResumed(_) => set_status(model, ProjectStatus::Active, id),
        Kind::ProjectCancelled(_) => set_status(model, ProjectStatus::Cancelled, id),
        Kind::ExpropriationPreAnnounced(_)
        | Kind::CompensationPlanPublished(_)
        | Kind::SocialStabilityRiskAssessed(_)
        | Kind::ExpropriationDecided(_)
        | Kind::CompensationPaid(_)
        | Kind::HouseholdCompensationPublished(_)
        | Kind::RelocationRecorded(_) => land(model, id, &entry.fact),
        Kind::EnvironmentalImpactApproved(fact) => {
            model.eia_approvals.push(Recorded { event_id: id.clone(), fact: fact.clone() });
        }
        Kind::TenderAnnounced(fact) => {
            model.tenders.insert(fact.tender_code.clone(), announced(fact, id));
        }
        Kind::TenderAmended(fact) => {
            if let Some(tender) = model.tenders.get_mut(&fact.tender_code) {
                tender.amendment_event_ids.push(id.clone());
                let new_opening = fact.new_bid_opening_at.or(fact.new_bid_deadline);
                for lot in targets(tender, &fact.lot_codes) {
                    if let Some(deadline) = fact.new_bid_deadline {
                        lot.bid_deadline = Some(deadline);
                        lot.deadline_event_id = id.clone();
                    }
                    if new_opening.is_some() {
                        lot.bid_opening_at = new_opening;
                    }
                }
            }
        }
        Kind::TenderSuspended(fact) => {
            if let Some(tender) = model.tenders.get_mut(&fact.tender_code) {
                for lot in targets(tender, &fact.lot_codes).filter(|lot| !lot.status.is_closed()) {
                    lot.status = LotStatus::Suspended;
                    lot.status_event_id = Some(id.clone());
                }
            }
        }
        Kind::TenderResumed(fact) => {
            if let Some(tender) = model.tenders.get_mut(&fact.tender_code) {
                for lot in targets(tender, &fact.lot_codes) {
                    if lot.status == LotStatus::Suspended {
                        lot.status = LotStatus::Open;
                        lot.status_event_id = Some(id.clone());
                    }
                    if let Some(deadline) = fact.new_bid_deadline {
                        lot.bid_deadline = Some(deadline);
                        lot.bid_opening_at = Some(deadline);
                        lot.deadline_event_id = id.clone();
                    }
                }
            }
        }
        Kind::TenderCancelled(fact) => {
            if let Some(tender) = model.tenders.get_mut(&fact.tender_code) {
                for lot in targets(tender, &fact.lot_codes).filter(|lot| lot.status != LotStatus::Failed) {
                    lot.status = LotStatus::Cancelled;
                    lot.status_event_id = Some(id.clone());
                }
            }
        }
        Kind::BidsOpened(fact) => {
            if let Some(lot) = lot_mut(model, &fact.tender_code, &fact.lot_code) {
                lot.opening =
                    Some(Opening { event_id: id.clone(), opened_at: fact.opened_at, bids: fact.bids.clone() });
            }
        }
        Kind::PrequalificationCompleted(fact) => {
            if let Some(tender) = model.tenders.get_mut(&fact.tender_code) {
                tender.prequalification_event_ids.push(id.clone());
            }
        }
        Kind::BidsEvaluated(fact) => {
            if let Some(lot) = lot_mut(model, &fact.tender_code, &fact.lot_code) {
                lot.evaluation = Some(Evaluation {
                    event_id: id.clone(),
                    completed_at: fact.completed_at,
                    candidates: fact.candidates.clone(),
                    valid_bid_count: fact.valid_bid_count,
                });
                lot.publicity = None;
            }
        }
        Kind::CandidatesPublicized(fact) => {
            if let Some(lot) = lot_mut(model, &fact.tender_code, &fact.lot_code) {
                lot.publicity = Some(Publicity { event_id: id.clone(), period: fact.publicity_period });
            }
        }
        Kind::ObjectionRaised(fact) => {
            model.objections.insert(
                entry.original_event_id.clone(),
                Objection {
                    event_id: id.clone(),
                    tender_code: fact.tender_code.clone(),
                    lot_code: fact.lot_code.clone(),
                },
            );
        }
        Kind::ComplaintFiled(fact) => {
            model.complaints.insert(
                entry.original_event_id.clone(),
                Complaint {
                    event_id: id.clone(),
                    tender_code: fact.tender_code.clone(),
                    lot_code: fact.lot_code.clone(),
                    decided_event_id: None,
                    outcome: None,
                },
            );
        }
        Kind::ComplaintDecided(fact) => {
            let original = index.get(&fact.complaint_event_id).map(|event| &event.original_event_id);
            if let Some(complaint) = original.and_then(|original| model.complaints.get_mut(original)) {
                complaint.decided_event_id = Some(id.clone());
                complaint.outcome = Some(fact.outcome());
            }
        }
        Kind::AwardAnnounced(fact) => {
            if let Some(lot) = lot_mut(model, &fact.tender_code, &fact.lot_code) {
                lot.award = Some(Award {
                    event_id: id.clone(),
                    winner: fact.winner.clone(),
                    price_fen: fact.award_price_fen,
                    announced_at: fact.announced_at,
                    notice: None,
                    cancelled_event_id: None,
                });
            }
        }
        Kind::AwardNoticeIssued(fact) => {
            if let Some(award) = lot_mut(model, &fact.tender_code, &fact.lot_code).and_then(|lot| lot.award.as_mut()) {
                award.notice = Some(AwardNotice { event_id: id.clone(), issued_at: fact.issued_at });
            }
        }
        Kind::AwardCancelled(fact) => {
            if let Some(lot) = lot_mut(model, &fact.tender_code, &fact.lot_code)
                && let Some(mut award) = lot.award.take()
            {
                award.cancelled_event_id = Some(id.clone());
                lot.cancelled_awards.push(award);
            }
        }
        Kind::TenderFailed(fact) => {
            if let Some(lot) = lot_mut(model, &fact.tender_code, &fact.lot_code) {
                lot.status = LotStatus::Failed;
                lot.status_event_id = Some(id.clone());
            }
        }
        Kind::ContractSigned(fact) => {
            if let Some(tender) = model.tenders.get_mut(&fact.tender_code) {
                for lot_code in &fact.lot_codes {
                    if let Some(lot) = tender.lots.get_mut(lot_code) {
                        lot.contract_codes.push(fact.contract_code.clone());
                    }
                }
            }
            model.contracts.insert(
                fact.contract_code.clone(),
                Contract {
                    contract_code: fact.contract_code.clone(),
                    signed_event_id: id.clone(),
                    tender_code: fact.tender_code.clone(),
                    lot_codes: fact.lot_codes.clone(),
                    suppliers: fact.suppliers.clone(),
                    price_fen: fact.price_fen,
                    period: fact.contract_period,
                    signed_at: fact.signed_at,
                    is_ppp_project_agreement: fact.is_ppp_project_agreement,
                    variations: Vec::new(),
                    variation_abs_total_fen: 0,
                    current_price_fen: fact.price_fen,
                    end_date: fact.contract_period.and_then(|period| period.end),
                    milestones: BTreeMap::new(),
                    payments: Vec::new(),
                    paid_fen: 0,
                    issue_event_ids: Vec::new(),
                    completion_event_ids: Vec::new(),
                    settlement: None,
                },
            );
            let within = (0..=AMOUNT_MAX_FEN).contains(&fact.price_fen);
            let totals = |price: fn(&Contract) -> i64| crate::money::checked_sum(model.contracts.values().map(price));
            if !within || totals(|c| c.price_fen).is_none() || totals(|c| c.current_price_fen).is_none() {
                fault(model, id, format!("合同 {} 的价款或项目合同总额超出界限", fact.contract_code));
            }
        }
        Kind::ContractVaried(fact) => {
            let Some(contract) = model.contracts.get_mut(&fact.contract_code) else { return };
            let change = fact.price_change_fen;
            let abs_total = change.checked_abs().and_then(|abs| contract.variation_abs_total_fen.checked_add(abs));
            let current = contract.current_price_fen.checked_add(change);
            let within = match (abs_total, current) {
                (Some(abs_total), Some(current))
                    if abs_total <= AMOUNT_MAX_FEN && (0..=AMOUNT_MAX_FEN).contains(&current) =>
                {
                    contract.variation_abs_total_fen = abs_total;
                    contract.current_price_fen = current;
                    true
                }
                _ => false,
            };
            if fact.changes_time && fact.new_end_date.is_some() {
                contract.end_date = fact.new_end_date;
            }
            contract.variations.push(Variation {
                event_id: id.clone(),
                variation_number: fact.variation_number.clone(),
                price_change_fen: change,
                new_end_date: fact.new_end_date,
            });
            if !within {
                fault(model, id, format!("合同 {} 变更后的价款或累计变更金额超出界限", fact.contract_code));
            }
        }
        Kind::MilestoneReached(fact) => {
            if let Some(contract) = model.contracts.get_mut(&fact.contract_code) {
                contract.milestones.insert(
                    fact.milestone_code.clone(),
                    Milestone {
                        event_id: id.clone(),
                        name: fact.milestone_name.clone(),
                        reached_at: fact.reached_at,
                        planned_date: fact.planned_date,
                        kind: fact.kind(),
                    },
                );
            }
        }
        Kind::PaymentMade(fact) => {
            let Some(contract) = model.contracts.get_mut(&fact.contract_code) else { return };
            let paid =
                contract.paid_fen.checked_add(fact.amount_fen).filter(|paid| (0..=AMOUNT_MAX_FEN).contains(paid));
            if let Some(paid) = paid {
                contract.paid_fen = paid;
            }
            contract.payments.push(Payment {
                event_id: id.clone(),
                payment_number: fact.payment_number.clone(),
                amount_fen: fact.amount_fen,
                milestone_code: fact.milestone_code.clone(),
            });
            if paid.is_none() {
                fault(model, id, format!("合同 {} 的累计支付金额超出界限", fact.contract_code));
            }
        }
        Kind::PerformanceIssueRecorded(fact) => {
            if let Some(contract) = model.contracts.get_mut(&fact.contract_code) {
                contract.issue_event_ids.push(id.clone());
            }
        }
        Kind::CompletionAccepted(fact) => {
            for code in &fact.contract_codes {
                if let Some(contract) = model.contracts.get_mut(code) {
                    contract.completion_event_ids.push(id.clone());
                }
            }
            model.completions.push(Completion {
                event_id: id.clone(),
                contract_codes: fact.contract_codes.clone(),
                result: fact.result(),
                accepted_at: fact.accepted_at,
                actual_completion_date: fact.actual_completion_date,
            });
        }
        Kind::ContractSettled(fact) => {
            let Some(contract) = model.contracts.get_mut(&fact.contract_code) else { return };
            contract.settlement = Some(Settlement {
                event_id: id.clone(),
                settled_value_fen: fact.settled_value_fen,
                settled_at: fact.settled_at,
            });
            let settled_total = crate::money::checked_sum(model.contracts.values().map(|contract| {
                contract.settlement.as_ref().map_or(contract.current_price_fen, |settled| settled.settled_value_fen)
            }));
            if !(0..=AMOUNT_MAX_FEN).contains(&fact.settled_value_fen) || settled_total.is_none() {
                fault(model, id, format!("合同 {} 的结算价款或项目结算总额超出界限", fact.contract_code));
            }
        }
        Kind::FinalAccountsSettled(fact) => {
            if !(0..=AMOUNT_MAX_FEN).contains(&fact.final_cost_fen) {
                fault(model, id, "决算总投资超出界限".to_owned());
            }
            model.final_accounts = Some(FinalAccounts {
                event_id: id.clone(),
                final_cost_fen: fact.final_cost_fen,
                settled_at: fact.settled_at,
                actual_end_date: fact.actual_end_date,
                final_scope: fact.final_scope.clone(),
            });
        }
    }
}

/// Folds a fact of an expropriation: its totals first (a fact that would
/// carry one past the bound leaves them as they were and records the fault),
/// then the expropriation's own record.
fn land(model: &mut Folded, id: &str, kind: &Kind) {
    match model.land_totals.after(&model.expropriations, kind) {
        Ok(totals) => model.land_totals = totals,
        Err(total) => fault(model, id, format!("{total}超出界限")),
    }
    let id = id.to_owned();
    let code = match kind {
        Kind::ExpropriationPreAnnounced(fact) => &fact.expropriation_code,
        Kind::CompensationPlanPublished(fact) => &fact.expropriation_code,
        Kind::SocialStabilityRiskAssessed(fact) => &fact.expropriation_code,
        Kind::ExpropriationDecided(fact) => &fact.expropriation_code,
        Kind::CompensationPaid(fact) => &fact.expropriation_code,
        Kind::HouseholdCompensationPublished(fact) => &fact.expropriation_code,
        Kind::RelocationRecorded(fact) => &fact.expropriation_code,
        _ => return,
    };
    let expropriation = model
        .expropriations
        .entry(code.clone())
        .or_insert_with(|| Expropriation { expropriation_code: code.clone(), ..Expropriation::default() });
    match kind {
        Kind::ExpropriationPreAnnounced(_) => expropriation.pre_announcement_event_ids.push(id),
        Kind::CompensationPlanPublished(fact) => expropriation.plans.push(Plan {
            event_id: id,
            kind: fact.kind(),
            comment_period: fact.comment_period,
            budget_fen: fact.compensation_budget_fen,
        }),
        Kind::SocialStabilityRiskAssessed(fact) => expropriation.assessments.push(Assessment {
            event_id: id,
            completed_at: fact.completed_at,
            risk_level: fact.risk_level(),
        }),
        Kind::ExpropriationDecided(fact) => {
            expropriation.decision = Some(Decision {
                event_id: id,
                kind: fact.kind(),
                decided_at: fact.decided_at,
                announced_at: fact.announced_at,
            });
        }
        Kind::CompensationPaid(fact) => expropriation.payments.push(CompensationPayment {
            event_id: id,
            payment_number: fact.payment_number.clone(),
            category: fact.category,
            amount_fen: fact.amount_fen,
            paid_at: fact.paid_at,
            households: fact.households,
        }),
        Kind::HouseholdCompensationPublished(fact) => expropriation.household_results.push(HouseholdResults {
            event_id: id,
            published_at: fact.published_at,
            totals: household_totals(fact).unwrap_or_default(),
        }),
        Kind::RelocationRecorded(fact) => expropriation.relocations.push(Relocation {
            event_id: id,
            kind: fact.kind(),
            started_at: fact.started_at,
            households: fact.households,
        }),
        _ => {}
    }
}

/// Records the first total that left the bound (see the module doc).
fn fault(model: &mut Folded, event_id: &str, description: String) {
    if model.fault.is_none() {
        model.fault = Some(BoundFault { event_id: event_id.to_owned(), description });
    }
}

fn set_status(model: &mut Folded, status: ProjectStatus, event_id: &str) {
    if model.status != ProjectStatus::Cancelled {
        model.status = status;
        model.status_event_id = Some(event_id.to_owned());
    }
}

fn announced(fact: &TenderAnnounced, event_id: &str) -> Tender {
    let lots = fact
        .lots
        .iter()
        .map(|lot| {
            let state = LotState {
                lot_code: lot.lot_code.clone(),
                name: lot.name.clone(),
                ceiling_price_fen: lot.ceiling_price_fen,
                planned_contract_period: lot.planned_contract_period,
                status: LotStatus::Open,
                status_event_id: None,
                bid_deadline: fact.bid_deadline,
                bid_opening_at: fact.bid_opening_at,
                deadline_event_id: event_id.to_owned(),
                opening: None,
                evaluation: None,
                publicity: None,
                award: None,
                cancelled_awards: Vec::new(),
                contract_codes: Vec::new(),
            };
            (lot.lot_code.clone(), state)
        })
        .collect();
    Tender {
        tender_code: fact.tender_code.clone(),
        name: fact.name.clone(),
        announced_event_id: event_id.to_owned(),
        method: fact.method(),
        qualification_mode: fact.qualification_mode(),
        documents_issued_at: fact.tender_documents_issued_at,
        document_sale_period: fact.document_sale_period,
        prequalification_deadline: fact.prequalification_deadline,
        retender_of: (!fact.retender_of.is_empty()).then(|| fact.retender_of.clone()),
        amendment_event_ids: Vec::new(),
        prequalification_event_ids: Vec::new(),
        lots,
    }
}

/// The lots a tender-level fact concerns: the named ones, or every lot that
/// is not closed when none is named.
fn targets<'t>(tender: &'t mut Tender, lot_codes: &'t [String]) -> impl Iterator<Item = &'t mut LotState> + 't {
    tender.lots.values_mut().filter(move |lot| {
        if lot_codes.is_empty() { !lot.status.is_closed() } else { lot_codes.contains(&lot.lot_code) }
    })
}

fn lot_mut<'m>(model: &'m mut Folded, tender_code: &str, lot_code: &str) -> Option<&'m mut LotState> {
    model.tenders.get_mut(tender_code).and_then(|tender| tender.lots.get_mut(lot_code))
}

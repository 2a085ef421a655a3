//! SupervisionService over a real socket, on both stores: facts go in through
//! the real ingestion services, the real projector folds them, supervisors
//! query them through the authenticating interceptor.
//!
//! One module per RPC family: [`search`] (SearchProjects), [`flags`]
//! (ListFlags, time-driven flags, GetTimeliness), [`verify`] (VerifyProject
//! against a tampered store), [`proofs`] (GetCheckpoint, GetInclusionProof,
//! GetConsistencyProof over the log the real writer keeps), [`watch`] (WatchEvents), [`access`] (region
//! scoping, credentials, the public view), [`audit`] (ListAuditRecords and
//! what is audited); [`support`] holds the harness and the fixture projects.
//! Here: the tests, on both stores.

mod access;
mod audit;
mod flags;
mod proofs;
mod search;
mod support;
mod verify;
mod watch;

use access::a_supervisor_of_region_a_cannot_see_region_b_and_strangers_are_refused;
use audit::{calls_refused_before_their_handler_are_audited, every_call_is_in_the_audit_trail};
use flags::{
    the_missing_contract_flag_appears_on_day_31_without_a_submission,
    the_missing_publicity_flag_appears_3_days_after_the_evaluation,
    the_missing_result_flag_follows_the_publicity_and_clears_with_the_result,
    timeliness_separates_a_late_trading_center_from_a_punctual_one,
};
use proofs::{
    bad_proof_requests_get_their_codes_and_fields, every_proof_verifies_against_the_signed_checkpoint,
    extreme_proof_arguments_never_break_the_server,
};
use search::{every_filter_matches_what_it_says, pagination_neither_skips_nor_repeats_while_events_arrive};
use verify::a_tampered_event_is_detected_by_verify_project;
use watch::a_stream_resumes_after_disconnect_without_gaps_or_duplicates;

gongkai_testkit::on_both_stores!(
    every_filter_matches_what_it_says,
    pagination_neither_skips_nor_repeats_while_events_arrive,
    the_missing_contract_flag_appears_on_day_31_without_a_submission,
    the_missing_result_flag_follows_the_publicity_and_clears_with_the_result,
    the_missing_publicity_flag_appears_3_days_after_the_evaluation,
    timeliness_separates_a_late_trading_center_from_a_punctual_one,
    a_tampered_event_is_detected_by_verify_project,
    a_stream_resumes_after_disconnect_without_gaps_or_duplicates,
    a_supervisor_of_region_a_cannot_see_region_b_and_strangers_are_refused,
    every_call_is_in_the_audit_trail,
    calls_refused_before_their_handler_are_audited,
    every_proof_verifies_against_the_signed_checkpoint,
    bad_proof_requests_get_their_codes_and_fields,
    extreme_proof_arguments_never_break_the_server,
);

//! The lifecycle rules, given/when/then: hard rules, soft rules, corrections
//! a full PPP lifecycle, the money bound, and land expropriation with the EIA
//! approval.

mod bounds;
mod corrections;
mod happy_path;
mod hard_rules;
mod land;
mod soft_rules;
mod support;

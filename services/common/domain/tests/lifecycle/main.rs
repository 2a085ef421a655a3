//! The lifecycle rules, given/when/then: hard rules, soft rules, corrections
//! and a full PPP lifecycle.

mod corrections;
mod happy_path;
mod hard_rules;
mod soft_rules;
mod support;

//! The lifecycle rules, given/when/then: hard rules, soft rules, corrections
//! a full PPP lifecycle, and the money bound.

mod bounds;
mod corrections;
mod happy_path;
mod hard_rules;
mod soft_rules;
mod support;

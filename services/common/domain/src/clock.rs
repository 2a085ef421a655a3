//! The current time as a value: services take a [`Clock`] so that tests can
//! move time (deadlines, embargoes, "公示期还剩 2 天") without waiting.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The current time, injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

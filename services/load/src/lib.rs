//! Load for gongkai: realistic project lifecycles as ingestion requests
//! ([`scenario`]), and [`run`], which drives them over real gRPC at a fixed
//! rate or as fast as possible and measures what a trading center and a
//! citizen would notice: acknowledgement latency, and the delay until the
//! fact is in the public timeline.

mod run;
pub mod scenario;

pub use run::{Limit, LoadConfig, LoadError, LoadReport, Percentiles, run};

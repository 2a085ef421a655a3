//! Load for gongkai: [`run`] drives realistic project lifecycles (from
//! `gongkai-scenarios`) over real gRPC at a fixed rate or as fast as possible
//! and measures what a trading center and a citizen would notice:
//! acknowledgement latency, and the delay until the fact is in the public
//! timeline. [`Clients`] sends any lifecycle request to its service, for the
//! tests too.

mod clients;
mod run;

pub use clients::Clients;
pub use run::{Limit, LoadConfig, LoadError, LoadReport, Percentiles, Visibility, run};

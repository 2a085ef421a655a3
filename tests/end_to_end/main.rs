//! End-to-end scenarios: gongkai as a real process, real sockets, the real
//! PostgreSQL and Kafka that `scripts/test.sh` brings up. One test binary, so
//! the workspace links it once.

mod browser;
mod chains;
mod cluster;
mod config_check;
mod foundation;
mod fuzz;
mod hostile;
mod ingestion;
mod land;
mod links;
mod opendata;
mod outcome;
mod poison;
mod projection;
mod reflection;
mod resilience;
mod site;
mod support;
mod tracing;
mod transparency;
mod transport;
mod witness;

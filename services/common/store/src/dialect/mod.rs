//! What really differs between the backends, one file each: how to connect
//! and migrate, how a write transaction begins, how an event id is bound,
//! whether appends can lose a lock race, whether the fold locks
//! rows, the commit-safe feeds (PostgreSQL transaction ids against SQLite's
//! serialized writers), the relay's leadership (an advisory lock against a
//! single embedded process), how a search page is read, and how the one
//! rewrite of the hash chains gets past the events' immutability trigger
//! (disabled inside the transaction against dropped and created again).
//! Both files offer the same names; `crate::db::dispatch!` picks one, so
//! everything else is written once.

pub(crate) mod postgres;
pub(crate) mod sqlite;

/// What a rebuild's `bulk::index` runs once one table is indexed: the table
/// and statements, in a transaction of their own.
pub(crate) type AfterIndex<'a> = (&'a str, &'a [String]);

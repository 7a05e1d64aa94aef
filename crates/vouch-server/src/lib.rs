//! `vouch serve`: the signing service. CI jobs ask it to sign; it signs only requests that
//! pass authentication (OpToks bound to the sender by DPoP or mTLS), entitlement (PoE),
//! quotas and scanner-provenance checks, appends every signature to its own transparency log
//! and records every decision in a hash-chained audit log.
//!
//! This crate is one of the two that talk to the outside world (with `vouch-cli`): HTTP,
//! PostgreSQL, Redis, JWKS and introspection endpoints. Signing, verification and the log are
//! the capability crates' (`vouch-attest`, `vouch-tlog`), called exactly as the CLI calls them:
//! nothing here re-implements a format.
//!
//! It must never: sign when a check could not be made (every failure path refuses), hold
//! state in memory that another replica needs (replay cache, quotas and PoE cache live in
//! Redis when `redis_url` is set; audit and log sequencing in the database), or put a token,
//! key or passphrase into a log line, error or `Debug` output.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod dev;
pub mod error;
pub mod http_client;
pub mod keyless;
pub mod keys;
pub mod metrics;
pub mod poe;
pub mod quota;
pub mod run;
pub mod scanner;
pub mod server;
pub mod service;
pub mod tls;

pub use config::ServeConfig;
pub use error::{ApiError, Code};
pub use server::{Running, StartError, start, start_on};

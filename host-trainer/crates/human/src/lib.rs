//! sonomask's human checks, the paper's cheap and expensive human steps:
//!
//! - [`journal`]: the append-only, fsynced accept/reject journal;
//! - [`hq`]: high-quality drawn sector masks (the small human-drawn set);
//! - [`oracle`]: the simulated reviewer and annotator that stand in for a
//!   person in experiments and tests;
//! - [`web`]: the local review and annotation web UI (axum and tokio live
//!   only here).

pub mod hq;
pub mod journal;
pub mod oracle;
pub mod web;

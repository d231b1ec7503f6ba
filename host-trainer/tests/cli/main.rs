//! The `sonomask` command line end to end, one test binary (ripgrep's
//! style): every subcommand's behaviour and exit codes ([`cli`]), adapting
//! the shipped model to a scanner's real files ([`adapt`]), `mask` on
//! real files ([`mask`]), `mask` and `ingest` on hostile files with their
//! peak memory ([`hostile`]), de-identification checked with dcmtk
//! ([`deid`]), the real development set
//! ([`realdev`]), experiments ([`experiment`]), the
//! review and annotation servers over HTTP ([`web`]), under load with
//! `kill -9`s ([`soak`]) and in a real browser ([`browser`]). Shared helpers
//! in [`support`].

mod adapt;
mod browser;
mod cli;
mod deid;
mod experiment;
mod hostile;
mod mask;
mod realdev;
mod soak;
mod support;
mod web;

//! sonomask host library: the dataset format, the synthetic echo generator,
//! DICOM/PNG reading, the weak labelers, evaluation, training, the
//! review and annotation web UI, the HIL rig and repeated-run experiments.
//! The `sonomask` binary is a thin CLI over these modules.

pub mod dataset;
pub mod evaluate;
pub mod experiment;
pub mod hil;
pub mod hq;
pub mod ingest;
pub mod journal;
pub mod mask;
pub mod model_file;
pub mod oracle;
pub mod progress;
pub mod quantize;
pub mod recipe;
pub mod refine_loop;
pub mod stats;
pub mod synth;
pub mod synth_io;
pub mod train;
pub mod weak;
pub mod web;

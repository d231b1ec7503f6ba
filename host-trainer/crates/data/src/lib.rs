//! sonomask data: everything before a human or a network looks at a frame.
//!
//! - [`dataset`]: the on-disk dataset format (frames, ground truth, meta),
//!   atomic writes;
//! - [`synth`] and [`synth_io`]: the synthetic echo generator with exact
//!   ground truth, and writing its clips as a dataset;
//! - [`ingest`]: real DICOM and PNG/JPEG files into the dataset format;
//! - [`frames`]: frames as the network sees them (exact area averages,
//!   thumbnails, evenly spread frames);
//! - [`weak`]: the cheap weak labelers (threshold, temporal) and the map fit;
//! - [`evaluate`]: masks scored against ground truth with the shared metrics;
//! - [`progress`]: the progress bars every long step shows.

pub mod dataset;
pub mod evaluate;
pub mod frames;
pub mod ingest;
pub mod progress;
pub mod synth;
pub mod synth_io;
pub mod weak;

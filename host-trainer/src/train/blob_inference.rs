//! Running a `.snmk` blob the way the cart does: stored frame bytes →
//! shared thumbnail ([`sonomask_core::thumbnail::frame_to_input`]) → shared
//! int8 engine ([`sonomask_core::engine::run`]) → the blob's probability
//! table → the same clip averaging, fit and mask files as the float path
//! ([`super::inference`]).
//!
//! Averaging: each frame's logits become an 8-bit probability map through
//! [`Model::logits_to_probability_u8`] (128 ⇔ p = 0.5 exactly); up to
//! [`MAX_FRAMES`] evenly spaced frames are averaged in integers, rounding
//! half up. The float path averages the probabilities before rounding them
//! to 8 bits; the two orders differ by at most half a step of 1/255.

use std::path::Path;

use rayon::prelude::*;
use sonomask_core::blob::{self, SignaturePolicy};
use sonomask_core::engine::{self, Model};
use sonomask_core::thumbnail;

use super::TrainError;
use super::data;
use super::inference::{CoarseMaps, MAX_FRAMES};
use crate::dataset::{ClipEntry, Dataset, DatasetError};

/// Whether `path` holds a model blob, by its leading magic (`SNMK`), not by
/// its name. A file shorter than the magic is not a blob.
pub fn is_blob_file(path: &Path) -> Result<bool, DatasetError> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(DatasetError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(head == blob::MAGIC)
}

/// Loads blob bytes into a model (CRC, signature per `policy`, graph and
/// arena checks: the cart's loader).
pub fn load_blob<'a>(
    path: &Path,
    bytes: &'a [u8],
    policy: SignaturePolicy<'_>,
) -> Result<Model<'a>, TrainError> {
    Model::from_bytes(bytes, policy).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("invalid model blob: {e}"),
    })
}

/// An int8 model on the shared engine as a source of coarse maps.
pub struct EnginePredictor<'m> {
    model: &'m Model<'m>,
}

impl<'m> EnginePredictor<'m> {
    /// Wraps `model`; its input must be one luma channel and its output one
    /// logit map of the same size (what the fit expects).
    pub fn new(path: &Path, model: &'m Model<'m>) -> Result<Self, TrainError> {
        let (i, o) = (model.input_shape(), model.output_shape());
        if i.c != 1 || o.c != 1 || (i.h, i.w) != (o.h, o.w) {
            return Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                message: format!(
                    "the blob maps {}×{}×{} to {}×{}×{}; predict needs one luma channel in and one logit map of the same size out",
                    i.c, i.h, i.w, o.c, o.h, o.w
                ),
            });
        }
        Ok(Self { model })
    }

    pub fn model(&self) -> &Model<'m> {
        self.model
    }

    /// One frame's 8-bit probability map (stored bytes → thumbnail → engine
    /// → table), reusing the caller's buffers.
    fn frame_map(
        &self,
        data: &Dataset,
        entry: &ClipEntry,
        index: usize,
        bufs: &mut Buffers,
    ) -> Result<(), TrainError> {
        let (bytes, layout) = data::load_frame_raw(data, entry, index)?;
        thumbnail::frame_to_input(self.model, &bytes, layout, &mut bufs.input).map_err(|e| {
            DatasetError::BadImage {
                path: data.frame_path(&entry.id, index),
                message: e.to_string(),
            }
        })?;
        engine::run(self.model, &bufs.input, &mut bufs.arena, &mut bufs.logits)?;
        self.model
            .logits_to_probability_u8(&bufs.logits, &mut bufs.prob)?;
        Ok(())
    }

    /// A clip's averaged map and the number of frames averaged.
    pub fn clip_map(
        &self,
        data: &Dataset,
        entry: &ClipEntry,
    ) -> Result<(Vec<u8>, usize), TrainError> {
        let m = self.model;
        let mut bufs = Buffers {
            arena: vec![0u8; m.arena_bytes()],
            input: vec![0i8; m.input_len()],
            logits: vec![0i8; m.output_len()],
            prob: vec![0u8; m.output_len()],
        };
        let frames = data::spread_frames(entry.frames, MAX_FRAMES);
        let mut sum = vec![0u32; m.output_len()];
        for &i in &frames {
            self.frame_map(data, entry, i, &mut bufs)?;
            for (s, &p) in sum.iter_mut().zip(&bufs.prob) {
                *s += u32::from(p);
            }
        }
        let n = frames.len().max(1) as u32;
        let map = sum.iter().map(|&s| ((s + n / 2) / n) as u8).collect();
        Ok((map, frames.len()))
    }
}

/// Per-thread working memory of one clip.
struct Buffers {
    arena: Vec<u8>,
    input: Vec<i8>,
    logits: Vec<i8>,
    prob: Vec<u8>,
}

impl CoarseMaps for EnginePredictor<'_> {
    fn map_size(&self) -> (usize, usize) {
        let s = self.model.output_shape();
        (s.w as usize, s.h as usize)
    }

    /// Clips run in parallel, each on its own arena.
    fn clip_maps(
        &self,
        data: &Dataset,
        clips: &[ClipEntry],
    ) -> Result<Vec<(Vec<u8>, usize)>, TrainError> {
        clips.par_iter().map(|c| self.clip_map(data, c)).collect()
    }
}

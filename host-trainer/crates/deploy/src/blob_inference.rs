//! Running a `.snmk` blob the way the cart does: stored frame bytes →
//! shared thumbnail ([`sonomask_core::thumbnail::frame_to_input`]) → shared
//! int8 engine ([`sonomask_core::engine::run`]) → the blob's probability
//! table → the same clip averaging, fit and mask files as the float path
//! ([`crate::maps`]).
//!
//! Averaging: each frame's logits become an 8-bit probability map through
//! [`Model::logits_to_probability_u8`] (128 ⇔ p = 0.5 exactly); up to
//! [`MAX_FRAMES`] evenly spaced frames are averaged in integers, rounding
//! half up. The float path averages the probabilities before rounding them
//! to 8 bits; the two orders differ by at most half a step of 1/255.

use std::path::Path;

use rayon::prelude::*;
use sonomask_core::blob::{self, SignaturePolicy};
use sonomask_core::engine::{self, EngineError, Model};
use sonomask_core::mask::FrameLayout;
use sonomask_core::thumbnail::{self, ThumbnailError};

use sonomask_data::dataset::{ClipEntry, Dataset, DatasetError};
use sonomask_data::frames::{load_frame_raw, spread_frames};

use crate::DeployError;
use crate::maps::{CoarseMaps, MAX_FRAMES};

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
) -> Result<Model<'a>, DeployError> {
    Model::from_bytes(bytes, policy).map_err(|e| DeployError::Model {
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
    pub fn new(path: &Path, model: &'m Model<'m>) -> Result<Self, DeployError> {
        let (i, o) = (model.input_shape(), model.output_shape());
        if i.c != 1 || o.c != 1 || (i.h, i.w) != (o.h, o.w) {
            return Err(DeployError::Model {
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
    /// → table) into `bufs.prob`, reusing the caller's buffers.
    fn run_frame(
        &self,
        bytes: &[u8],
        layout: FrameLayout,
        bufs: &mut Buffers,
    ) -> Result<(), FrameMapError> {
        thumbnail::frame_to_input(self.model, bytes, layout, &mut bufs.input)
            .map_err(FrameMapError::Thumbnail)?;
        engine::run(self.model, &bufs.input, &mut bufs.arena, &mut bufs.logits)?;
        self.model
            .logits_to_probability_u8(&bufs.logits, &mut bufs.prob)?;
        Ok(())
    }

    /// Frame `index` of a dataset clip into `bufs.prob`.
    fn frame_map(
        &self,
        data: &Dataset,
        entry: &ClipEntry,
        index: usize,
        bufs: &mut Buffers,
    ) -> Result<(), DeployError> {
        let (bytes, layout) = load_frame_raw(data, entry, index)?;
        self.run_frame(&bytes, layout, bufs).map_err(|e| match e {
            FrameMapError::Thumbnail(t) => DeployError::from(DatasetError::BadImage {
                path: data.frame_path(&entry.id, index),
                message: t.to_string(),
            }),
            FrameMapError::Engine(e) => DeployError::Engine(e),
        })
    }

    /// A clip's averaged map and the number of frames averaged.
    pub fn clip_map(
        &self,
        data: &Dataset,
        entry: &ClipEntry,
    ) -> Result<(Vec<u8>, usize), DeployError> {
        let mut bufs = Buffers::for_model(self.model);
        let frames = spread_frames(entry.frames, MAX_FRAMES);
        let mut sum = vec![0u32; self.model.output_len()];
        for &i in &frames {
            self.frame_map(data, entry, i, &mut bufs)?;
            add_map(&mut sum, &bufs.prob);
        }
        Ok((average_map(&sum, frames.len()), frames.len()))
    }

    /// The map of frames held in memory, averaged over **every** frame
    /// (`sonomask mask`: a clip's mask is fitted once from all its frames).
    /// Frames run in parallel, each worker on its own arena; the integer
    /// sum makes the result independent of the order and the thread count.
    /// All frames share `layout`.
    pub fn frames_map(
        &self,
        frames: &[&[u8]],
        layout: FrameLayout,
    ) -> Result<Vec<u8>, FrameMapError> {
        let len = self.model.output_len();
        let sum = frames
            .par_iter()
            .try_fold(
                || (Buffers::for_model(self.model), vec![0u32; len]),
                |(mut bufs, mut sum), bytes| {
                    self.run_frame(bytes, layout, &mut bufs)?;
                    add_map(&mut sum, &bufs.prob);
                    Ok::<_, FrameMapError>((bufs, sum))
                },
            )
            .map(|r| r.map(|(_, sum)| sum))
            .try_reduce(
                || vec![0u32; len],
                |mut a, b| {
                    add_map_u32(&mut a, &b);
                    Ok(a)
                },
            )?;
        Ok(average_map(&sum, frames.len()))
    }
}

/// Why a frame held in memory gave no map.
#[derive(Debug, thiserror::Error)]
pub enum FrameMapError {
    /// The frame does not match its layout, or the model's input is not luma.
    #[error("frame does not fit the model input: {0}")]
    Thumbnail(ThumbnailError),
    #[error("int8 engine: {0}")]
    Engine(#[from] EngineError),
}

fn add_map(sum: &mut [u32], prob: &[u8]) {
    for (s, &p) in sum.iter_mut().zip(prob) {
        *s += u32::from(p);
    }
}

fn add_map_u32(sum: &mut [u32], other: &[u32]) {
    for (s, &p) in sum.iter_mut().zip(other) {
        *s += p;
    }
}

/// The mean of `n` summed maps, rounding half up (`n` = 0 gives zeros).
fn average_map(sum: &[u32], n: usize) -> Vec<u8> {
    let n = n.max(1) as u64;
    sum.iter()
        .map(|&s| ((u64::from(s) + n / 2) / n) as u8)
        .collect()
}

/// Per-thread working memory of one clip.
struct Buffers {
    arena: Vec<u8>,
    input: Vec<i8>,
    logits: Vec<i8>,
    prob: Vec<u8>,
}

impl Buffers {
    fn for_model(m: &Model<'_>) -> Self {
        Self {
            arena: vec![0u8; m.arena_bytes()],
            input: vec![0i8; m.input_len()],
            logits: vec![0i8; m.output_len()],
            prob: vec![0u8; m.output_len()],
        }
    }
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
    ) -> Result<Vec<(Vec<u8>, usize)>, DeployError> {
        clips.par_iter().map(|c| self.clip_map(data, c)).collect()
    }
}

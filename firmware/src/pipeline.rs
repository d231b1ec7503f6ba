//! The per-frame pipeline, as ARCHITECTURE.md draws it:
//!
//! ```text
//! frame ─► luma thumbnail (area average) ─► int8 network ─► probability map
//!       ─► fan / rectangle fit ─► plausibility ─► consistency with earlier frames
//!       ─► temporal blend ─► spans (current fit ∩ blend) ─► fill outside, in place
//!        └─ any failure: fill the whole frame, raise the fault line
//! ```
//!
//! Fail closed: no model, a rejected blob, an unsupported frame, a failed
//! or implausible fit, a geometry jump not yet confirmed — the frame comes
//! out black, the fault code is kept, the fault line (an embedded-hal
//! [`OutputPin`]) goes high. It goes low again by itself with the next
//! frame that is masked normally.
//!
//! Nothing here allocates: the network's buffers, the fit's scratch and the
//! engine's arena are a [`Workspace`] the caller owns (statics on the
//! board, vectors on the host).

use embedded_hal::digital::OutputPin;
use sonomask_core::blob::SignaturePolicy;
use sonomask_core::engine::SignatureStatus;
use sonomask_core::fit::{self, FitOptions, FitScratch};
use sonomask_core::slot::{SlotError, slot_blob};
use sonomask_core::thumbnail::frame_to_input;
use sonomask_core::wire::{FaultCode, Implausibility, ModelStatus};
use sonomask_core::{
    BlobError, FrameLayout, Model, Regions, RowSpans, engine, intersect_spans, mask_rows_in_place,
};

use crate::plausibility::{self, Limits};
use crate::smoothing;

/// Where a frame is in the pipeline, for instruction counting: the board
/// marks the start of each stage (and the end of the frame) so QEMU's
/// counting plugin can attribute instructions per stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    /// Luma thumbnail of the frame.
    Preprocess = 1,
    /// Input quantisation, the network, the probability map.
    Inference = 2,
    /// Fit, plausibility, consistency, temporal blend.
    Fit = 3,
    /// Spans and the in-place fill (or the black-out).
    Mask = 4,
    /// The frame is finished.
    Done = 5,
}

/// Receives the stage marks of each frame.
pub trait Probe {
    fn mark(&mut self, stage: Stage);
}

/// A probe that does nothing.
pub struct NoProbe;

impl Probe for NoProbe {
    fn mark(&mut self, _: Stage) {}
}

/// Working memory of the pipeline. Buffers named for what they hold;
/// see [`Workspace::fits`] for the lengths a model needs.
pub struct Workspace<'w> {
    /// The engine's arena ([`Model::arena_bytes`]).
    pub arena: &'w mut [u8],
    /// Quantised input, the model's input size.
    pub input: &'w mut [i8],
    /// Logits, the model's output size.
    pub logits: &'w mut [i8],
    /// Probability map, the model's output size.
    pub map: &'w mut [u8],
    /// Fit scratch: component labels ([`fit::scratch_len`]).
    pub labels: &'w mut [u32],
    /// Fit scratch: boundary samples ([`fit::scratch_len`]).
    pub points: &'w mut [(f32, f32)],
}

impl Workspace<'_> {
    /// Whether the buffers are large enough for `model`.
    pub fn fits(&self, model: &Model<'_>) -> bool {
        let (n_in, n_out) = (model.input_len(), model.output_len());
        let o = model.output_shape();
        let need = fit::scratch_len(o.w as usize, o.h as usize);
        self.arena.len() >= model.arena_bytes()
            && self.input.len() >= n_in
            && self.logits.len() >= n_out
            && self.map.len() >= n_out
            && self.labels.len() >= need.labels
            && self.points.len() >= need.points
    }
}

/// Tuning of the checks after the fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub limits: Limits,
    /// Weight of the current frame in the temporal blend (1: no smoothing).
    pub smoothing: f32,
    /// A fit whose overlap (IoU) with the last accepted one is below this
    /// is a jump: blacked out until a second frame confirms it.
    pub jump_iou: f32,
    /// A jump is confirmed when the next fit overlaps it at least this much.
    pub confirm_iou: f32,
    /// RANSAC seed of the fit.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            smoothing: 0.5,
            jump_iou: 0.5,
            confirm_iou: 0.7,
            seed: 0,
        }
    }
}

/// What happened to one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameResult {
    /// Pixels kept, or why the frame is black.
    pub outcome: Result<u64, FaultCode>,
    /// Pipeline runs since start, this one included.
    pub run: u32,
}

/// The geometry a frame was masked with.
#[derive(Clone, Debug)]
struct Kept {
    current: Regions,
    smoothed: Regions,
}

/// Geometry remembered across frames.
#[derive(Clone, Debug, Default)]
struct History {
    size: (u16, u16),
    accepted: Option<Regions>,
    smoothed: Option<Regions>,
    pending: Option<Regions>,
}

/// Loads the model from a slot (see [`sonomask_core::slot`]), as the cart
/// does at boot: an empty slot is [`FaultCode::NoModel`], anything wrong
/// with the blob (CRC, format, graph, signature under `policy`) is
/// [`FaultCode::Model`].
pub fn load_model<'m>(slot: &'m [u8], policy: SignaturePolicy<'_>) -> Result<Model<'m>, FaultCode> {
    let blob = slot_blob(slot).map_err(|e| match e {
        SlotError::Empty => FaultCode::NoModel,
        SlotError::BadLength => FaultCode::Model(BlobError::Truncated),
    })?;
    Model::from_bytes(blob, policy).map_err(FaultCode::Model)
}

/// The capture pipeline; see the module documentation.
pub struct Pipeline<'m, 'w, P: OutputPin> {
    model: Result<Model<'m>, FaultCode>,
    ws: Workspace<'w>,
    pin: P,
    config: Config,
    history: History,
    last: Option<Kept>,
    fault: Option<FaultCode>,
    runs: u32,
}

impl<'m, 'w, P: OutputPin> Pipeline<'m, 'w, P> {
    /// A pipeline around `model` (or the fault that kept it from loading).
    /// A model that does not fit the workspace, or whose input or output
    /// is not one channel, becomes [`FaultCode::UnsupportedModel`]. The
    /// fault line starts raised until a frame is masked.
    pub fn new(
        model: Result<Model<'m>, FaultCode>,
        ws: Workspace<'w>,
        mut pin: P,
        config: Config,
    ) -> Self {
        let model = model.and_then(|m| {
            let one_channel = m.input_shape().c == 1 && m.output_shape().c == 1;
            if one_channel && ws.fits(&m) {
                Ok(m)
            } else {
                Err(FaultCode::UnsupportedModel)
            }
        });
        if let Err(f) = &model {
            warn!("model unusable: {}", f);
        }
        let _ = pin.set_high();
        Self {
            model,
            ws,
            pin,
            config,
            history: History::default(),
            last: None,
            fault: None,
            runs: 0,
        }
    }

    /// The model as loaded, for the device's hello.
    pub fn model_status(&self) -> ModelStatus {
        match &self.model {
            Ok(m) => {
                let o = m.output_shape();
                ModelStatus::Loaded {
                    map_w: o.w,
                    map_h: o.h,
                    provenance: m.info().provenance,
                    verified: m.info().signature == SignatureStatus::Verified,
                }
            }
            Err(f) => ModelStatus::Failed(*f),
        }
    }

    /// The model, if one is loaded.
    pub fn model(&self) -> Option<&Model<'m>> {
        self.model.as_ref().ok()
    }

    /// Whether the fault line is raised (the last frame was not masked).
    pub fn fault_line(&self) -> bool {
        self.last.is_none()
    }

    /// The fault of the last frame, if it was blacked out.
    pub fn fault(&self) -> Option<FaultCode> {
        self.fault
    }

    /// Pipeline runs so far.
    pub fn runs(&self) -> u32 {
        self.runs
    }

    /// The spans of row `y` the last frame kept (empty if it was black).
    pub fn kept_spans(&self, y: u32, width: u16) -> RowSpans {
        match &self.last {
            Some(k) => intersect_spans(
                &k.current.row_spans(y, width),
                &k.smoothed.row_spans(y, width),
            ),
            None => RowSpans::new(),
        }
    }

    /// Masks `frame` (laid out as `layout`) in place. `restart` forgets the
    /// earlier frames' geometry (a new clip, probe or preset). On any
    /// fault the whole of `frame` is black when this returns.
    pub fn process(
        &mut self,
        frame: &mut [u8],
        layout: FrameLayout,
        restart: bool,
        probe: &mut impl Probe,
    ) -> FrameResult {
        self.runs = self.runs.wrapping_add(1);
        let size = (layout.width, layout.height);
        if restart || self.history.size != size {
            self.history = History {
                size,
                ..History::default()
            };
        }
        probe.mark(Stage::Preprocess);
        let fitted = self.locate(frame, layout, probe);
        probe.mark(Stage::Mask);
        let outcome = match fitted {
            Ok(kept) => {
                let w = layout.width;
                let (current, smoothed) =
                    (kept.current.prepare_rows(), kept.smoothed.prepare_rows());
                let masked = mask_rows_in_place(frame, layout, |y| {
                    intersect_spans(&current.row_spans(y, w), &smoothed.row_spans(y, w))
                });
                match masked {
                    Ok(n) if n > 0 => {
                        self.last = Some(kept);
                        Ok(n)
                    }
                    // The fit and its blend share no pixel: nothing to show.
                    Ok(_) => Err(FaultCode::Implausible(Implausibility::Area)),
                    Err(_) => Err(FaultCode::UnsupportedFrame),
                }
            }
            Err(f) => Err(f),
        };
        if let Err(f) = outcome {
            sonomask_core::mask::black_out(frame);
            self.record_fault(Some(f));
        } else {
            self.record_fault(None);
        }
        probe.mark(Stage::Done);
        FrameResult {
            outcome,
            run: self.runs,
        }
    }

    /// Records a fault for a frame the pipeline never saw (its rows were
    /// lost, its header unsupported): the caller sends it black.
    pub fn fail(&mut self, fault: FaultCode) {
        self.record_fault(Some(fault));
    }

    fn record_fault(&mut self, fault: Option<FaultCode>) {
        match fault {
            Some(f) => {
                if self.fault.is_none() {
                    warn!("fault line raised: {}", f);
                }
                self.last = None;
                let _ = self.pin.set_high();
            }
            None => {
                if self.fault.is_some() {
                    info!("fault line cleared");
                }
                let _ = self.pin.set_low();
            }
        }
        self.fault = fault;
    }

    /// Thumbnail → network → map → fit → checks → blend.
    fn locate(
        &mut self,
        frame: &[u8],
        layout: FrameLayout,
        probe: &mut impl Probe,
    ) -> Result<Kept, FaultCode> {
        let Self {
            model,
            ws,
            config,
            history,
            ..
        } = self;
        let model = model.as_ref().map_err(|f| *f)?;
        let inp = model.input_shape();
        let n_in = inp.w as usize * inp.h as usize;
        // A frame smaller than the network's input would be upsampled: no
        // cart produces one, so it is a format the pipeline does not know.
        if layout.width < inp.w || layout.height < inp.h {
            return Err(FaultCode::UnsupportedFrame);
        }
        frame_to_input(model, frame, layout, &mut ws.input[..n_in])
            .map_err(|_| FaultCode::UnsupportedFrame)?;

        probe.mark(Stage::Inference);
        let out = model.output_shape();
        let (mw, mh) = (out.w as usize, out.h as usize);
        let n_out = mw * mh;
        engine::run(model, &ws.input[..n_in], ws.arena, &mut ws.logits[..n_out])
            .map_err(FaultCode::Inference)?;
        model
            .logits_to_probability_u8(&ws.logits[..n_out], &mut ws.map[..n_out])
            .map_err(FaultCode::Inference)?;

        probe.mark(Stage::Fit);
        let (w, h) = (layout.width, layout.height);
        let opts = FitOptions {
            seed: config.seed,
            ..FitOptions::upscaled(mw, mh, w, h)
        };
        let need = fit::scratch_len(mw, mh);
        let mut scratch = FitScratch {
            labels: &mut ws.labels[..need.labels],
            points: &mut ws.points[..need.points],
        };
        let current = fit::fit_regions_from_map(&ws.map[..n_out], mw, mh, &opts, &mut scratch)
            .map_err(FaultCode::Fit)?;
        let area = current.area(w, h);
        plausibility::check(&current, area, w, h, &config.limits)
            .map_err(FaultCode::Implausible)?;
        check_consistency(history, &current, w, h, config)?;
        let smoothed = match &history.smoothed {
            Some(prev) => smoothing::blend(prev, &current, config.smoothing, w),
            None => current.clone(),
        };
        history.smoothed = Some(smoothed.clone());
        history.accepted = Some(current.clone());
        Ok(Kept { current, smoothed })
    }
}

/// A fit far from the last accepted one is a jump: black, and remembered;
/// the next fit that agrees with it confirms the new geometry (and the
/// blend starts over).
fn check_consistency(
    history: &mut History,
    current: &Regions,
    w: u16,
    h: u16,
    config: &Config,
) -> Result<(), FaultCode> {
    const ROW_STEP: usize = 4;
    if let Some(prev) = &history.accepted
        && smoothing::iou(prev, current, w, h, ROW_STEP) < config.jump_iou
    {
        let confirmed = history
            .pending
            .as_ref()
            .is_some_and(|p| smoothing::iou(p, current, w, h, ROW_STEP) >= config.confirm_iou);
        if !confirmed {
            history.pending = Some(current.clone());
            return Err(FaultCode::GeometryJump);
        }
        history.smoothed = None;
    }
    history.pending = None;
    Ok(())
}

#[cfg(test)]
mod tests;

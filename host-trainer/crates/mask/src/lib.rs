//! `sonomask mask`: real files in, masked files out, with the code the cart
//! runs.
//!
//! Per file (a clip: every frame of a DICOM, or one still):
//! 1. read ([`source`]): the 8-bit frames the model sees and, for DICOM, the
//!    stored samples;
//! 2. one coarse map from **every** frame on the shared int8 engine
//!    ([`EnginePredictor::frames_map`]: shared thumbnail, engine, the
//!    blob's probability table, integer average); in a clip of three or more
//!    frames, the cells whose speckle changes from frame to frame join it
//!    ([`sonomask_data::weak::temporal::motion_map`],
//!    [`inference::fuse_motion`]), so dark anatomy that the network reads
//!    as background stays inside; the cells over a flat grey UI panel
//!    leave it ([`inference::drop_flat_panels`]: a viewer window the
//!    network took for the scan); both through
//!    [`inference::add_image_evidence`], as `predict --mask-priors` does;
//! 3. scan regions from the shared geometry fit
//!    ([`inference::regions_from_map`], the same fit as `predict`); a
//!    single rectangle or fan snapped to the image's own edges
//!    ([`edge_snap`], [`sonomask_deploy::fan_snap`]);
//! 4. the DICOM Sequence of Ultrasound Regions as a prior and cross-check
//!    ([`us_regions`]);
//! 5. plausibility ([`plausibility`]); an implausible clip fails closed:
//!    every frame is written fully black and the clip goes to the review
//!    queue ([`review_queue`]);
//! 6. masking: the shared per-row span fill ([`sonomask_core::mask`]) where
//!    the output is 8-bit grey or RGB with black = 0, the same spans filled
//!    with the representation's black otherwise ([`apply`]);
//! 7. writing: DICOM ([`dicom_out`], optionally de-identified with
//!    [`deid`]), PNG for stills, per-frame keep masks, preview sheets
//!    ([`preview`]); every file atomically.

pub mod apply;
pub mod batch;
pub mod deid;
mod deid_table;
pub mod dicom_out;
pub mod plausibility;
pub mod preview;
pub mod review_queue;
pub mod source;
pub mod us_regions;

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::GrayImage;
use serde::Serialize;
use sonomask_core::Regions;
use sonomask_core::mask::{FrameLayout, PixelFormat};

use sonomask_data::dataset::{self, DatasetError, Frames};
use sonomask_data::ingest::IngestError;
use sonomask_deploy::blob_inference::{EnginePredictor, FrameMapError};
use sonomask_deploy::edge_snap;
use sonomask_deploy::maps as inference;

use deid::{Change, UidMap};
use us_regions::{PriorReport, UsRegion};

/// What one clip's frames say about where the scan is.
#[derive(Clone, Debug)]
pub struct ClipDecision {
    /// The regions to keep; `None` when the clip fails closed.
    pub regions: Option<Regions>,
    /// Why the clip fails closed.
    pub fail_reason: Option<String>,
    /// The fit before the prior and the checks (the review proposal).
    pub proposal: Option<Regions>,
    /// Fraction of the frame kept (0 when failed closed).
    pub kept_fraction: f64,
    pub prior: PriorReport,
}

/// The model, the map level that feeds the fit and whether a clip's motion
/// evidence joins the network's map.
pub struct Masker<'m> {
    pub engine: EnginePredictor<'m>,
    pub keep_level: u8,
    /// Fuse the clip's motion map
    /// ([`sonomask_data::weak::temporal::motion_map`], clips of three or
    /// more frames) into the network's map before the fit
    /// ([`inference::fuse_motion`]): dark anatomy that moves stays inside.
    pub motion_prior: bool,
    /// Read the image itself around the network: map cells over a flat
    /// grey panel leave the map before the fit
    /// ([`inference::drop_flat_panels`]), and a single fitted rectangle or
    /// fan snaps to the image's own edges ([`edge_snap`],
    /// [`sonomask_deploy::fan_snap`]): a linear image whose far side or top
    /// the map missed, or a fan whose apex, dark edge or far arc it missed,
    /// stays whole.
    pub edge_snap: bool,
}

fn layout_of(frames: &Frames) -> Option<(FrameLayout, Vec<&[u8]>)> {
    let side = |v: u32| u16::try_from(v).ok();
    match frames {
        Frames::Gray(v) => {
            let (w, h) = v.first()?.dimensions();
            Some((
                FrameLayout::packed(side(w)?, side(h)?, PixelFormat::Gray8),
                v.iter().map(|f| f.as_raw().as_slice()).collect(),
            ))
        }
        Frames::Rgb(v) => {
            let (w, h) = v.first()?.dimensions();
            Some((
                FrameLayout::packed(side(w)?, side(h)?, PixelFormat::Rgb888),
                v.iter().map(|f| f.as_raw().as_slice()).collect(),
            ))
        }
    }
}

impl Masker<'_> {
    /// Steps 2–5 for one clip.
    pub fn decide(
        &self,
        frames: &Frames,
        declared: &[UsRegion],
    ) -> Result<ClipDecision, FrameMapError> {
        let fail = |reason: String, proposal: Option<Regions>, prior: PriorReport| ClipDecision {
            regions: None,
            fail_reason: Some(reason),
            proposal,
            kept_fraction: 0.0,
            prior,
        };
        let Some((layout, bufs)) = layout_of(frames) else {
            return Ok(fail(
                "no frames, or frames wider or taller than 65535 pixels".into(),
                None,
                PriorReport::default(),
            ));
        };
        let mut map = self.engine.frames_map(&bufs, layout)?;
        let (mw, mh) = sonomask_deploy::maps::CoarseMaps::map_size(&self.engine);
        let (w, h) = (layout.width, layout.height);
        let luma;
        let gray: &[GrayImage] = match frames {
            Frames::Gray(v) => v,
            Frames::Rgb(v) if self.motion_prior && v.len() >= 3 => {
                luma = v.iter().map(dataset::rgb_to_luma).collect::<Vec<_>>();
                &luma
            }
            Frames::Rgb(v) if self.edge_snap => {
                luma = v
                    .iter()
                    .take(1)
                    .map(dataset::rgb_to_luma)
                    .collect::<Vec<_>>();
                &luma
            }
            Frames::Rgb(_) => &[],
        };
        inference::add_image_evidence(
            &mut map,
            (mw, mh),
            (u32::from(w), u32::from(h)),
            gray,
            (self.motion_prior, self.edge_snap),
            self.keep_level,
        );
        let fitted = match inference::regions_from_map(
            &map,
            mw,
            mh,
            u32::from(w),
            u32::from(h),
            self.keep_level,
        ) {
            Ok(r) => r,
            Err(e) => {
                return Ok(fail(
                    format!("no scan region could be fitted: {e}"),
                    None,
                    PriorReport::default(),
                ));
            }
        };
        let fitted = match gray.first() {
            Some(first) if self.edge_snap => edge_snap::refine(&fitted, first).unwrap_or(fitted),
            _ => fitted,
        };
        let (regions, prior) = us_regions::apply(&fitted, declared, w, h);
        let kept = regions.area(w, h) as f64 / (f64::from(w) * f64::from(h));
        match plausibility::check(&regions, kept, &prior) {
            Ok(()) => Ok(ClipDecision {
                regions: Some(regions),
                fail_reason: None,
                proposal: Some(fitted),
                kept_fraction: kept,
                prior,
            }),
            Err(reason) => Ok(fail(reason, Some(fitted), prior)),
        }
    }
}

/// What to write besides the masked file.
#[derive(Clone, Copy, Debug, Default)]
pub struct MaskOptions {
    /// Each frame's keep mask as `<id>_f<NNN>.mask.png`.
    pub emit_masks: bool,
    /// A before/after sheet as `preview/<id>.png`.
    pub preview: bool,
    /// Apply the PS3.15 Basic Profile to DICOM headers.
    pub deid_header: bool,
    /// Leave a clip's motion evidence out of the map (network only); see
    /// [`Masker::motion_prior`].
    pub no_motion_prior: bool,
    /// Fit the network's map as it is (no flat-panel step) and keep the
    /// fitted regions where the fit put them; see [`Masker::edge_snap`].
    pub no_edge_snap: bool,
}

/// Why a file was skipped (nothing was written for it).
#[derive(Debug, thiserror::Error)]
pub enum MaskFileError {
    #[error(transparent)]
    Read(#[from] IngestError),
    #[error("{path}: {source}")]
    Model {
        path: PathBuf,
        #[source]
        source: FrameMapError,
    },
    #[error("{path}: {source}")]
    Encode {
        path: PathBuf,
        #[source]
        source: dicom_out::DicomOutError,
    },
    #[error(transparent)]
    Write(#[from] DatasetError),
    #[error("{path}: refusing to overwrite the input with its output")]
    SameAsInput { path: PathBuf },
}

/// Seconds spent in each stage of one file.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Timings {
    /// Reading and decoding (codecs, palette, colour conversion).
    pub decode_s: f64,
    /// Model on every frame, fit, checks and masking of every frame.
    pub mask_s: f64,
    /// Encoding and writing the output (not masks or previews).
    pub encode_s: f64,
}

/// What happened to one input file.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub input: PathBuf,
    pub id: String,
    pub output: PathBuf,
    /// `dicom` or `still`.
    pub kind: &'static str,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    /// `masked` or `failed_closed` (written fully black, queued for review).
    pub status: &'static str,
    pub reason: Option<String>,
    pub kept_fraction: f64,
    pub regions: Option<Regions>,
    pub us_regions: PriorReport,
    /// DICOM only: the transfer syntax read and written.
    pub transfer_syntax_in: Option<String>,
    pub transfer_syntax_out: Option<String>,
    pub sop_instance_uid: Option<String>,
    /// DICOM only: every attribute changed besides Pixel Data.
    pub changed_attributes: Vec<Change>,
    pub timings: Timings,
    /// The fit before the checks, for the review queue.
    #[serde(skip)]
    pub proposal: Option<Regions>,
}

impl FileReport {
    pub fn failed_closed(&self) -> bool {
        self.status == "failed_closed"
    }
}

/// Masks one input file into `out_dir` (see the module documentation).
pub fn process_file(
    masker: &Masker<'_>,
    input: &Path,
    id: &str,
    out_dir: &Path,
    opts: MaskOptions,
    uids: &UidMap,
) -> Result<FileReport, MaskFileError> {
    let t0 = Instant::now();
    let src = source::read(input)?;
    let decode_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let (w, h) = src.size();
    let declared = src
        .dicom
        .as_ref()
        .map_or(&[][..], |d| d.us_regions.as_slice());
    let decision = masker
        .decide(&src.frames, declared)
        .map_err(|source| MaskFileError::Model {
            path: input.to_path_buf(),
            source,
        })?;
    let regions = decision.regions.as_ref();
    let masked_frames = apply::mask_frames(&src.frames, regions);
    let masked_native = src
        .dicom
        .as_ref()
        .map(|d| apply::mask_native(&d.native, regions));
    let mask_s = t1.elapsed().as_secs_f64();

    let is_dicom = src.dicom.is_some();
    let output = out_dir.join(format!("{id}.{}", if is_dicom { "dcm" } else { "png" }));
    if same_file(input, &output) {
        return Err(MaskFileError::SameAsInput { path: output });
    }
    let t2 = Instant::now();
    let n = src.frames.len();
    let mut report = FileReport {
        input: input.to_path_buf(),
        id: id.to_string(),
        output: output.clone(),
        kind: if is_dicom { "dicom" } else { "still" },
        frames: n,
        width: w,
        height: h,
        status: if regions.is_some() {
            "masked"
        } else {
            "failed_closed"
        },
        reason: decision.fail_reason.clone(),
        kept_fraction: decision.kept_fraction,
        regions: decision.regions.clone(),
        us_regions: decision.prior.clone(),
        transfer_syntax_in: None,
        transfer_syntax_out: None,
        sop_instance_uid: None,
        changed_attributes: Vec::new(),
        timings: Timings::default(),
        proposal: decision.proposal.clone(),
    };
    match (src.dicom, masked_native) {
        (Some(d), Some(native)) => {
            report.transfer_syntax_in = Some(d.obj.meta().transfer_syntax().to_string());
            let built = dicom_out::build(d, native, opts.deid_header.then_some(uids)).map_err(
                |source| MaskFileError::Encode {
                    path: input.to_path_buf(),
                    source,
                },
            )?;
            dataset::write_atomic(&output, &built.bytes)?;
            report.transfer_syntax_out = Some(built.transfer_syntax);
            report.sop_instance_uid = Some(built.sop_instance_uid);
            report.changed_attributes = built.changes;
        }
        _ => match &masked_frames {
            Frames::Gray(v) => dataset::write_png(&output, &v[0])?,
            Frames::Rgb(v) => dataset::write_png(&output, &v[0])?,
        },
    }
    report.timings = Timings {
        decode_s,
        mask_s,
        encode_s: t2.elapsed().as_secs_f64(),
    };

    let keep = keep_mask(regions, w, h);
    if opts.emit_masks {
        for i in 0..n {
            dataset::write_png(&out_dir.join(mask_file_name(id, i)), &keep)?;
        }
    }
    if opts.preview {
        let dir = out_dir.join("preview");
        std::fs::create_dir_all(&dir).map_err(|source| DatasetError::Io {
            path: dir.clone(),
            source,
        })?;
        let title = match &report.reason {
            None => format!(
                "{id}: kept {:.1}% of the frame",
                100.0 * report.kept_fraction
            ),
            Some(r) => format!("{id}: FAILED CLOSED: {r}"),
        };
        let sheet = preview::sheet(
            &src.frames,
            &masked_frames,
            regions.map(|_| &keep),
            &title,
            regions.is_some(),
            320,
        );
        dataset::write_png(&dir.join(format!("{id}.png")), &sheet)?;
    }
    Ok(report)
}

/// `<id>_f<frame, 3 digits>.mask.png` (more digits past frame 999).
pub fn mask_file_name(id: &str, frame: usize) -> String {
    format!("{id}_f{frame:03}.mask.png")
}

/// The keep mask of `regions` at `w × h` (all black for `None`).
pub fn keep_mask(regions: Option<&Regions>, w: u32, h: u32) -> GrayImage {
    let mut m = GrayImage::new(w, h);
    if let (Some(r), Ok(w16), Ok(h16)) = (regions, u16::try_from(w), u16::try_from(h)) {
        // A false return means a size mismatch, impossible here; the mask
        // then stays black (fail closed).
        let _ = r.rasterize(w16, h16, &mut m);
    }
    m
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

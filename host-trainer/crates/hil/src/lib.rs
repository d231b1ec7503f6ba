//! sonomask's hardware-in-the-loop rig: streams dataset frames to a device (the
//! QEMU board, the simulated device, or a cart on a serial port) over the
//! wire protocol, and checks every byte that comes back against the host
//! reference (the firmware's own pipeline, run here on the frames the
//! device processed) and, for synthetic data, against the ground truth.
//!
//! Per frame it records the outcome, whether device and reference agree,
//! any non-zero byte in a frame that must be black (a leak), the latency
//! and — on QEMU — the instructions of each pipeline stage.

pub mod client;
pub mod junit;
pub mod link;
pub mod qemu;
pub mod reference;
pub mod sim;
pub mod threshold_model;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use image::GrayImage;
use serde::Serialize;
use sonomask_core::blob::SignaturePolicy;
use sonomask_core::metrics::MaskMetrics;
use sonomask_core::slot::slot_header;
use sonomask_core::wire::{Counters, DeviceInfo, FrameHeader, Outcome, Reply};
use sonomask_core::{PixelFormat, RowSpans};
use sonomask_firmware::board::MODEL_SLOT_LEN;
use sonomask_firmware::{Config, NoProbe, Pipeline, load_model};

use client::{Answer, Client, ClientError, Garble};
use qemu::{QemuError, QemuOptions, QemuSession, StageCounts};
use reference::{FaultLine, OwnedWorkspace};
use sim::SimDevice;
use sonomask_data::dataset::{self, Dataset, DatasetError};

/// Which device to drive.
#[derive(Clone, Debug)]
pub enum Target {
    /// The firmware's device on a host thread.
    Sim,
    /// The board image in QEMU.
    Qemu(QemuOptions),
    /// A cart on a serial port.
    Serial { path: String, baud: u32 },
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Sim => "sim".into(),
            Target::Qemu(o) => format!("qemu ({:?} link)", o.link).to_lowercase(),
            Target::Serial { path, .. } => format!("serial:{path}"),
        }
    }
}

/// A HIL run.
#[derive(Clone, Debug)]
pub struct HilConfig {
    pub target: Target,
    /// The model blob (`.snmk`) to put in the device's slot (and load in
    /// the reference). A defective blob is allowed: the run then checks
    /// that every frame comes back black.
    pub model: PathBuf,
    pub data: PathBuf,
    /// At most this many frames (clips in order, frames in order).
    pub frames: Option<usize>,
    pub reply: Reply,
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// Damage to outgoing frame traffic (fault injection).
    pub garble: Option<Garble>,
    /// Signatures are required and checked with this key (sim and the
    /// reference; a QEMU or serial device has its own policy built in).
    pub pubkey: Option<ed25519_dalek::VerifyingKey>,
}

/// Why the run could not be carried out (as opposed to finding failures,
/// which are in the report).
#[derive(Debug, thiserror::Error)]
pub enum HilError {
    #[error("reading the model {path}: {source}")]
    Model {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the model is {0} bytes; the slot holds {MODEL_SLOT_LEN}")]
    ModelTooLarge(usize),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("clip {clip}: {width}×{height} does not fit the wire format (at most 65535 per side)")]
    FrameTooLarge {
        clip: String,
        width: u32,
        height: u32,
    },
    #[error(transparent)]
    Qemu(#[from] QemuError),
    // The cause follows in the error chain (`{:#}`, the CLI's report).
    #[error("talking to the device")]
    Client(#[from] ClientError),
    #[error("opening serial port {path}")]
    Serial {
        path: String,
        #[source]
        source: serialport::Error,
    },
    #[error("the simulated device: {0}")]
    Sim(std::io::Error),
}

/// What happened to one frame.
#[derive(Clone, Debug, Serialize)]
pub struct FrameRecord {
    pub clip: String,
    pub index: usize,
    pub seq: u32,
    pub width: u32,
    pub height: u32,
    pub color: bool,
    /// The device's outcome ("masked", or the fault).
    pub outcome: String,
    pub masked: bool,
    pub kept_pixels: u32,
    pub fault_line: bool,
    /// The device's pipeline run number (0: not processed).
    pub run: u32,
    /// What differed between device and reference, if anything.
    pub mismatch: Option<String>,
    /// Non-zero bytes in a frame the device reported black.
    pub leaked_bytes: u64,
    pub latency_ms: f64,
    /// Against the ground truth (synthetic data), from what was kept.
    pub truth: Option<MaskMetrics>,
    /// Instructions per stage (QEMU with the counting plugin).
    pub instructions: Option<StageCounts>,
    /// The device did not answer.
    pub error: Option<String>,
    /// For an unanswered frame, which way it was lost, if the device's
    /// counters could tell.
    pub lost: Option<Lost>,
}

/// Where an unanswered frame went, from the device's counters after the
/// timeout: a frame the device finished (masked or blacked) whose answer
/// never arrived, or a frame the device never finished (its header, rows
/// or end lost on the way in: nothing was emitted for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lost {
    Answer,
    Frame,
}

/// Tells a lost answer from a lost frame after a timeout, from the
/// device's counters: frames it finished (masked or blacked) since a
/// baseline, against those the host saw answered.
#[derive(Clone, Copy, Debug)]
pub struct LossTracker {
    /// Finished frames at the baseline; `None` without one (a status lost
    /// to a damaged link): losses stay unclassified.
    base: Option<u32>,
    /// Finished frames the host knows of since the baseline.
    seen: u32,
}

impl LossTracker {
    /// From the device's counters at the start (`None`: no baseline).
    pub fn new(start: Option<&Counters>) -> Self {
        Self {
            base: start.map(finished),
            seen: 0,
        }
    }

    /// An answer arrived with this outcome.
    pub fn answered(&mut self, outcome: &Outcome) {
        if matches!(outcome, Outcome::Masked | Outcome::Blacked(_)) {
            self.seen = self.seen.wrapping_add(1);
        }
    }

    /// A frame went unanswered; `now` is the device's status after the
    /// timeout. More frames finished than answered: the answer was lost.
    pub fn unanswered(&mut self, now: Option<&Counters>) -> Option<Lost> {
        let done = finished(now?).wrapping_sub(self.base?);
        Some(if done > self.seen {
            self.seen = done;
            Lost::Answer
        } else {
            Lost::Frame
        })
    }
}

/// Frames the device has finished.
fn finished(c: &Counters) -> u32 {
    c.masked.wrapping_add(c.blacked)
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lost::Answer => "the device finished it; its answer was lost",
            Lost::Frame => "the device never finished it; the frame was lost on the way in",
        })
    }
}

impl FrameRecord {
    /// Why this frame fails the run, if it does.
    pub fn failure(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(e.clone());
        }
        if self.leaked_bytes > 0 {
            return Some(format!(
                "{} unmasked bytes in a black frame",
                self.leaked_bytes
            ));
        }
        self.mismatch.clone()
    }
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct HilReport {
    pub target: String,
    pub model: PathBuf,
    /// Whether the host could load the model (else every frame must be black).
    pub model_loads: Result<String, String>,
    pub device: DeviceInfo,
    pub frames: Vec<FrameRecord>,
    /// The device's counters at the end.
    pub counters: Counters,
    /// Frame messages sent damaged (fault injection).
    pub injected: u64,
    /// Device messages that arrived damaged.
    pub damaged_answers: u64,
    /// Instructions of the whole QEMU run (boot and I/O included).
    pub qemu_total_instructions: Option<u64>,
}

impl HilReport {
    pub fn mismatches(&self) -> usize {
        self.frames.iter().filter(|f| f.mismatch.is_some()).count()
    }

    pub fn leaks(&self) -> usize {
        self.frames.iter().filter(|f| f.leaked_bytes > 0).count()
    }

    pub fn errors(&self) -> usize {
        self.frames.iter().filter(|f| f.error.is_some()).count()
    }

    /// Unanswered frames the device had finished (answers lost), and those
    /// it never finished (frames lost).
    pub fn lost(&self) -> (usize, usize) {
        let n = |l: Lost| self.frames.iter().filter(|f| f.lost == Some(l)).count();
        (n(Lost::Answer), n(Lost::Frame))
    }

    pub fn failures(&self) -> usize {
        self.frames.iter().filter(|f| f.failure().is_some()).count()
    }

    /// Latency percentile `p` (0..=100) in ms over answered frames.
    pub fn latency_ms(&self, p: f64) -> Option<f64> {
        let mut v: Vec<f64> = self
            .frames
            .iter()
            .filter(|f| f.error.is_none())
            .map(|f| f.latency_ms)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        Some(v[i.min(v.len() - 1)])
    }

    /// Mean instructions per stage over the frames the pipeline masked
    /// (the steady state; black-outs skip stages), and their count.
    pub fn mean_instructions(&self) -> Option<(StageCounts, usize)> {
        let counted: Vec<&StageCounts> = self
            .frames
            .iter()
            .filter(|f| f.masked)
            .filter_map(|f| f.instructions.as_ref())
            .collect();
        let n = counted.len() as u64;
        if n == 0 {
            return None;
        }
        let mean = |g: fn(&StageCounts) -> u64| counted.iter().map(|c| g(c)).sum::<u64>() / n;
        Some((
            StageCounts {
                preprocess: mean(|c| c.preprocess),
                inference: mean(|c| c.inference),
                fit: mean(|c| c.fit),
                masking: mean(|c| c.masking),
                total: mean(|c| c.total),
            },
            counted.len(),
        ))
    }

    /// Largest total over all counted frames.
    pub fn max_instructions(&self) -> Option<u64> {
        self.frames
            .iter()
            .filter_map(|f| f.instructions.map(|i| i.total))
            .max()
    }
}

/// One frame of the dataset, ready to send.
struct Source {
    clip: String,
    index: usize,
    width: u32,
    height: u32,
    color: bool,
    ground_truth: bool,
}

/// The device end, for shutting down.
enum Running {
    Sim(SimDevice),
    Qemu(QemuSession),
    Serial,
}

/// The slot image of a model: header and blob.
pub fn slot_image(blob: &[u8]) -> Result<Vec<u8>, HilError> {
    let header = slot_header(blob.len()).ok_or(HilError::ModelTooLarge(blob.len()))?;
    if header.len() + blob.len() > MODEL_SLOT_LEN {
        return Err(HilError::ModelTooLarge(blob.len()));
    }
    let mut s = header.to_vec();
    s.extend_from_slice(blob);
    Ok(s)
}

fn start(cfg: &HilConfig, slot: &[u8]) -> Result<(Running, link::Link), HilError> {
    Ok(match &cfg.target {
        Target::Sim => {
            let (dev, link) = SimDevice::spawn(slot.to_vec(), cfg.pubkey).map_err(HilError::Sim)?;
            (Running::Sim(dev), link)
        }
        Target::Qemu(opts) => {
            let (session, link) = QemuSession::start(opts, slot)?;
            (Running::Qemu(session), link)
        }
        Target::Serial { path, baud } => {
            let port = serialport::new(path, *baud)
                .timeout(Duration::from_secs(3600))
                .open()
                .map_err(|source| HilError::Serial {
                    path: path.clone(),
                    source,
                })?;
            let reader = port.try_clone().map_err(|source| HilError::Serial {
                path: path.clone(),
                source,
            })?;
            (Running::Serial, link::Link::new(reader, port))
        }
    })
}

/// Runs the rig; `on_frame` sees each record as it is made.
pub fn run(cfg: &HilConfig, on_frame: &dyn Fn(&FrameRecord)) -> Result<HilReport, HilError> {
    let blob = std::fs::read(&cfg.model).map_err(|source| HilError::Model {
        path: cfg.model.clone(),
        source,
    })?;
    let slot = slot_image(&blob)?;
    let data = Dataset::open(&cfg.data)?;
    let mut sources = Vec::new();
    for entry in data.clips() {
        if entry.width > u32::from(u16::MAX) || entry.height > u32::from(u16::MAX) {
            return Err(HilError::FrameTooLarge {
                clip: entry.id.clone(),
                width: entry.width,
                height: entry.height,
            });
        }
        for index in 0..entry.frames {
            sources.push(Source {
                clip: entry.id.clone(),
                index,
                width: entry.width,
                height: entry.height,
                color: entry.color,
                ground_truth: entry.ground_truth,
            });
        }
    }
    sources.truncate(cfg.frames.unwrap_or(usize::MAX));

    // The reference: the firmware's pipeline on the host, same model bytes.
    let policy = match &cfg.pubkey {
        Some(k) => SignaturePolicy::Required(k),
        None => SignaturePolicy::Optional,
    };
    let model = load_model(&slot, policy);
    let model_loads = match &model {
        Ok(m) => Ok(m.info().arch.to_string()),
        Err(f) => Err(f.to_string()),
    };
    let mut ows = OwnedWorkspace::new();
    let mut reference = Pipeline::new(model, ows.ws(), FaultLine::default(), Config::default());

    let (running, link) = start(cfg, &slot)?;
    let mut client = Client::new(link, cfg.garble);
    let device = client.hello(cfg.timeout)?;
    let mut losses = LossTracker::new(client.status(cfg.timeout).ok().as_ref());

    let mut truth_cache: HashMap<String, (GrayImage, GrayImage)> = HashMap::new();
    let mut frames = Vec::with_capacity(sources.len());
    for (k, src) in sources.iter().enumerate() {
        let (pixels, format) = load_pixels(&data, src)?;
        let header = FrameHeader {
            seq: k as u32,
            width: src.width as u16,
            height: src.height as u16,
            format,
            reply: cfg.reply,
            restart: src.index == 0,
        };
        client.send_frame(&header, &pixels)?;
        let answer = client.answer(header.seq, cfg.timeout);
        let lost = match &answer {
            Ok(a) => {
                losses.answered(&a.report.outcome);
                None
            }
            Err(_) => losses.unanswered(client.status(cfg.timeout).ok().as_ref()),
        };
        let truth = if src.ground_truth {
            if !truth_cache.contains_key(&src.clip) {
                let t = (data.load_sector(&src.clip)?, data.load_overlay(&src.clip)?);
                truth_cache.insert(src.clip.clone(), t);
            }
            truth_cache.get(&src.clip)
        } else {
            None
        };
        let mut record = check_frame(src, &header, &pixels, answer, &mut reference, truth);
        if let (Some(l), Some(e)) = (lost, record.error.as_mut()) {
            record.lost = Some(l);
            *e = format!("{e} ({l})");
        }
        on_frame(&record);
        frames.push(record);
    }
    let injected = client.injected;
    let counters = client.shutdown(cfg.timeout)?;
    let damaged_answers = client.damaged_answers();
    let mut qemu_total_instructions = None;
    match running {
        Running::Sim(dev) => {
            dev.join().map_err(HilError::Sim)?;
        }
        Running::Qemu(session) => {
            let run = session.finish(Duration::from_secs(30))?;
            for f in &mut frames {
                if f.run > 0 {
                    f.instructions = run.frames.get(f.run as usize - 1).copied();
                }
            }
            qemu_total_instructions = run.total;
        }
        Running::Serial => {}
    }
    Ok(HilReport {
        target: cfg.target.name(),
        model: cfg.model.clone(),
        model_loads,
        device,
        frames,
        counters,
        injected,
        damaged_answers,
        qemu_total_instructions,
    })
}

fn load_pixels(data: &Dataset, src: &Source) -> Result<(Vec<u8>, PixelFormat), DatasetError> {
    let path = data.frame_path(&src.clip, src.index);
    let img = dataset::read_image(&path)?;
    if (img.width(), img.height()) != (src.width, src.height) {
        return Err(DatasetError::WrongSize {
            path,
            got_w: img.width(),
            got_h: img.height(),
            want_w: src.width,
            want_h: src.height,
        });
    }
    Ok(if src.color {
        (img.into_rgb8().into_raw(), PixelFormat::Rgb888)
    } else {
        (img.into_luma8().into_raw(), PixelFormat::Gray8)
    })
}

/// Compares one answer with the reference (run on the same frame if the
/// device ran its pipeline on it) and the ground truth.
fn check_frame(
    src: &Source,
    header: &FrameHeader,
    pixels: &[u8],
    answer: Result<Answer, ClientError>,
    reference: &mut Pipeline<'_, '_, FaultLine>,
    truth: Option<&(GrayImage, GrayImage)>,
) -> FrameRecord {
    let mut rec = FrameRecord {
        clip: src.clip.clone(),
        index: src.index,
        seq: header.seq,
        width: src.width,
        height: src.height,
        color: src.color,
        outcome: String::new(),
        masked: false,
        kept_pixels: 0,
        fault_line: false,
        run: 0,
        mismatch: None,
        leaked_bytes: 0,
        latency_ms: 0.0,
        truth: None,
        instructions: None,
        error: None,
        lost: None,
    };
    let a = match answer {
        Ok(a) => a,
        Err(e) => {
            rec.outcome = "no answer".into();
            rec.error = Some(e.to_string());
            return rec;
        }
    };
    let r = a.report;
    rec.outcome = match r.outcome {
        Outcome::Masked => "masked".into(),
        Outcome::Blacked(f) => format!("black: {f}"),
        Outcome::Unknown => "unknown to the device".into(),
    };
    rec.masked = r.outcome == Outcome::Masked;
    rec.kept_pixels = r.kept_pixels;
    rec.fault_line = r.fault_line;
    rec.run = r.run;
    rec.latency_ms = a.latency.as_secs_f64() * 1000.0;
    let (w, h) = (header.width, header.height);

    let mut diffs = Vec::new();
    // Fail closed, whatever the reference says: a frame that is not
    // reported masked must come back all black.
    if !rec.masked {
        let bytes = a
            .pixels
            .as_ref()
            .map_or(0, |p| p.iter().filter(|&&b| b != 0).count() as u64);
        let spans = a.spans.as_ref().map_or(0, |rows| {
            rows.iter()
                .flat_map(|r| r.iter())
                .map(|s| u64::from(s.len()))
                .sum::<u64>()
        });
        rec.leaked_bytes = bytes + spans;
    }
    // The fault line is raised exactly while frames go out black.
    let line_ok = match r.outcome {
        Outcome::Masked => !r.fault_line,
        Outcome::Blacked(_) => r.fault_line,
        Outcome::Unknown => true,
    };
    if !line_ok {
        diffs.push("fault line does not follow the outcome".to_string());
    }
    let mut kept: Option<Vec<RowSpans>> = None;
    if r.run > 0 {
        let mut ref_pixels = pixels.to_vec();
        let res = reference.process(
            &mut ref_pixels,
            header.layout(),
            header.restart,
            &mut NoProbe,
        );
        let ref_outcome = match res.outcome {
            Ok(_) => Outcome::Masked,
            Err(f) => Outcome::Blacked(f),
        };
        let ref_kept = res.outcome.unwrap_or(0);
        let spans: Vec<RowSpans> = (0..h)
            .map(|y| reference.kept_spans(u32::from(y), w))
            .collect();
        if res.run != r.run {
            diffs.push(format!("run {} vs reference {}", r.run, res.run));
        }
        if ref_outcome != r.outcome {
            diffs.push(format!(
                "outcome {:?} vs reference {:?}",
                r.outcome, ref_outcome
            ));
        }
        if u64::from(r.kept_pixels) != ref_kept {
            diffs.push(format!("kept {} vs reference {ref_kept}", r.kept_pixels));
        }
        match header.reply {
            Reply::Frame => match &a.pixels {
                Some(p) if *p == ref_pixels => {}
                Some(p) if p.len() == ref_pixels.len() => {
                    let n = p.iter().zip(&ref_pixels).filter(|(x, y)| x != y).count();
                    diffs.push(format!("{n} bytes differ"));
                }
                Some(p) => diffs.push(format!(
                    "{} bytes back, {} expected",
                    p.len(),
                    ref_pixels.len()
                )),
                None => diffs.push("no rows back".into()),
            },
            Reply::Spans => {
                if a.spans.as_ref() != Some(&spans) {
                    diffs.push("spans differ".into());
                }
            }
            Reply::Report => {}
        }
        kept = Some(spans);
    } else if rec.masked {
        diffs.push("reported masked without a pipeline run".into());
    }
    if !diffs.is_empty() {
        rec.mismatch = Some(diffs.join("; "));
    }
    if let Some((sector, overlay)) = truth {
        let mut pred = vec![0u8; w as usize * h as usize];
        if let (true, Some(spans)) = (rec.masked, &kept) {
            for (y, row) in spans.iter().enumerate() {
                for s in row {
                    pred[y * w as usize + s.start as usize..y * w as usize + s.end as usize]
                        .fill(255);
                }
            }
        }
        rec.truth = MaskMetrics::compute(&pred, sector.as_raw(), overlay.as_raw()).ok();
    }
    rec
}

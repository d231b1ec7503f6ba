//! `sonomask annotate` (interactive): draw the scan region of a few clips by
//! dragging the handles of a fan or a rectangle, starting from the best
//! proposal available, and save it as an HQ label.
//!
//! Proposals, best first: the clip's saved HQ drawing (editing it again),
//! the network's prediction (`--model`), the masks of `--proposals` folders
//! (weak labels or predictions) fitted with fans/rectangles, the temporal
//! weak labeler run on the clip, and last a plain centred fan so there is
//! always something to drag. Enter saves: the geometry and its rasterised
//! mask in the HQ format ([`crate::hq`]), then a `draw` line with the
//! drawing's seconds in the journal (fsynced before the page advances).
//! Clips with an HQ label or a standing `flag` are done; the cursor starts
//! at the first clip that is not, so a restart resumes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};
use sonomask_core::{Fan, Region, Regions};

use super::review::{ImageQuery, check_seconds, png_response, render};
use super::{ApiError, Common, assets, auth, blocking};
use crate::hq::{self, HqLabel};
use crate::journal::{self, Decision, JournalError, Verdict};
use sonomask_data::dataset::{self, ClipEntry, Dataset};
use sonomask_deploy::DeployError;
use sonomask_deploy::maps::CoarseMaps;

/// Where an annotation session reads proposals and writes drawings.
pub struct AnnotateConfig {
    /// HQ label folder (`HQDIR/<clip>.png` + `.json`).
    pub out: PathBuf,
    /// The label set's name in the journal (the HQ folder's name).
    pub labels_name: String,
    pub journal: PathBuf,
    pub annotator: String,
    /// Clips to draw, in this order.
    pub clips: Vec<String>,
    /// Mask folders whose masks are fitted into proposals, in order.
    pub proposal_dirs: Vec<PathBuf>,
    /// A trained network whose prediction is the first proposal (the float
    /// network or an int8 blob: anything that makes coarse maps).
    pub model: Option<Box<dyn CoarseMaps + Send>>,
}

/// A starting geometry and where it came from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Proposal {
    pub regions: Regions,
    /// `hq`, `model`, `masks:<folder>`, `temporal` or `default`.
    pub source: String,
}

/// One clip as the drawing page needs it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AnnotateClip {
    pub id: String,
    /// 1-based place in the drawing order.
    pub position: usize,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    /// Whether the clip already has an HQ label or a standing flag.
    pub done: bool,
    pub proposal: Proposal,
}

/// The whole state the page renders.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AnnotateView {
    pub labels: String,
    pub annotator: String,
    pub total: usize,
    pub done: usize,
    /// Mean seconds per drawing saved in this session.
    pub mean_seconds: Option<f64>,
    /// The clip on screen; `None` once every clip is done.
    pub current: Option<AnnotateClip>,
    /// The clip that follows a save (to prefetch).
    pub next: Option<String>,
}

/// The drawing session: order, what is done, the cursor, the journal.
pub struct AnnotateSession {
    out: PathBuf,
    labels_name: String,
    annotator: String,
    order: Vec<String>,
    position: HashMap<String, usize>,
    log: Vec<Decision>,
    done: HashSet<String>,
    cursor: Option<usize>,
    writer: journal::Writer,
    seconds: Vec<f64>,
}

impl AnnotateSession {
    fn open(data: &Dataset, cfg: &AnnotateConfig) -> Result<Self, ApiError> {
        for c in &cfg.clips {
            data.clip(c)?;
        }
        let all = journal::read(&cfg.journal)?;
        journal::check_clips(&cfg.journal, &all, |c| data.clip(c).is_ok())?;
        let log: Vec<Decision> = all
            .into_iter()
            .filter(|d| d.labels == cfg.labels_name)
            .collect();
        let writer = journal::Writer::open(&cfg.journal)?;
        let mut s = Self {
            out: cfg.out.clone(),
            labels_name: cfg.labels_name.clone(),
            annotator: cfg.annotator.clone(),
            order: cfg.clips.clone(),
            position: cfg
                .clips
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), i))
                .collect(),
            log,
            done: HashSet::new(),
            cursor: None,
            writer,
            seconds: Vec::new(),
        };
        s.refresh_done();
        s.cursor = s.undone_after(s.order.len().saturating_sub(1), true);
        Ok(s)
    }

    fn refresh_done(&mut self) {
        let standing = journal::standing(&self.log, &self.labels_name);
        self.done = self
            .order
            .iter()
            .filter(|c| {
                hq::json_path(&self.out, c).is_file()
                    || matches!(standing.get(*c), Some(Verdict::Flag | Verdict::Draw))
            })
            .cloned()
            .collect();
    }

    /// The first clip after `i` (wrapping; `i` itself last when `incl`)
    /// that is not done.
    fn undone_after(&self, i: usize, incl: bool) -> Option<usize> {
        let n = self.order.len();
        let last = if incl { n + 1 } else { n };
        (1..last)
            .map(|k| (i + k) % n.max(1))
            .find(|&j| !self.done.contains(&self.order[j]))
    }

    fn index(&self, clip: &str) -> Result<usize, ApiError> {
        self.position
            .get(clip)
            .copied()
            .ok_or_else(|| ApiError::not_found(format!("clip {clip:?} is not in this session")))
    }

    fn append(&mut self, d: Decision) -> Result<(), JournalError> {
        self.writer.append(&d)?;
        self.log.push(d);
        Ok(())
    }

    /// Saves a drawing of `clip`: HQ mask and geometry, then the journal
    /// line; the cursor moves to the next clip that is not done.
    fn save(&mut self, entry: &ClipEntry, regions: Regions, seconds: f64) -> Result<(), ApiError> {
        let i = self.index(&entry.id)?;
        let seconds = check_seconds(seconds)?;
        validate_drawing(&regions, entry)?;
        let time = journal::now_rfc3339();
        hq::write(
            &self.out,
            entry,
            &HqLabel {
                clip: entry.id.clone(),
                regions,
                annotator: self.annotator.clone(),
                seconds,
                time: time.clone(),
            },
        )?;
        self.append(Decision {
            clip: entry.id.clone(),
            labels: self.labels_name.clone(),
            decision: Verdict::Draw,
            reviewer: self.annotator.clone(),
            seconds,
            time,
            dice: None,
            request: None,
        })?;
        self.seconds.push(seconds);
        self.done.insert(entry.id.clone());
        self.cursor = self.undone_after(i, false);
        Ok(())
    }

    /// Flags `clip` (cannot be drawn, needs a second look) and moves on.
    fn flag(&mut self, clip: &str, seconds: f64) -> Result<(), ApiError> {
        let i = self.index(clip)?;
        let seconds = check_seconds(seconds)?;
        self.append(Decision {
            clip: clip.to_string(),
            labels: self.labels_name.clone(),
            decision: Verdict::Flag,
            reviewer: self.annotator.clone(),
            seconds,
            time: journal::now_rfc3339(),
            dice: None,
            request: None,
        })?;
        self.done.insert(clip.to_string());
        self.cursor = self.undone_after(i, false);
        Ok(())
    }

    /// Moves the cursor one clip forward or back (done or not), wrapping.
    fn step(&mut self, step: i64) -> Result<(), ApiError> {
        if step != 1 && step != -1 {
            return Err(ApiError::bad_request("step must be 1 or -1"));
        }
        let n = self.order.len();
        if n == 0 {
            return Ok(());
        }
        self.cursor = Some(match (self.cursor, step) {
            (None, 1) => 0,
            (None, _) => n - 1,
            (Some(i), 1) => (i + 1) % n,
            (Some(i), _) => (i + n - 1) % n,
        });
        Ok(())
    }
}

/// A drawing worth saving: one to four valid regions with coordinates
/// within a few frame sizes of the frame, keeping some of the frame.
pub fn validate_drawing(regions: &Regions, entry: &ClipEntry) -> Result<(), ApiError> {
    if regions.is_empty() {
        return Err(ApiError::bad_request("the drawing has no region"));
    }
    let reach = 8.0 * entry.width.max(entry.height) as f32;
    let near = |v: f32| v.is_finite() && v.abs() <= reach;
    for (k, r) in regions.iter().enumerate() {
        let ok = match r {
            Region::Fan(f) => {
                [f.apex_x, f.apex_y, f.r_inner, f.r_outer]
                    .into_iter()
                    .all(near)
                    && f.flat_top.is_none_or(near)
            }
            Region::Rect(q) => [q.x0, q.y0, q.x1, q.y1].into_iter().all(near),
        };
        if !ok {
            return Err(ApiError::bad_request(format!(
                "region {}: coordinates must be finite and within {reach} px of the frame",
                k + 1
            )));
        }
        if !r.is_valid() {
            return Err(ApiError::bad_request(format!(
                "region {}: not a valid {} (a fan needs its left edge left of its right edge, both within ±{} rad of vertical, and 0 ≤ inner radius < outer radius; a rectangle needs x0 < x1 and y0 < y1)",
                k + 1,
                match r {
                    Region::Fan(_) => "fan",
                    Region::Rect(_) => "rectangle",
                },
                sonomask_core::geometry::MAX_EDGE_ANGLE
            )));
        }
    }
    let (w, h) = (
        entry.width.min(65_535) as u16,
        entry.height.min(65_535) as u16,
    );
    if regions.area(w, h) == 0 {
        return Err(ApiError::bad_request(
            "the drawing keeps no pixel of the frame",
        ));
    }
    Ok(())
}

/// A plain fan in the middle of the frame: a start when nothing fits.
pub fn default_proposal(entry: &ClipEntry) -> Regions {
    let (w, h) = (entry.width as f32, entry.height as f32);
    Regions::one(Region::Fan(Fan {
        apex_x: w / 2.0,
        apex_y: h * 0.08,
        angle_left: -0.6,
        angle_right: 0.6,
        r_inner: 0.0,
        r_outer: h * 0.8,
        flat_top: None,
        clip: None,
    }))
}

/// Server state of a drawing session.
pub struct AnnotateState {
    pub common: Arc<Common>,
    session: Mutex<AnnotateSession>,
    proposal_dirs: Vec<PathBuf>,
    model: Option<Mutex<Box<dyn CoarseMaps + Send>>>,
    proposals: Mutex<HashMap<String, Proposal>>,
}

impl AnnotateState {
    /// Opens the session (reads the journal, finds what is done).
    pub fn new(common: Arc<Common>, cfg: AnnotateConfig) -> Result<Arc<Self>, ApiError> {
        if cfg.clips.is_empty() {
            return Err(ApiError::bad_request("no clips to draw"));
        }
        let session = AnnotateSession::open(&common.data, &cfg)?;
        Ok(Arc::new(Self {
            common,
            session: Mutex::new(session),
            proposal_dirs: cfg.proposal_dirs,
            model: cfg.model.map(Mutex::new),
            proposals: Mutex::new(HashMap::new()),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AnnotateSession> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The best proposal for `id` (cached; computed without holding the
    /// session lock, since running a labeler takes a while).
    pub fn proposal(&self, id: &str) -> Result<Proposal, ApiError> {
        if let Some(p) = self
            .proposals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            return Ok(p.clone());
        }
        let entry = self.common.data.clip(id)?;
        let out = self.lock().out.clone();
        let p = self.compute_proposal(entry, &out)?;
        self.proposals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), p.clone());
        Ok(p)
    }

    fn compute_proposal(
        &self,
        entry: &ClipEntry,
        out: &std::path::Path,
    ) -> Result<Proposal, ApiError> {
        let data = &self.common.data;
        let id = entry.id.as_str();
        let found = |regions: Regions, source: String| Ok(Proposal { regions, source });
        if let Ok(Some(label)) = hq::read(out, id)
            && label.regions.is_valid()
        {
            return found(label.regions, "hq".into());
        }
        if let Some(model) = &self.model {
            let model = model.lock().unwrap_or_else(|e| e.into_inner());
            let (w, h) = model.map_size();
            let map = model
                .clip_maps(data, std::slice::from_ref(entry))
                .map_err(|e| match e {
                    DeployError::Dataset(e) => ApiError::from(e),
                    e => ApiError::internal(format!("{id}: model: {e}")),
                })?
                .pop()
                .map(|(map, _)| map)
                .ok_or_else(|| ApiError::internal(format!("{id}: the model made no map")))?;
            let opts = sonomask_core::fit::FitOptions::upscaled(
                w,
                h,
                entry.width.min(65_535) as u16,
                entry.height.min(65_535) as u16,
            );
            if let Ok(r) = sonomask_data::weak::fit_regions(&map, w, h, &opts) {
                return found(r, "model".into());
            }
        }
        for dir in &self.proposal_dirs {
            if let Ok(mask) = dataset::read_label_mask(dir, entry)
                && let Ok(r) = sonomask_data::weak::regions_from_mask(&mask)
            {
                let name = dir.file_name().map_or_else(
                    || dir.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                return found(r, format!("masks:{name}"));
            }
        }
        let frames = data.load_luma(id)?;
        if let Some(r) = sonomask_data::weak::temporal::regions(&frames, &Default::default()) {
            return found(r, "temporal".into());
        }
        found(default_proposal(entry), "default".into())
    }

    fn forget_proposal(&self, id: &str) {
        self.proposals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn clip(&self, id: &str, position: usize, done: bool) -> Result<AnnotateClip, ApiError> {
        let entry = self.common.data.clip(id)?;
        Ok(AnnotateClip {
            id: id.to_string(),
            position,
            width: entry.width,
            height: entry.height,
            frames: entry.frames,
            done,
            proposal: self.proposal(id)?,
        })
    }

    /// The state the page renders (computes the current clip's proposal).
    pub fn view(&self) -> Result<AnnotateView, ApiError> {
        let (mut v, current) = {
            let s = self.lock();
            let current = s
                .cursor
                .map(|i| (s.order[i].clone(), i + 1, s.done.contains(&s.order[i])));
            let view = AnnotateView {
                labels: s.labels_name.clone(),
                annotator: s.annotator.clone(),
                total: s.order.len(),
                done: s.done.len(),
                mean_seconds: (!s.seconds.is_empty())
                    .then(|| s.seconds.iter().sum::<f64>() / s.seconds.len() as f64),
                current: None,
                next: s
                    .cursor
                    .and_then(|i| s.undone_after(i, false))
                    .map(|j| s.order[j].clone()),
            };
            (view, current)
        };
        if let Some((id, pos, done)) = current {
            v.current = Some(self.clip(&id, pos, done)?);
        }
        Ok(v)
    }
}

/// `POST /api/annotate/save` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveBody {
    pub clip: String,
    pub regions: Regions,
    #[serde(default)]
    pub seconds: f64,
}

/// `POST /api/annotate/flag` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagBody {
    pub clip: String,
    #[serde(default)]
    pub seconds: f64,
}

/// `POST /api/annotate/step` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    pub step: i64,
}

/// The drawing session's routes: the page and API need the token,
/// `/static/` does not.
pub fn router(state: Arc<AnnotateState>) -> Router {
    let token = Arc::new(state.common.token.clone());
    Router::new()
        .route("/", get(|| async { assets::page(assets::ANNOTATE_HTML) }))
        .route("/api/annotate/state", get(get_state))
        .route("/api/annotate/save", post(save))
        .route("/api/annotate/flag", post(flag))
        .route("/api/annotate/step", post(step))
        .route("/api/annotate/clips/{id}", get(get_clip))
        .route("/api/annotate/clips/{id}/{view}", get(image))
        .layer(middleware::from_fn_with_state(token, auth::require))
        .route("/static/{name}", get(assets::serve_static))
        .fallback(|| async { ApiError::not_found("no such page or API call") })
        .with_state(state)
}

async fn get_state(State(st): State<Arc<AnnotateState>>) -> Result<Json<AnnotateView>, ApiError> {
    blocking(move || st.view().map(Json)).await
}

async fn get_clip(
    State(st): State<Arc<AnnotateState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AnnotateClip>, ApiError> {
    let Path(id) = path?;
    blocking(move || {
        st.common.data.clip(&id)?;
        let (pos, done) = {
            let s = st.lock();
            (s.index(&id)? + 1, s.done.contains(&id))
        };
        st.clip(&id, pos, done).map(Json)
    })
    .await
}

async fn save(
    State(st): State<Arc<AnnotateState>>,
    body: Result<Json<SaveBody>, JsonRejection>,
) -> Result<Json<AnnotateView>, ApiError> {
    let Json(b) = body?;
    blocking(move || {
        let entry = st.common.data.clip(&b.clip)?.clone();
        st.lock().save(&entry, b.regions, b.seconds)?;
        st.forget_proposal(&b.clip);
        st.view().map(Json)
    })
    .await
}

async fn flag(
    State(st): State<Arc<AnnotateState>>,
    body: Result<Json<FlagBody>, JsonRejection>,
) -> Result<Json<AnnotateView>, ApiError> {
    let Json(b) = body?;
    blocking(move || {
        st.common.data.clip(&b.clip)?;
        st.lock().flag(&b.clip, b.seconds)?;
        st.view().map(Json)
    })
    .await
}

async fn step(
    State(st): State<Arc<AnnotateState>>,
    body: Result<Json<StepBody>, JsonRejection>,
) -> Result<Json<AnnotateView>, ApiError> {
    let Json(b) = body?;
    blocking(move || {
        st.lock().step(b.step)?;
        st.view().map(Json)
    })
    .await
}

async fn image(
    State(st): State<Arc<AnnotateState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<ImageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path((id, view)) = path?;
    let Query(q) = query?;
    blocking(move || {
        if view != "frame.png" {
            return Err(ApiError::not_found("no such picture (frame.png)"));
        }
        render(&st.common, None, &id, &view, q.src.as_deref()).map(png_response)
    })
    .await
}

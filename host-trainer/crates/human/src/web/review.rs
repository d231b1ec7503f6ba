//! `sonomask review`: one clip at a time, one key per decision.
//!
//! The server owns the cursor (the clip on screen) and the journal. A
//! decision is appended and fsynced, then the cursor moves to the next clip
//! without a standing decision (in manifest order, wrapping around), and
//! the reply carries the new state, so the page advances only once the
//! decision is on disk. On start the cursor is the first undecided clip:
//! restarting resumes where the review stopped. Undo appends an `undo` line
//! for this reviewer's latest standing decision (across restarts, see
//! [`journal::undo_target`]) and moves the cursor back to that clip.
//!
//! A decide or undo may carry a client-chosen `request` id, written into
//! its journal line. A request whose id is already in the journal is
//! answered with the current state and not written again: a client whose
//! reply was lost (the server was killed after the fsync) can send it again
//! without deciding twice or undoing a second decision.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};

use super::images::{self, Source};
use super::{ApiError, Common, assets, auth, blocking};
use crate::journal::{self, Decision, JournalError, Verdict};
use sonomask_data::dataset::{self, Dataset};

/// How many clips ahead the page prefetches: enough to keep up with a fast
/// reviewer while the server renders one clip at a time.
pub const PREFETCH: usize = 3;

/// Longest time one decision may claim (a day): anything else is a client bug.
pub const MAX_SECONDS: f64 = 86_400.0;

/// Longest request id a client may send (a UUID is 36 characters).
pub const MAX_REQUEST_ID: usize = 64;

/// What a review session checks and where it writes.
#[derive(Clone, Debug)]
pub struct ReviewConfig {
    /// Folder of the candidate masks (`MASKDIR/<clip-id>.png`).
    pub labels_dir: PathBuf,
    /// The label set's name in the journal (the folder's name by default).
    pub labels_name: String,
    pub journal: PathBuf,
    pub reviewer: String,
}

/// The review's state: the journal so far (this label set) replayed, the
/// standing decisions, the cursor and the open journal. Each new line is
/// applied to the replay, not the whole journal replayed again: a decision
/// costs the same at line 30,000 as at line 1.
pub struct ReviewSession {
    cfg: ReviewConfig,
    order: Vec<String>,
    position: HashMap<String, usize>,
    replay: journal::Replay,
    standing: HashMap<String, Verdict>,
    cursor: Option<usize>,
    writer: journal::Writer,
    /// Request ids of this label set's journal lines.
    requests: HashSet<String>,
}

/// One clip as the page needs it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClipView {
    pub id: String,
    /// 1-based place in the review order.
    pub position: usize,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    /// The clip's standing decision, if any.
    pub standing: Option<Verdict>,
    /// Whether `MASKDIR/<id>.png` exists.
    pub has_label: bool,
}

/// The whole state the page renders.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReviewView {
    pub labels: String,
    pub reviewer: String,
    pub total: usize,
    /// Clips with a standing decision.
    pub decided: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub flagged: usize,
    /// The clip to decide now; `None` when every clip is decided.
    pub current: Option<ClipView>,
    /// The clip that follows if the current one is decided.
    pub next: Option<String>,
    /// The next few undecided clips after the current one, in order (the
    /// page prefetches their pictures).
    pub upcoming: Vec<String>,
    /// Whether `undo` has anything to cancel.
    pub can_undo: bool,
}

impl ReviewSession {
    /// Reads the journal (checking that it names only clips of `data`),
    /// opens it for appending, and puts the cursor on the first undecided
    /// clip.
    pub fn open(data: &Dataset, cfg: ReviewConfig) -> Result<Self, JournalError> {
        let all = journal::read(&cfg.journal)?;
        journal::check_clips(&cfg.journal, &all, |c| data.clip(c).is_ok())?;
        let log: Vec<&Decision> = all.iter().filter(|d| d.labels == cfg.labels_name).collect();
        let writer = journal::Writer::open(&cfg.journal)?;
        let order: Vec<String> = data.clips().iter().map(|c| c.id.clone()).collect();
        let position = order
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let replay = journal::Replay::new(log.iter().copied());
        let standing = replay.standing_all();
        let requests = log.iter().filter_map(|d| d.request.clone()).collect();
        let mut s = Self {
            cfg,
            order,
            position,
            replay,
            standing,
            cursor: None,
            writer,
            requests,
        };
        s.cursor = s.undecided_from(0);
        Ok(s)
    }

    pub fn config(&self) -> &ReviewConfig {
        &self.cfg
    }

    /// The first undecided clip at or after `start`, wrapping around.
    fn undecided_from(&self, start: usize) -> Option<usize> {
        let n = self.order.len();
        (0..n)
            .map(|k| (start + k) % n.max(1))
            .find(|&i| !self.standing.contains_key(&self.order[i]))
    }

    /// The undecided clips after `i` other than `i`, wrapping around.
    fn undecided_after_all(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let n = self.order.len();
        (1..n)
            .map(move |k| (i + k) % n)
            .filter(|&j| !self.standing.contains_key(&self.order[j]))
    }

    /// The first undecided clip after `i` other than `i`, wrapping around.
    fn undecided_after(&self, i: usize) -> Option<usize> {
        self.undecided_after_all(i).next()
    }

    fn append(&mut self, d: Decision) -> Result<(), JournalError> {
        self.writer.append(&d)?;
        self.replay.apply(&d);
        match self.replay.standing(&d.clip) {
            Some(v) => self.standing.insert(d.clip.clone(), v),
            None => self.standing.remove(&d.clip),
        };
        if let Some(id) = d.request {
            self.requests.insert(id);
        }
        Ok(())
    }

    /// Whether `request` (checked: at most [`MAX_REQUEST_ID`] characters
    /// of `[A-Za-z0-9_-]`) is already in the journal.
    fn already_written(&self, request: Option<&str>) -> Result<bool, ApiError> {
        let Some(id) = request else {
            return Ok(false);
        };
        if id.is_empty()
            || id.len() > MAX_REQUEST_ID
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ApiError::bad_request(format!(
                "request must be 1 to {MAX_REQUEST_ID} characters of A-Z a-z 0-9 _ -"
            )));
        }
        Ok(self.requests.contains(id))
    }

    /// Records `verdict` (accept, reject or flag) on `clip`, fsynced, and
    /// moves the cursor to the next undecided clip. A `request` id already
    /// in the journal changes nothing (the decision was written before).
    pub fn decide(
        &mut self,
        clip: &str,
        verdict: Verdict,
        seconds: f64,
        request: Option<&str>,
    ) -> Result<(), ApiError> {
        if !matches!(verdict, Verdict::Accept | Verdict::Reject | Verdict::Flag) {
            return Err(ApiError::bad_request(format!(
                "decision must be accept, reject or flag (undo has its own call), not {}",
                verdict.as_str()
            )));
        }
        let seconds = check_seconds(seconds)?;
        let &i = self
            .position
            .get(clip)
            .ok_or_else(|| ApiError::not_found(format!("no clip {clip:?} in this dataset")))?;
        if self.already_written(request)? {
            return Ok(());
        }
        self.append(Decision {
            clip: clip.to_string(),
            labels: self.cfg.labels_name.clone(),
            decision: verdict,
            reviewer: self.cfg.reviewer.clone(),
            seconds,
            time: journal::now_rfc3339(),
            dice: None,
            request: request.map(str::to_string),
        })?;
        self.cursor = self.undecided_after(i);
        Ok(())
    }

    /// Appends an `undo` for this reviewer's latest standing decision and
    /// moves the cursor to that clip. 409 when there is nothing to undo. A
    /// `request` id already in the journal changes nothing: that undo was
    /// written before, and writing it again would cancel one more decision.
    pub fn undo(&mut self, seconds: f64, request: Option<&str>) -> Result<(), ApiError> {
        let seconds = check_seconds(seconds)?;
        if self.already_written(request)? {
            return Ok(());
        }
        let clip = self
            .replay
            .undo_target(&self.cfg.reviewer)
            .map(str::to_string)
            .ok_or_else(|| ApiError::conflict("nothing to undo"))?;
        self.append(Decision {
            clip: clip.clone(),
            labels: self.cfg.labels_name.clone(),
            decision: Verdict::Undo,
            reviewer: self.cfg.reviewer.clone(),
            seconds,
            time: journal::now_rfc3339(),
            dice: None,
            request: request.map(str::to_string),
        })?;
        self.cursor = self.position.get(&clip).copied();
        Ok(())
    }

    fn clip_view(&self, data: &Dataset, i: usize) -> Option<ClipView> {
        let id = self.order.get(i)?;
        let entry = data.clip(id).ok()?;
        Some(ClipView {
            id: id.clone(),
            position: i + 1,
            width: entry.width,
            height: entry.height,
            frames: entry.frames,
            standing: self.standing.get(id).copied(),
            has_label: self.cfg.labels_dir.join(format!("{id}.png")).is_file(),
        })
    }

    /// The state the page renders.
    pub fn view(&self, data: &Dataset) -> ReviewView {
        let count = |v| self.standing.values().filter(|&&s| s == v).count();
        ReviewView {
            labels: self.cfg.labels_name.clone(),
            reviewer: self.cfg.reviewer.clone(),
            total: self.order.len(),
            decided: self.standing.len(),
            accepted: count(Verdict::Accept),
            rejected: count(Verdict::Reject),
            flagged: count(Verdict::Flag),
            current: self.cursor.and_then(|i| self.clip_view(data, i)),
            next: self
                .cursor
                .and_then(|i| self.undecided_after(i))
                .map(|j| self.order[j].clone()),
            upcoming: self.cursor.map_or_else(Vec::new, |i| {
                self.undecided_after_all(i)
                    .take(PREFETCH)
                    .map(|j| self.order[j].clone())
                    .collect()
            }),
            can_undo: self.replay.undo_target(&self.cfg.reviewer).is_some(),
        }
    }
}

pub(crate) fn check_seconds(s: f64) -> Result<f64, ApiError> {
    if s.is_finite() && (0.0..=MAX_SECONDS).contains(&s) {
        Ok(s)
    } else {
        Err(ApiError::bad_request(format!(
            "seconds must be within 0..={MAX_SECONDS}, got {s}"
        )))
    }
}

/// Server state of a review.
pub struct ReviewState {
    pub common: Arc<Common>,
    pub session: Mutex<ReviewSession>,
}

impl ReviewState {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReviewSession> {
        // A panic while holding the lock cannot leave a half-appended
        // decision in memory (append updates memory only after the fsync),
        // so the state is still consistent: keep serving.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `POST /api/review/decide` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub clip: String,
    pub decision: Verdict,
    #[serde(default)]
    pub seconds: f64,
    /// The client's id for this request (see the module doc).
    #[serde(default)]
    pub request: Option<String>,
}

/// `POST /api/review/undo` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoBody {
    #[serde(default)]
    pub seconds: f64,
    /// The client's id for this request (see the module doc).
    #[serde(default)]
    pub request: Option<String>,
}

/// `?src=max|N` of an image request.
#[derive(Debug, Deserialize)]
pub struct ImageQuery {
    #[serde(default)]
    pub src: Option<String>,
}

/// The review's routes: the page and API need the token, `/static/` does
/// not.
pub fn router(state: Arc<ReviewState>) -> Router {
    let token = Arc::new(state.common.token.clone());
    Router::new()
        .route("/", get(|| async { assets::page(assets::REVIEW_HTML) }))
        .route("/api/review/state", get(get_state))
        .route("/api/review/decide", post(decide))
        .route("/api/review/undo", post(undo))
        .route("/api/review/clips/{id}/{view}", get(image))
        .layer(middleware::from_fn_with_state(token, auth::require))
        .route("/static/{name}", get(assets::serve_static))
        .fallback(|| async { ApiError::not_found("no such page or API call") })
        .with_state(state)
}

async fn get_state(State(st): State<Arc<ReviewState>>) -> Result<Json<ReviewView>, ApiError> {
    blocking(move || Ok(Json(st.lock().view(&st.common.data)))).await
}

async fn decide(
    State(st): State<Arc<ReviewState>>,
    body: Result<Json<DecideBody>, JsonRejection>,
) -> Result<Json<ReviewView>, ApiError> {
    let Json(b) = body?;
    blocking(move || {
        let mut s = st.lock();
        s.decide(&b.clip, b.decision, b.seconds, b.request.as_deref())?;
        Ok(Json(s.view(&st.common.data)))
    })
    .await
}

async fn undo(
    State(st): State<Arc<ReviewState>>,
    body: Result<Json<UndoBody>, JsonRejection>,
) -> Result<Json<ReviewView>, ApiError> {
    let Json(b) = body?;
    blocking(move || {
        let mut s = st.lock();
        s.undo(b.seconds, b.request.as_deref())?;
        Ok(Json(s.view(&st.common.data)))
    })
    .await
}

/// The three pictures of a clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    /// The picture with the candidate mask's outline.
    Outline,
    /// The picture with everything outside the mask dimmed.
    Dimmed,
    /// The plain picture.
    Frame,
}

impl View {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "outline.png" => Some(View::Outline),
            "dimmed.png" => Some(View::Dimmed),
            "frame.png" => Some(View::Frame),
            _ => None,
        }
    }
}

/// Renders (or takes from the cache) one picture of one clip as PNG.
pub(crate) fn render(
    common: &Common,
    labels_dir: Option<&std::path::Path>,
    id: &str,
    view: &str,
    src: Option<&str>,
) -> Result<Arc<Vec<u8>>, ApiError> {
    let view = View::parse(view).ok_or_else(|| {
        ApiError::not_found("no such picture (outline.png, dimmed.png or frame.png)")
    })?;
    let src = match src {
        None => Source::Max,
        Some(s) => Source::parse(s)
            .ok_or_else(|| ApiError::bad_request("src must be `max` or a frame number"))?,
    };
    let entry = common.data.clip(id)?;
    if let Source::Frame(i) = src
        && i >= entry.frames
    {
        return Err(ApiError::not_found(format!(
            "clip {id} has {} frames, no frame {i}",
            entry.frames
        )));
    }
    let labels_dir = match (view, labels_dir) {
        (View::Frame, _) => None,
        (_, Some(d)) => Some(d),
        (_, None) => return Err(ApiError::not_found("this session has no candidate masks")),
    };
    let key = format!("{id}/{view:?}/{src:?}");
    common.images.png(&key, || {
        let base = common.images.base(&common.data, id, src)?;
        let img = match labels_dir {
            None => (*base).clone(),
            Some(dir) => match dataset::read_label_mask(dir, entry) {
                Ok(mask) if view == View::Outline => images::outline(&base, &mask),
                Ok(mask) => images::dimmed(&base, &mask),
                // A missing or unreadable label: the picture says so.
                Err(_) => images::flagged(&base),
            },
        };
        images::encode_png(&img).map_err(|e| ApiError::internal(format!("PNG encoding: {e}")))
    })
}

/// A PNG response (private: the pictures hold patient images).
pub(crate) fn png_response(bytes: Arc<Vec<u8>>) -> Response {
    assets::hardened(
        (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=600"),
            ],
            (*bytes).clone(),
        )
            .into_response(),
    )
}

async fn image(
    State(st): State<Arc<ReviewState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<ImageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path((id, view)) = path?;
    let Query(q) = query?;
    blocking(move || {
        let dir = st.lock().config().labels_dir.clone();
        render(&st.common, Some(&dir), &id, &view, q.src.as_deref()).map(png_response)
    })
    .await
}

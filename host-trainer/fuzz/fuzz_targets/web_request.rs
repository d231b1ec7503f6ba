//! One to four HTTP requests through the review or the annotate router, in
//! process (`tower::ServiceExt::oneshot` on a current-thread runtime, the
//! routers built as `sonomask review`/`annotate` build them, with the body
//! limit). Each input gets a fresh session (journal and HQ folder in a
//! scratch folder) over one small dataset of three 64x48 clips, so a crash
//! replays from its input alone.
//!
//! A request is derived from the input: method; a path from the real routes
//! (clip id, picture and static file name from a few real values or fuzz
//! text, plus an optional fuzz tail) or plain fuzz text; a query (`src`,
//! `token`, fuzz text); the token in the header (right, wrong, not UTF-8),
//! `Origin`/`Host` variants (same origin, foreign, garbage), a content type,
//! and a body: one of the real JSON bodies with fuzzed values, or raw bytes.
//!
//! Must hold: no panic (libFuzzer's hook aborts even when the blocking pool
//! would have caught it), every request gets a response whose body can be
//! read, no 500 (a healthy session has no internal errors), and the journal
//! the session wrote reads back.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use arbitrary::{Result, Unstructured};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use image::GrayImage;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sonomask_core::{Fan, Rect, Region, Regions};
use sonomask_data::dataset::{self, ClipData, Dataset, FramesRef, Manifest};
use sonomask_human::journal;
use sonomask_human::web::annotate::{self, AnnotateConfig, AnnotateState};
use sonomask_human::web::review::{self, ReviewConfig, ReviewSession, ReviewState};
use sonomask_human::web::{BODY_LIMIT, Common, Token, assets, with_limits};
use tower::ServiceExt;

const TOKEN: &str = "fuzz-token-0123456789abcdef";
const HOST: &str = "127.0.0.1:8080";
const CLIPS: [&str; 3] = ["c0", "c1", "c2"];

/// The dataset every input shares (read only): three grey clips of three
/// frames, and weak masks for the first two.
struct Fixture {
    _dir: tempfile::TempDir,
    data: Dataset,
    masks: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = sonomask_host_fuzz::scratch_dir();
        let root = dir.path().join("data");
        let masks = dir.path().join("weak");
        std::fs::create_dir_all(&masks).expect("mask folder");
        let mut clips = Vec::new();
        for (c, id) in CLIPS.iter().enumerate() {
            let frames: Vec<GrayImage> = (0..3u32)
                .map(|f| {
                    GrayImage::from_fn(64, 48, |x, y| {
                        let inside = x > 10 && x < 54 && y > 6 && y < 44;
                        image::Luma([if inside {
                            ((x * 7 + y * 13 + f * 31) % 200 + 40) as u8
                        } else {
                            0
                        }])
                    })
                })
                .collect();
            let clip = ClipData {
                id,
                frames: FramesRef::Gray(&frames),
                sector: None,
                overlay: None,
                meta: json!({}),
            };
            clips.push(dataset::write_clip(&root, &clip).expect("fixture clip"));
            if c + 1 < CLIPS.len() {
                let mask = GrayImage::from_fn(64, 48, |x, y| {
                    image::Luma([if x > 12 && x < 50 && y > 8 && y < 40 {
                        255
                    } else {
                        0
                    }])
                });
                dataset::write_png(&masks.join(format!("{id}.png")), &mask).expect("mask");
            }
        }
        let manifest = Manifest {
            format: dataset::FORMAT.into(),
            version: dataset::VERSION,
            created_by: "fuzz".into(),
            config: Value::Null,
            clips,
        };
        dataset::write_manifest(&root, &manifest).expect("fixture manifest");
        let data = Dataset::open(&root).expect("fixture dataset");
        Fixture {
            _dir: dir,
            data,
            masks,
        }
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime")
    })
}

fn review_app(f: &Fixture, journal: &Path) -> Router {
    let cfg = ReviewConfig {
        labels_dir: f.masks.clone(),
        labels_name: "weak".into(),
        journal: journal.to_path_buf(),
        reviewer: "fuzzer".into(),
    };
    let session = ReviewSession::open(&f.data, cfg).expect("review session");
    with_limits(review::router(Arc::new(ReviewState {
        common: Common::new(Token::fixed(TOKEN), f.data.clone()),
        session: Mutex::new(session),
    })))
}

fn annotate_app(f: &Fixture, out: &Path, journal: &Path) -> Router {
    let cfg = AnnotateConfig {
        out: out.to_path_buf(),
        labels_name: "hq".into(),
        journal: journal.to_path_buf(),
        annotator: "fuzzer".into(),
        clips: CLIPS.iter().map(|c| c.to_string()).collect(),
        proposal_dirs: vec![f.masks.clone()],
        model: None,
    };
    let common = Common::new(Token::fixed(TOKEN), f.data.clone());
    let state = AnnotateState::new(common, cfg).expect("annotate session");
    with_limits(annotate::router(state))
}

/// Fuzz text, at most `max` bytes.
fn text(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let s: String = u.arbitrary()?;
    Ok(s.chars().take(max).collect())
}

fn clip_id(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=6u8)? {
        0..=3 => CLIPS[usize::from(u.int_in_range(0..=2u8)?)].to_string(),
        4 => "zz".into(),
        5 => "../c0".into(),
        _ => text(u, 80)?,
    })
}

fn picture(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => "outline.png".into(),
        1 => "dimmed.png".into(),
        2 => "frame.png".into(),
        _ => text(u, 40)?,
    })
}

fn path(u: &mut Unstructured<'_>, annotate: bool) -> Result<String> {
    let api = if annotate { "annotate" } else { "review" };
    let mut p = match u.int_in_range(0..=9u8)? {
        0 => "/".to_string(),
        1 => format!("/api/{api}/state"),
        2 => format!("/api/{api}/{}", if annotate { "save" } else { "decide" }),
        3 => format!("/api/{api}/{}", if annotate { "flag" } else { "undo" }),
        4 if annotate => "/api/annotate/step".to_string(),
        4 => "/api/review/clips/c0/outline.png".to_string(),
        5 => format!("/api/{api}/clips/{}", clip_id(u)?),
        6 => format!("/api/{api}/clips/{}/{}", clip_id(u)?, picture(u)?),
        7 => {
            let names: Vec<&str> = assets::STATIC.iter().map(|(n, _, _)| *n).collect();
            let name = if u.arbitrary()? {
                u.choose(&names)?.to_string()
            } else {
                text(u, 40)?
            };
            format!("/static/{name}")
        }
        _ => format!("/{}", text(u, 200)?),
    };
    if u.ratio(1, 8)? {
        p.push_str(&text(u, 60)?);
    }
    Ok(p)
}

fn query(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    if u.ratio(1, 2)? {
        return Ok(None);
    }
    let mut parts = Vec::new();
    for _ in 0..u.int_in_range(1..=3u8)? {
        parts.push(match u.int_in_range(0..=5u8)? {
            0 => "src=max".to_string(),
            1 => format!("src={}", u.int_in_range(0..=4u32)?),
            2 => format!("src={}", text(u, 30)?),
            3 => format!("token={TOKEN}"),
            4 => "token=wrong".to_string(),
            _ => text(u, 80)?,
        });
    }
    Ok(Some(parts.join("&")))
}

fn number(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 => json!(u.int_in_range(0..=100u8)?),
        1 => json!(u.arbitrary::<f64>()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => json!(text(u, 12)?),
        _ => Value::Null,
    })
}

fn coordinate(u: &mut Unstructured<'_>) -> Result<f32> {
    Ok(if u.ratio(3, 4)? {
        f32::from(u.int_in_range(0..=80u8)?) - 8.0
    } else {
        u.arbitrary()?
    })
}

fn region(u: &mut Unstructured<'_>) -> Result<Region> {
    Ok(if u.arbitrary()? {
        Region::Rect(Rect::new(
            coordinate(u)?,
            coordinate(u)?,
            coordinate(u)?,
            coordinate(u)?,
        ))
    } else {
        let angle = |u: &mut Unstructured<'_>| -> Result<f32> {
            Ok(f32::from(u.int_in_range(0..=200u8)?) / 100.0 - 1.0)
        };
        Region::Fan(Fan {
            apex_x: coordinate(u)?,
            apex_y: coordinate(u)?,
            angle_left: angle(u)?,
            angle_right: angle(u)?,
            r_inner: coordinate(u)?,
            r_outer: coordinate(u)?,
            flat_top: if u.arbitrary()? {
                Some(coordinate(u)?)
            } else {
                None
            },
            clip: if u.arbitrary()? {
                Some(Rect::new(
                    coordinate(u)?,
                    coordinate(u)?,
                    coordinate(u)?,
                    coordinate(u)?,
                ))
            } else {
                None
            },
        })
    })
}

fn regions(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut r = Regions::new();
    for _ in 0..u.int_in_range(0..=4u8)? {
        if r.regions.push(region(u)?).is_err() {
            break;
        }
    }
    Ok(serde_json::to_value(r).unwrap_or(Value::Null))
}

/// A real body with fuzzed values (sometimes an extra field), or raw bytes.
fn body(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut v = match u.int_in_range(0..=6u8)? {
        0 => {
            let decision = *u.choose(&["accept", "reject", "flag", "undo", "draw", "maybe"])?;
            json!({"clip": clip_id(u)?, "decision": decision, "seconds": number(u)?})
        }
        1 => json!({"seconds": number(u)?}),
        2 => json!({"clip": clip_id(u)?, "regions": regions(u)?, "seconds": number(u)?}),
        3 => json!({"clip": clip_id(u)?, "seconds": number(u)?}),
        4 => json!({"step": number(u)?}),
        5 => return Ok(Vec::new()),
        _ => return u.arbitrary::<Vec<u8>>(),
    };
    if u.ratio(1, 4)? {
        let id = if u.arbitrary()? {
            json!(format!("req-{}", u.int_in_range(0..=3u8)?))
        } else {
            json!(text(u, 80)?)
        };
        v["request"] = id;
    }
    if u.ratio(1, 8)? {
        v[text(u, 12)?] = number(u)?;
    }
    Ok(v.to_string().into_bytes())
}

fn request(u: &mut Unstructured<'_>, annotate: bool) -> Result<Option<Request<Body>>> {
    let method = u
        .choose(&[
            Method::GET,
            Method::POST,
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
        ])?
        .clone();
    let mut uri = path(u, annotate)?;
    if let Some(q) = query(u)? {
        uri.push('?');
        uri.push_str(&q);
    }
    let mut req = Request::builder().method(method).uri(uri);
    match u.int_in_range(0..=4u8)? {
        0 => {}
        1 => req = req.header("x-sonomask-token", "wrong"),
        2 => {
            req = req.header(
                "x-sonomask-token",
                HeaderValue::from_bytes(b"\xfftoken").expect("an opaque header value"),
            )
        }
        _ => req = req.header("x-sonomask-token", TOKEN),
    }
    let host = match u.int_in_range(0..=3u8)? {
        0 => None,
        1 | 2 => Some(HOST.to_string()),
        _ => Some(text(u, 40)?),
    };
    if let Some(h) = &host
        && let Ok(v) = HeaderValue::from_str(h)
    {
        req = req.header(header::HOST, v);
    }
    match u.int_in_range(0..=4u8)? {
        0 | 1 => {}
        2 => req = req.header(header::ORIGIN, format!("http://{HOST}")),
        3 => req = req.header(header::ORIGIN, "http://evil.example"),
        _ => {
            if let Ok(v) = HeaderValue::from_str(&text(u, 40)?) {
                req = req.header(header::ORIGIN, v);
            }
        }
    }
    match u.int_in_range(0..=3u8)? {
        0 | 1 => req = req.header(header::CONTENT_TYPE, "application/json"),
        2 => {}
        _ => {
            if let Ok(v) = HeaderValue::from_str(&text(u, 40)?) {
                req = req.header(header::CONTENT_TYPE, v);
            }
        }
    }
    if u.ratio(1, 8)? {
        let name = text(u, 20)?;
        let value = text(u, 40)?;
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            req = req.header(n, v);
        }
    }
    let body = body(u)?;
    Ok(req.body(Body::from(body)).ok())
}

async fn send(app: &Router, req: Request<Body>) {
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 4 * BODY_LIMIT.max(1 << 20))
        .await
        .unwrap_or_else(|e| panic!("response body ({status}) unreadable: {e}"));
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "500: {}",
        String::from_utf8_lossy(&bytes)
    );
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let annotate: bool = u.arbitrary()?;
    let f = fixture();
    let scratch = sonomask_host_fuzz::scratch_dir();
    let journal_path = scratch.path().join("journal.jsonl");
    let app = if annotate {
        annotate_app(f, &scratch.path().join("hq"), &journal_path)
    } else {
        review_app(f, &journal_path)
    };
    let n = u.int_in_range(1..=4u8)?;
    let mut requests = Vec::new();
    for _ in 0..n {
        match request(&mut u, annotate) {
            Ok(Some(r)) => requests.push(r),
            Ok(None) => {}
            Err(_) => break,
        }
    }
    runtime().block_on(async {
        for r in requests {
            send(&app, r).await;
        }
    });
    if let Err(e) = journal::read(&journal_path) {
        panic!("the session's journal does not read back: {e}");
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});

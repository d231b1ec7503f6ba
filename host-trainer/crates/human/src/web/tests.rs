//! The servers over plain HTTP, in process (`tower::ServiceExt::oneshot`):
//! the token, clip-id and frame validation, body limits, bad requests, the
//! journal lines and resuming.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use image::GrayImage;
use serde_json::{Value, json};
use sonomask_core::{Fan, Rect, Region, Regions};
use tower::ServiceExt;

use super::annotate::{AnnotateConfig, AnnotateState};
use super::review::{ReviewConfig, ReviewSession, ReviewState};
use super::{Common, Token, with_limits};
use crate::journal::{self, Verdict};
use sonomask_data::dataset::{self, ClipData, Dataset, FramesRef, Manifest};

const TOKEN: &str = "test-token-0123456789";
const W: u32 = 64;
const H: u32 = 48;

/// A dataset of `n` tiny grey clips (3 frames, a bright fan-ish blob that
/// moves) and a mask folder holding masks for all clips but the last.
fn fixture(n: usize) -> (tempfile::TempDir, Dataset, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let masks = dir.path().join("weak");
    std::fs::create_dir_all(&masks).unwrap();
    let mut entries = Vec::new();
    for c in 0..n {
        let id = format!("c{c}");
        let frames: Vec<GrayImage> = (0..3)
            .map(|f| {
                GrayImage::from_fn(W, H, |x, y| {
                    let inside = x > 10 && x < 54 && y > 6 && y < 44;
                    image::Luma([if inside {
                        ((x * 7 + y * 13 + f * 31) % 200 + 40) as u8
                    } else {
                        0
                    }])
                })
            })
            .collect();
        entries.push(
            dataset::write_clip(
                &root,
                &ClipData {
                    id: &id,
                    frames: FramesRef::Gray(&frames),
                    sector: None,
                    overlay: None,
                    meta: json!({}),
                },
            )
            .unwrap(),
        );
        if c + 1 < n {
            let mask = GrayImage::from_fn(W, H, |x, y| {
                image::Luma([if x > 12 && x < 50 && y > 8 && y < 40 {
                    255
                } else {
                    0
                }])
            });
            dataset::write_png(&masks.join(format!("{id}.png")), &mask).unwrap();
        }
    }
    dataset::write_manifest(
        &root,
        &Manifest {
            format: dataset::FORMAT.into(),
            version: dataset::VERSION,
            created_by: "test".into(),
            config: Value::Null,
            clips: entries,
        },
    )
    .unwrap();
    let data = Dataset::open(&root).unwrap();
    (dir, data, masks)
}

fn review_app(data: &Dataset, masks: &Path, journal: &Path) -> Router {
    let cfg = ReviewConfig {
        labels_dir: masks.to_path_buf(),
        labels_name: "weak".into(),
        journal: journal.to_path_buf(),
        reviewer: "tester".into(),
    };
    let session = ReviewSession::open(data, cfg).unwrap();
    with_limits(super::review::router(Arc::new(ReviewState {
        common: Common::new(Token::fixed(TOKEN), data.clone()),
        session: Mutex::new(session),
    })))
}

fn annotate_app(data: &Dataset, out: &Path, journal: &Path) -> Router {
    let cfg = AnnotateConfig {
        out: out.to_path_buf(),
        labels_name: "hq".into(),
        journal: journal.to_path_buf(),
        annotator: "tester".into(),
        clips: data.clips().iter().map(|c| c.id.clone()).collect(),
        proposal_dirs: vec![],
        model: None,
    };
    let state = AnnotateState::new(Common::new(Token::fixed(TOKEN), data.clone()), cfg).unwrap();
    with_limits(super::annotate::router(state))
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_string()
    }
}

async fn send(app: &Router, method: Method, uri: &str, token: Option<&str>, body: Body) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("x-sonomask-token", t);
    }
    req = req.header(header::CONTENT_TYPE, "application/json");
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        content_type,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Method::GET, uri, Some(TOKEN), Body::empty()).await
}

async fn post(app: &Router, uri: &str, body: Value) -> Reply {
    send(
        app,
        Method::POST,
        uri,
        Some(TOKEN),
        Body::from(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn every_call_needs_the_token() {
    let (dir, data, masks) = fixture(3);
    let app = review_app(&data, &masks, &dir.path().join("j.jsonl"));
    for uri in ["/", "/api/review/state", "/api/review/clips/c0/outline.png"] {
        let r = send(&app, Method::GET, uri, None, Body::empty()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(r.error().contains("token"), "{uri}: {}", r.error());
        let r = send(&app, Method::GET, uri, Some("wrong"), Body::empty()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        let r = send(
            &app,
            Method::GET,
            &format!("{uri}?token=nope"),
            None,
            Body::empty(),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let sep = if uri.contains('?') { '&' } else { '?' };
        let r = send(
            &app,
            Method::GET,
            &format!("{uri}{sep}token={TOKEN}"),
            None,
            Body::empty(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{uri} with the query token");
    }
    let r = send(
        &app,
        Method::POST,
        "/api/review/decide",
        None,
        Body::from(json!({"clip": "c0", "decision": "accept"}).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        journal::read(&dir.path().join("j.jsonl"))
            .unwrap()
            .is_empty(),
        "no decision without the token"
    );
    // The embedded assets are public code, no data.
    let r = send(&app, Method::GET, "/static/review.js", None, Body::empty()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/javascript"));
}

#[tokio::test]
async fn nothing_outside_the_dataset_is_served() {
    let (dir, data, masks) = fixture(3);
    let app = review_app(&data, &masks, &dir.path().join("j.jsonl"));
    let cases = [
        (
            "/api/review/clips/..%2F..%2Fmanifest/frame.png",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/review/clips/..%2Fweak%2Fc0/outline.png",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/review/clips/%2Fetc%2Fpasswd/frame.png",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/review/clips/c%00/frame.png", StatusCode::BAD_REQUEST),
        ("/api/review/clips/nope/frame.png", StatusCode::NOT_FOUND),
        ("/api/review/clips/c0/meta.json", StatusCode::NOT_FOUND),
        (
            "/api/review/clips/c0/frame.png?src=3",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/review/clips/c0/frame.png?src=-1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/review/clips/c0/frame.png?src=..%2F..%2Fx",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/review/clips/c0/../../manifest.json",
            StatusCode::NOT_FOUND,
        ),
        ("/static/..%2Fmod.rs", StatusCode::NOT_FOUND),
        ("/static/review.html", StatusCode::NOT_FOUND),
        ("/manifest.json", StatusCode::NOT_FOUND),
        ("/clips/c0/frames/000.png", StatusCode::NOT_FOUND),
    ];
    for (uri, want) in cases {
        let r = get(&app, uri).await;
        assert_eq!(
            r.status,
            want,
            "{uri}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.content_type.starts_with("application/json"), "{uri}");
        assert!(!r.error().is_empty(), "{uri}: a message says why");
    }
}

#[tokio::test]
async fn pictures_are_pngs_of_the_clip() {
    let (dir, data, masks) = fixture(3);
    let app = review_app(&data, &masks, &dir.path().join("j.jsonl"));
    for uri in [
        "/api/review/clips/c0/outline.png",
        "/api/review/clips/c0/dimmed.png",
        "/api/review/clips/c0/frame.png?src=2",
        "/api/review/clips/c1/frame.png?src=max",
        "/api/review/clips/c2/outline.png", // no label: tinted, still a picture
    ] {
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.content_type, "image/png");
        let img = image::load_from_memory(&r.body).unwrap();
        assert_eq!((img.width(), img.height()), (W, H), "{uri}");
    }
    let dimmed = image::load_from_memory(&get(&app, "/api/review/clips/c0/dimmed.png").await.body)
        .unwrap()
        .into_rgb8();
    let max = image::load_from_memory(&get(&app, "/api/review/clips/c0/frame.png").await.body)
        .unwrap()
        .into_rgb8();
    assert_eq!(
        dimmed.get_pixel(30, 20),
        max.get_pixel(30, 20),
        "inside kept"
    );
    assert!(
        dimmed.get_pixel(52, 42)[0] < max.get_pixel(52, 42)[0],
        "outside dimmed"
    );
}

#[tokio::test]
async fn bad_requests_get_a_4xx_with_a_message() {
    let (dir, data, masks) = fixture(3);
    let jpath = dir.path().join("j.jsonl");
    let app = review_app(&data, &masks, &jpath);
    let decide = "/api/review/decide";
    let cases = [
        (
            json!({"clip": "c0", "decision": "undo"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"clip": "c0", "decision": "draw"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"clip": "c0", "decision": "maybe"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"clip": "zz", "decision": "accept"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"clip": "../c0", "decision": "accept"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"clip": "c0", "decision": "accept", "seconds": -1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"clip": "c0", "decision": "accept", "seconds": 1e9}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"clip": "c0", "decision": "accept", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"decision": "accept"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!([1, 2]), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, want) in cases {
        let r = post(&app, decide, body.clone()).await;
        assert_eq!(
            r.status,
            want,
            "{body}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(!r.error().is_empty(), "{body}");
    }
    let r = send(
        &app,
        Method::POST,
        decide,
        Some(TOKEN),
        Body::from("{not json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.error().is_empty());
    // A body over the limit is refused before it is parsed.
    let huge = json!({"clip": "c0", "decision": "accept", "pad": "x".repeat(super::BODY_LIMIT)});
    let r = post(&app, decide, huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Not JSON at all.
    let req = Request::builder()
        .method(Method::POST)
        .uri(decide)
        .header("x-sonomask-token", TOKEN)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("accept"))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Wrong method, unknown call.
    assert_eq!(
        get(&app, decide).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        post(&app, "/api/review/nothing", json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    // Undo with nothing to undo is a conflict, not a crash.
    let r = post(&app, "/api/review/undo", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.error().contains("nothing to undo"));
    assert!(
        journal::read(&jpath).unwrap().is_empty(),
        "no bad request wrote a line"
    );
    // And the server still answers.
    assert_eq!(get(&app, "/api/review/state").await.status, StatusCode::OK);
}

#[tokio::test]
async fn decisions_undo_and_resume() {
    let (dir, data, masks) = fixture(4);
    let jpath = dir.path().join("j.jsonl");
    let app = review_app(&data, &masks, &jpath);
    let s = get(&app, "/api/review/state").await.json();
    assert_eq!(s["current"]["id"], "c0");
    assert_eq!(s["next"], "c1");
    assert_eq!(
        (s["total"].as_u64(), s["decided"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!(s["can_undo"], false);
    let decide = |clip: &str, d: &str| json!({"clip": clip, "decision": d, "seconds": 1.5});
    let s = post(&app, "/api/review/decide", decide("c0", "accept"))
        .await
        .json();
    assert_eq!(s["current"]["id"], "c1");
    let s = post(&app, "/api/review/decide", decide("c1", "reject"))
        .await
        .json();
    assert_eq!(s["current"]["id"], "c2");
    assert_eq!(s["current"]["has_label"], true);
    let s = post(&app, "/api/review/undo", json!({"seconds": 0.3}))
        .await
        .json();
    assert_eq!(
        s["current"]["id"], "c1",
        "undo goes back to the undone clip"
    );
    assert_eq!(s["decided"], 1);
    let s = post(&app, "/api/review/decide", decide("c1", "flag"))
        .await
        .json();
    assert_eq!(s["current"]["id"], "c2");
    assert_eq!(s["flagged"], 1);
    let log = journal::read(&jpath).unwrap();
    let got: Vec<_> = log
        .iter()
        .map(|d| {
            (
                d.clip.as_str(),
                d.decision,
                d.labels.as_str(),
                d.reviewer.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("c0", Verdict::Accept, "weak", "tester"),
            ("c1", Verdict::Reject, "weak", "tester"),
            ("c1", Verdict::Undo, "weak", "tester"),
            ("c1", Verdict::Flag, "weak", "tester"),
        ]
    );
    assert_eq!(log[0].seconds, 1.5);
    assert_eq!(log[2].seconds, 0.3);
    // A restart resumes at the first undecided clip; undo still reaches back.
    drop(app);
    let app = review_app(&data, &masks, &jpath);
    let s = get(&app, "/api/review/state").await.json();
    assert_eq!(s["current"]["id"], "c2");
    assert_eq!(s["current"]["has_label"], true);
    assert_eq!(s["decided"], 2);
    assert_eq!(s["can_undo"], true);
    let s = post(&app, "/api/review/decide", decide("c2", "accept"))
        .await
        .json();
    assert_eq!(s["current"]["id"], "c3");
    assert_eq!(s["current"]["has_label"], false);
    assert_eq!(s["next"], Value::Null, "c3 is the last undecided clip");
    let s = post(&app, "/api/review/decide", decide("c3", "reject"))
        .await
        .json();
    assert_eq!(s["current"], Value::Null, "all decided");
    assert_eq!(s["decided"], 4);
    let s = post(&app, "/api/review/undo", json!({})).await.json();
    assert_eq!(s["current"]["id"], "c3");
    // A journal naming clips the dataset lacks is refused at start.
    std::fs::write(
        dir.path().join("other.jsonl"),
        "{\"clip\":\"ghost\",\"labels\":\"weak\",\"decision\":\"accept\",\"reviewer\":\"x\",\"seconds\":1,\"time\":\"t\"}\n",
    )
    .unwrap();
    let cfg = ReviewConfig {
        labels_dir: masks.clone(),
        labels_name: "weak".into(),
        journal: dir.path().join("other.jsonl"),
        reviewer: "tester".into(),
    };
    assert!(ReviewSession::open(&data, cfg).is_err());
}

#[tokio::test]
async fn a_request_id_already_written_is_not_written_again() {
    let (dir, data, masks) = fixture(4);
    let jpath = dir.path().join("j.jsonl");
    let app = review_app(&data, &masks, &jpath);
    let decide = |clip: &str, id: &str| json!({"clip": clip, "decision": "accept", "seconds": 1.0, "request": id});
    for _ in 0..2 {
        let r = post(&app, "/api/review/decide", decide("c0", "r-1")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["current"]["id"], "c1");
    }
    assert_eq!(
        post(&app, "/api/review/decide", decide("c1", "r-2"))
            .await
            .status,
        StatusCode::OK
    );
    // The retried undo (its reply lost) must not cancel c0's decision too,
    // also not after a restart.
    let undo = json!({"seconds": 0.5, "request": "u-1"});
    assert_eq!(
        post(&app, "/api/review/undo", undo.clone()).await.json()["decided"],
        1
    );
    drop(app);
    let app = review_app(&data, &masks, &jpath);
    let s = post(&app, "/api/review/undo", undo.clone()).await.json();
    assert_eq!(s["decided"], 1, "c0 still decided");
    let log = journal::read(&jpath).unwrap();
    let ids: Vec<_> = log.iter().map(|d| d.request.as_deref()).collect();
    assert_eq!(ids, [Some("r-1"), Some("r-2"), Some("u-1")]);
    assert_eq!(journal::standing(&log, "weak").len(), 1);
    // Ids are short plain words; anything else is a 400 and writes nothing.
    for bad in ["", "a b", "x/../y", &"z".repeat(65)] {
        let r = post(&app, "/api/review/decide", decide("c2", bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(r.error().contains("request"), "{}", r.error());
    }
    assert_eq!(journal::read(&jpath).unwrap().len(), 3);
}

#[tokio::test]
async fn cross_origin_calls_are_refused_even_with_the_token() {
    let (dir, data, masks) = fixture(3);
    let jpath = dir.path().join("j.jsonl");
    let app = review_app(&data, &masks, &jpath);
    let with_origin = |method: Method, uri: &str, origin: &str, body: Body| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, origin)
            .header("x-sonomask-token", TOKEN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap()
    };
    let decide = || Body::from(json!({"clip": "c0", "decision": "accept"}).to_string());
    for origin in [
        "http://evil.example",
        "null",
        "https://127.0.0.1:8080",
        "http://127.0.0.1:8081",
        "http://127.0.0.1:8080.evil.example",
    ] {
        for (method, uri, body) in [
            (Method::POST, "/api/review/decide", decide()),
            (Method::GET, "/api/review/state", Body::empty()),
        ] {
            let r = app
                .clone()
                .oneshot(with_origin(method, uri, origin, body))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin} {uri}");
        }
    }
    assert!(journal::read(&jpath).unwrap().is_empty());
    // The page's own calls carry its origin and are served.
    let r = app
        .clone()
        .oneshot(with_origin(
            Method::POST,
            "/api/review/decide",
            "http://127.0.0.1:8080",
            decide(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(journal::read(&jpath).unwrap().len(), 1);
}

fn fan_drawing() -> Value {
    let r = Regions::one(Region::Fan(Fan {
        apex_x: 32.0,
        apex_y: 4.0,
        angle_left: -0.6,
        angle_right: 0.6,
        r_inner: 0.0,
        r_outer: 40.0,
        flat_top: Some(8.0),
        clip: Some(Rect::new(0.0, 0.0, W as f32, H as f32)),
    }));
    serde_json::to_value(r).unwrap()
}

#[tokio::test]
async fn drawings_are_saved_in_the_hq_format() {
    let (dir, data, _) = fixture(3);
    let out = dir.path().join("hq");
    let jpath = dir.path().join("draw.jsonl");
    let app = annotate_app(&data, &out, &jpath);
    let s = get(&app, "/api/annotate/state").await.json();
    assert_eq!(s["current"]["id"], "c0");
    assert_eq!(s["total"], 3);
    let source = s["current"]["proposal"]["source"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ["temporal", "default"].contains(&source.as_str()),
        "{source}"
    );
    let proposal: Regions =
        serde_json::from_value(s["current"]["proposal"]["regions"].clone()).unwrap();
    assert!(proposal.is_valid());
    let r = get(&app, "/api/annotate/clips/c1").await.json();
    assert_eq!(r["id"], "c1");
    let img = get(&app, "/api/annotate/clips/c0/frame.png").await;
    assert_eq!(img.content_type, "image/png");
    assert_eq!(
        get(&app, "/api/annotate/clips/c0/outline.png").await.status,
        StatusCode::NOT_FOUND
    );

    // Bad drawings are refused with a reason, and nothing is written.
    let mut crossed = fan_drawing();
    crossed["regions"][0]["angle_left"] = json!(0.9);
    let mut far = fan_drawing();
    far["regions"][0]["apex_x"] = json!(1e7);
    let offscreen =
        json!({"regions": [{"kind": "rect", "x0": -50, "y0": -50, "x1": -10, "y1": -10}]});
    let five =
        json!({"regions": vec![json!({"kind": "rect", "x0": 0, "y0": 0, "x1": 5, "y1": 5}); 5]});
    for (regions, want) in [
        (crossed, StatusCode::BAD_REQUEST),
        (far, StatusCode::BAD_REQUEST),
        (offscreen, StatusCode::BAD_REQUEST),
        (json!({"regions": []}), StatusCode::BAD_REQUEST),
        (five, StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"regions": [{"kind": "blob"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = post(
            &app,
            "/api/annotate/save",
            json!({"clip": "c0", "regions": regions, "seconds": 3}),
        )
        .await;
        assert_eq!(r.status, want, "{}", String::from_utf8_lossy(&r.body));
        assert!(!r.error().is_empty());
    }
    assert!(!out.join("c0.json").exists());

    let s = post(
        &app,
        "/api/annotate/save",
        json!({"clip": "c0", "regions": fan_drawing(), "seconds": 12.5}),
    )
    .await
    .json();
    assert_eq!(s["current"]["id"], "c1");
    assert_eq!(s["done"], 1);
    assert_eq!(s["mean_seconds"], 12.5);
    let label = crate::hq::read(&out, "c0").unwrap().unwrap();
    assert_eq!(label.annotator, "tester");
    assert_eq!(label.seconds, 12.5);
    let want: Regions = serde_json::from_value(fan_drawing()).unwrap();
    assert_eq!(label.regions, want);
    let mask = dataset::read_mask(&out.join("c0.png"), W, H).unwrap();
    let mut expect = GrayImage::new(W, H);
    want.rasterize(W as u16, H as u16, &mut expect);
    assert_eq!(mask, expect, "the PNG is the geometry rasterised");
    // Flag, step, and the journal.
    let s = post(
        &app,
        "/api/annotate/flag",
        json!({"clip": "c1", "seconds": 2}),
    )
    .await
    .json();
    assert_eq!(s["current"]["id"], "c2");
    let s = post(&app, "/api/annotate/step", json!({"step": -1}))
        .await
        .json();
    assert_eq!(s["current"]["id"], "c1");
    assert_eq!(s["current"]["done"], true);
    assert_eq!(
        post(&app, "/api/annotate/step", json!({"step": 5}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let log = journal::read(&jpath).unwrap();
    let got: Vec<_> = log
        .iter()
        .map(|d| (d.clip.as_str(), d.decision, d.seconds))
        .collect();
    assert_eq!(
        got,
        [("c0", Verdict::Draw, 12.5), ("c1", Verdict::Flag, 2.0)]
    );
    assert!(
        log.iter()
            .all(|d| d.labels == "hq" && d.reviewer == "tester")
    );
    // A restart resumes at the first clip neither drawn nor flagged, and a
    // drawn clip starts from its saved drawing.
    drop(app);
    let app = annotate_app(&data, &out, &jpath);
    let s = get(&app, "/api/annotate/state").await.json();
    assert_eq!(s["current"]["id"], "c2");
    assert_eq!(s["done"], 2);
    let c0 = get(&app, "/api/annotate/clips/c0").await.json();
    assert_eq!(c0["proposal"]["source"], "hq");
    // Unknown and invalid clip ids.
    assert_eq!(
        get(&app, "/api/annotate/clips/zz").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/annotate/clips/..%2Fx").await.status,
        StatusCode::BAD_REQUEST
    );
    let r = post(
        &app,
        "/api/annotate/save",
        json!({"clip": "zz", "regions": fan_drawing()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &app,
        Method::GET,
        "/api/annotate/state",
        None,
        Body::empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn proposals_come_from_mask_folders_when_given() {
    let (dir, data, masks) = fixture(2);
    let cfg = AnnotateConfig {
        out: dir.path().join("hq"),
        labels_name: "hq".into(),
        journal: dir.path().join("j.jsonl"),
        annotator: "t".into(),
        clips: vec!["c0".into(), "c1".into()],
        proposal_dirs: vec![masks],
        model: None,
    };
    let st = AnnotateState::new(Common::new(Token::fixed(TOKEN), data), cfg).unwrap();
    let p = st.proposal("c0").unwrap();
    assert_eq!(p.source, "masks:weak");
    let mut m = GrayImage::new(W, H);
    p.regions.rasterize(W as u16, H as u16, &mut m);
    let kept = m.iter().filter(|&&v| v == 255).count();
    // The mask is a 37×31 rectangle; its fit keeps about that.
    assert!((1000..1300).contains(&kept), "{kept}");
    // c1 has no mask: the next source is used.
    assert_ne!(st.proposal("c1").unwrap().source, "masks:weak");
}

//! The review and drawing pages in a real browser: Debian's `chromium`,
//! headless, driven through `chromedriver` (WebDriver) with fantoccini.
//! Keys are sent as WebDriver key actions to whatever has focus, so the
//! page must take keys right after loading, without a click.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (`apt-get install -y chromium chromium-driver`; `.ci/run` installs them)
//! or their paths in `SONOMASK_CHROMIUM` / `SONOMASK_CHROMEDRIVER`. Without
//! them the test fails and says so: it does not pass silently.
//!
//! Prints the screenshot folder and the measured decisions per minute
//! (`cargo test -p sonomask --test browser -- --nocapture`); both are also
//! written to `ui-screenshots/report.txt` in that folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Server, p, wait_for};
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use sonomask_core::{Region, Regions};
use sonomask_data::dataset::{self, Dataset, Manifest};
use sonomask_human::journal::{self, Verdict};

const LIMIT: Duration = Duration::from_secs(60);

fn tool(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found: the browser tests need Debian's chromium and chromedriver \
         (`apt-get install -y chromium chromium-driver`, as .ci/run does) or {env}=/path",
        path.display()
    );
    path
}

/// A headless chromium under chromedriver, driven synchronously.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Self {
        let chromium = tool("SONOMASK_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = tool("SONOMASK_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        wait_for("chromedriver", LIMIT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1400,820",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = rt
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .expect("a chromium session through chromedriver");
        Self {
            rt,
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    fn goto(&self, url: &str) {
        self.rt.block_on(self.c().goto(url)).unwrap();
    }

    fn js(&self, script: &str) -> Value {
        self.rt
            .block_on(self.c().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Presses and releases each key, in one WebDriver action sequence.
    fn keys(&self, keys: &[char]) {
        let mut seq = KeyActions::new("keyboard".into());
        for &k in keys {
            seq = seq
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.rt.block_on(self.c().perform_actions(seq)).unwrap();
    }

    /// Drags with the left button from one viewport point to another.
    fn drag(&self, from: (f64, f64), to: (f64, f64)) {
        let mv = |(x, y): (f64, f64)| PointerAction::MoveTo {
            duration: Some(Duration::from_millis(20)),
            x: x.round(),
            y: y.round(),
        };
        let seq = MouseActions::new("mouse".into())
            .then(mv(from))
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(mv(((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0)))
            .then(mv(to))
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.rt.block_on(self.c().perform_actions(seq)).unwrap();
    }

    fn screenshot(&self, path: &Path) {
        let png = self.rt.block_on(self.c().screenshot()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Polls a script until it returns something other than null/false.
    fn wait_js(&self, what: &str, script: &str) -> Value {
        wait_for(what, LIMIT, || {
            let v = self.js(script);
            (!v.is_null() && v != Value::Bool(false)).then_some(v)
        })
    }

    /// The review page's clip label once it shows `id`.
    fn wait_clip(&self, id: &str) {
        let script = format!(
            "const t = document.getElementById('clip').textContent; return t.startsWith('{id} ') ? t : null;"
        );
        self.wait_js(&format!("the page to show {id}"), &script);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `copies` clips made from six synthetic 640×480 echo clips (hard links,
/// so 120 clips cost six), and their threshold weak labels in `threshold/`.
fn echo_dataset(dir: &Path, copies: usize) -> (PathBuf, PathBuf) {
    let src = dir.join("src");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sonomask"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "synth",
        "--out",
        p(&src),
        "--clips",
        "6",
        "--frames",
        "4",
        "--size",
        "640x480",
        "--seed",
        "3",
        "--layouts",
        "cardiac,curvilinear,linear",
    ]);
    let src_masks = dir.join("src-threshold");
    run(&[
        "weak-label",
        "--method",
        "threshold",
        "--data",
        p(&src),
        "--out",
        p(&src_masks),
    ]);
    let source = Dataset::open(&src).unwrap();
    let data = dir.join("data");
    let masks = dir.join("threshold");
    std::fs::create_dir_all(data.join("clips")).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    let mut clips = Vec::new();
    for i in 0..copies {
        let from = &source.clips()[i % source.clips().len()];
        let id = format!("r{i:03}");
        let dest = data.join("clips").join(&id);
        std::fs::create_dir_all(dest.join("frames")).unwrap();
        let sdir = source.clip_dir(&from.id);
        for f in ["meta.json", "sector.png", "overlay.png"] {
            std::fs::hard_link(sdir.join(f), dest.join(f)).unwrap();
        }
        for k in 0..from.frames {
            let name = dataset::frame_file_name(k);
            std::fs::hard_link(
                sdir.join("frames").join(&name),
                dest.join("frames").join(&name),
            )
            .unwrap();
        }
        std::fs::hard_link(
            src_masks.join(format!("{}.png", from.id)),
            masks.join(format!("{id}.png")),
        )
        .unwrap();
        clips.push(dataset::ClipEntry { id, ..from.clone() });
    }
    dataset::write_manifest(
        &data,
        &Manifest {
            clips,
            ..source.manifest().clone()
        },
    )
    .unwrap();
    (data, masks)
}

fn decisions(path: &Path) -> Vec<(String, Verdict)> {
    journal::read(path)
        .unwrap()
        .into_iter()
        .map(|d| (d.clip, d.decision))
        .collect()
}

fn shots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The page's UI times per decision (ms), sorted.
fn ui_ms(browser: &Browser) -> Vec<f64> {
    let mut ui: Vec<f64> =
        serde_json::from_value(browser.js("return window.sonomaskStats.uiMs;")).unwrap();
    ui.sort_by(f64::total_cmp);
    ui
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[test]
fn review_and_annotate_pages_in_chromium() {
    let browser = Browser::start();
    let dir = tempfile::tempdir().unwrap();
    let (data, masks) = echo_dataset(dir.path(), 120);
    let shots = shots_dir();
    let mut report = Vec::new();

    // ---- review: every key, right after load, no click --------------------
    let jpath = dir.path().join("review.jsonl");
    let args = [
        "review",
        "--data",
        p(&data),
        "--labels",
        p(&masks),
        "--journal",
        p(&jpath),
        "--reviewer",
        "browser",
    ];
    let mut srv = Server::start(&args);
    browser.goto(&srv.url);
    browser.wait_clip("r000");
    let mut want: Vec<(String, Verdict)> = Vec::new();
    let steps: [(char, &str, Verdict, &str); 7] = [
        ('a', "r000", Verdict::Accept, "r001"),
        (Key::Right.into(), "r001", Verdict::Accept, "r002"),
        ('r', "r002", Verdict::Reject, "r003"),
        (Key::Left.into(), "r003", Verdict::Reject, "r004"),
        ('f', "r004", Verdict::Flag, "r005"),
        ('u', "r004", Verdict::Undo, "r004"),
        (Key::Backspace.into(), "r003", Verdict::Undo, "r003"),
    ];
    for (key, clip, verdict, shows) in steps {
        browser.keys(&[key]);
        browser.wait_js(
            "the decision to be shown as saved",
            &format!(
                "return window.sonomaskStats.decisions === {} && document.getElementById('clip').textContent.startsWith('{shows} ');",
                want.len() + 1
            ),
        );
        want.push((clip.to_string(), verdict));
        // Read at once: the line was on disk before the page moved on.
        assert_eq!(decisions(&jpath), want, "after {verdict:?} on {clip}");
    }
    let saved = browser.js("return document.getElementById('saved').textContent;");
    assert!(saved.as_str().unwrap().contains("saved ✓"), "{saved}");
    let review_png = shots.join("review.png");
    browser.screenshot(&review_png);
    browser.keys(&['?']);
    browser.wait_js(
        "the help overlay",
        "return !document.getElementById('help').hidden;",
    );
    browser.keys(&['?']);
    browser.wait_js(
        "the help to close",
        "return document.getElementById('help').hidden;",
    );
    assert_eq!(decisions(&jpath).len(), want.len(), "? decides nothing");

    // ---- restart: resumes at the first undecided clip ----------------------
    srv.kill9();
    let srv = Server::start(&args);
    browser.goto(&srv.url);
    browser.wait_clip("r003");

    // ---- a reviewer's pace: one key, look at the next clip, the next key -----
    let before = want.len();
    let paced = 10;
    for k in 1..=paced {
        browser.keys(&['a']);
        browser.wait_js(
            "a paced decision",
            &format!("return window.sonomaskStats.decisions === {k};"),
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut ui = ui_ms(&browser);
    let line = format!(
        "review at a reviewer's pace ({paced} keys, 300 ms apart): UI time per decision \
         (request to next clip painted) median {:.1} ms, max {:.1} ms",
        percentile(&ui, 0.5),
        ui[ui.len() - 1],
    );
    println!("{line}");
    report.push(line);

    // ---- 100 decisions as fast as keys come ---------------------------------
    browser.js("window.sonomaskStats.uiMs = []; return null;");
    let t0 = Instant::now();
    browser.keys(&['a'; 100]);
    browser.wait_js(
        "100 decisions",
        &format!("return window.sonomaskStats.decisions === {};", paced + 100),
    );
    let secs = t0.elapsed().as_secs_f64();
    let log = decisions(&jpath);
    assert_eq!(
        log.len(),
        before + paced + 100,
        "one line per key, none lost"
    );
    for (k, (clip, v)) in log[before..].iter().enumerate() {
        assert_eq!(
            (clip.as_str(), *v),
            (format!("r{:03}", k + 3).as_str(), Verdict::Accept)
        );
    }
    ui = ui_ms(&browser);
    let line = format!(
        "review: 100 key decisions sent at once through the page in {secs:.2} s = {:.0} decisions/min; \
         UI time per decision (request to next clip painted) median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        100.0 / secs * 60.0,
        percentile(&ui, 0.5),
        percentile(&ui, 0.95),
        ui[ui.len() - 1],
    );
    println!("{line}");
    report.push(line);
    drop(srv);

    // ---- annotate: drag the handles of a fan, Enter saves -------------------
    let hq = dir.path().join("hq");
    let jdraw = dir.path().join("draw.jsonl");
    let srv = Server::start(&[
        "annotate",
        "--data",
        p(&data),
        "--out",
        p(&hq),
        "--journal",
        p(&jdraw),
        "--proposals",
        p(&masks),
        "--annotator",
        "browser",
    ]);
    browser.goto(&srv.url);
    browser.wait_js(
        "the drawing page",
        "return window.sonomaskAnnotate && window.sonomaskAnnotate.clip() === 'r000' && window.sonomaskAnnotate.handles().length > 0;",
    );
    let kind = browser.js("return window.sonomaskAnnotate.regions()[0].kind;");
    if kind != "fan" {
        browser.keys(&['t']);
        browser.wait_js(
            "a fan",
            "return window.sonomaskAnnotate.regions()[0].kind === 'fan';",
        );
    }
    let before: Value = browser.js("return window.sonomaskAnnotate.regions()[0];");
    let handle = |name: &str| -> (f64, f64) {
        let h = browser.js(&format!(
            "return window.sonomaskAnnotate.handles().find(h => h.region === 0 && h.name === '{name}');"
        ));
        (h["x"].as_f64().unwrap(), h["y"].as_f64().unwrap())
    };
    let outer = handle("outer");
    browser.drag(outer, (outer.0, outer.1 - 40.0));
    let right = handle("right");
    browser.drag(right, (right.0 - 30.0, right.1));
    let drawn: Value = browser.js("return window.sonomaskAnnotate.regions();");
    let f = &drawn[0];
    let num = |v: &Value, k: &str| v[k].as_f64().unwrap();
    assert!(
        num(f, "r_outer") < num(&before, "r_outer") - 10.0,
        "dragging the outer arc in shrinks the fan: {before} -> {f}"
    );
    assert!(
        num(f, "angle_right") < num(&before, "angle_right") - 0.01,
        "dragging the right edge in narrows the fan: {before} -> {f}"
    );
    let annotate_png = shots.join("annotate.png");
    browser.screenshot(&annotate_png);
    browser.keys(&[Key::Enter.into()]);
    browser.wait_js(
        "the save",
        "return window.sonomaskAnnotate.saves === 1 && window.sonomaskAnnotate.clip() === 'r001';",
    );
    let log = journal::read(&jdraw).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].clip.as_str(), log[0].decision),
        ("r000", Verdict::Draw)
    );
    assert_eq!(
        (log[0].labels.as_str(), log[0].reviewer.as_str()),
        ("hq", "browser")
    );
    assert!(log[0].seconds > 0.0);
    let label = sonomask_human::hq::read(&hq, "r000")
        .unwrap()
        .expect("HQ json written");
    let page: Regions = serde_json::from_value(json!({ "regions": drawn })).unwrap();
    assert_eq!(label.regions.len(), page.len());
    let (Region::Fan(a), Region::Fan(b)) = (label.regions.regions[0], page.regions[0]) else {
        panic!("a fan was saved: {:?}", label.regions);
    };
    assert!((a.r_outer - b.r_outer).abs() < 1e-3 && (a.angle_right - b.angle_right).abs() < 1e-6);
    let entry = Dataset::open(&data).unwrap().clip("r000").unwrap().clone();
    let png = dataset::read_mask(&hq.join("r000.png"), entry.width, entry.height).unwrap();
    let mut expect = image::GrayImage::new(entry.width, entry.height);
    label
        .regions
        .rasterize(entry.width as u16, entry.height as u16, &mut expect);
    assert_eq!(png, expect, "the HQ mask is the saved geometry rasterised");
    drop(srv);

    report.push(format!("review screenshot: {}", review_png.display()));
    report.push(format!("annotate screenshot: {}", annotate_png.display()));
    std::fs::write(shots.join("report.txt"), report.join("\n") + "\n").unwrap();
    println!("screenshots in {}", shots.display());
}

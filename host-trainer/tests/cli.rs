//! The `sonomask` binary as a user meets it: exit codes, messages, outputs.

use std::path::Path;
use std::process::{Command, Output};

fn sonomask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(args)
        .output()
        .expect("run sonomask")
}

fn ok(args: &[&str]) -> Output {
    let out = sonomask(args);
    assert!(
        out.status.success(),
        "sonomask {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every file under `dir`, relative path → bytes, sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const SMALL: &[&str] = &["--clips", "5", "--frames", "4", "--size", "320x240"];

#[test]
fn synth_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    ok(&[&["synth", "--out", p(&a), "--seed", "3"], SMALL].concat());
    ok(&[&["synth", "--out", p(&b), "--seed", "3"], SMALL].concat());
    ok(&[&["synth", "--out", p(&c), "--seed", "4"], SMALL].concat());
    let (ta, tb, tc) = (tree(&a), tree(&b), tree(&c));
    assert!(ta.iter().any(|(n, _)| n.ends_with("sector.png")));
    assert_eq!(
        ta.len(),
        1 + 5 * (4 + 3),
        "manifest + per clip 4 frames, sector, overlay, meta"
    );
    assert_eq!(ta, tb, "same seed must give identical bytes");
    assert_ne!(ta, tc, "another seed must give other data");
}

#[test]
fn label_then_eval_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&[&["synth", "--out", p(&data), "--seed", "11"], SMALL].concat());
    for method in ["threshold", "temporal"] {
        let masks = dir.path().join(method);
        ok(&[
            "weak-label",
            "--method",
            method,
            "--data",
            p(&data),
            "--out",
            p(&masks),
        ]);
        let out = ok(&["eval", "--data", p(&data), "--masks", p(&masks), "--json"]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.trim().lines().count(),
            1,
            "exactly one JSON line: {text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["clips"], 5);
        for key in ["pixel_accuracy", "dice", "iou", "phi_leak", "signal_loss"] {
            let x = v[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} missing: {v}"));
            assert!((0.0..=1.0).contains(&x), "{key} = {x}");
        }
        assert!(v["pixel_accuracy"].as_f64().unwrap() > 0.6, "{method}: {v}");
    }
}

#[test]
fn bad_input_is_a_clear_error_with_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let out = sonomask(&["eval", "--data", p(&missing), "--masks", p(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent"));

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = sonomask(&[
        "weak-label",
        "--method",
        "threshold",
        "--data",
        p(&empty),
        "--out",
        p(&dir.path().join("m")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a sonomask dataset"));
    assert!(!dir.path().join("m").exists(), "no output on failure");

    // A dataset with one corrupt frame: labeling fails naming the file and writes nothing.
    let data = dir.path().join("data");
    ok(&[&["synth", "--out", p(&data)], SMALL].concat());
    let frame = data.join("clips/clip0002/frames/001.png");
    std::fs::write(&frame, b"garbage").unwrap();
    let masks = dir.path().join("masks");
    let out = sonomask(&[
        "weak-label",
        "--method",
        "temporal",
        "--data",
        p(&data),
        "--out",
        p(&masks),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("001.png"));
    assert!(!masks.exists() || std::fs::read_dir(&masks).unwrap().next().is_none());

    // Masks of the wrong size and missing masks are named.
    let good = dir.path().join("good");
    ok(&[&["synth", "--out", p(&good)], SMALL].concat());
    let masks = dir.path().join("masks2");
    ok(&[
        "weak-label",
        "--method",
        "threshold",
        "--data",
        p(&good),
        "--out",
        p(&masks),
    ]);
    image::GrayImage::new(10, 10)
        .save(masks.join("clip0001.png"))
        .unwrap();
    let out = sonomask(&["eval", "--data", p(&good), "--masks", p(&masks)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("clip0001.png") && err.contains("10×10"),
        "{err}"
    );
    std::fs::remove_file(masks.join("clip0001.png")).unwrap();
    let out = sonomask(&["eval", "--data", p(&good), "--masks", p(&masks)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clip0001.png"));

    // A non-empty output folder is not overwritten without --force.
    let out = sonomask(&[&["synth", "--out", p(&good)], SMALL].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));

    // Bad flag values are rejected by the parser.
    let out = sonomask(&["synth", "--out", p(&dir.path().join("x")), "--size", "12x5"]);
    assert!(!out.status.success());
    let out = sonomask(&[
        "synth",
        "--out",
        p(&dir.path().join("x")),
        "--layouts",
        "octagon",
    ]);
    assert!(!out.status.success());
}

#[test]
fn help_names_every_subcommand() {
    let out = ok(&["--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["synth", "weak-label", "eval", "ingest", "demo"] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    let out = ok(&["weak-label", "--help"]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("FIRST frame")
    );
}

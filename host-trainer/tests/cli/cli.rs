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
    for cmd in [
        "synth",
        "weak-label",
        "eval",
        "ingest",
        "demo",
        "check",
        "review",
        "annotate",
        "train",
        "predict",
        "keygen",
        "inspect",
        "loop",
        "stats",
        "quantize",
        "experiment",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help");
    }
    let out = ok(&["weak-label", "--help"]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("FIRST frame")
    );
}

#[test]
fn oracle_check_writes_a_resumable_journal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&[&["synth", "--out", p(&data), "--seed", "5"], SMALL].concat());
    let labels = dir.path().join("threshold");
    ok(&[
        "weak-label",
        "--method",
        "threshold",
        "--data",
        p(&data),
        "--out",
        p(&labels),
    ]);
    let journal = dir.path().join("review/j.jsonl");
    let args = [
        "check",
        "--oracle",
        "--data",
        p(&data),
        "--labels",
        p(&labels),
        "--journal",
        p(&journal),
    ];
    ok(&args);
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for l in &lines {
        for key in ["clip", "labels", "decision", "reviewer", "seconds", "time"] {
            assert!(!l[key].is_null(), "{key} missing in {l}");
        }
        assert_eq!(l["labels"], "threshold");
        let d = l["decision"].as_str().unwrap();
        assert!(d == "accept" || d == "reject", "{d}");
        // With no reviewer errors, the decision follows the Dice gate.
    }
    // A rerun resumes: nothing new is appended.
    ok(&args);
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), text);

    // With --error-rate 0, decisions follow Dice ≥ 0.95 exactly.
    let strict = dir.path().join("strict.jsonl");
    ok(&[
        "check",
        "--oracle",
        "--data",
        p(&data),
        "--labels",
        p(&labels),
        "--journal",
        p(&strict),
        "--error-rate",
        "0",
    ]);
    for l in std::fs::read_to_string(&strict).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let accept = v["decision"] == "accept";
        assert_eq!(accept, v["dice"].as_f64().unwrap() >= 0.95, "{v}");
    }

    // A journal naming a clip the dataset lacks is refused with its line.
    std::fs::write(
        &journal,
        format!("{}{{\"clip\":\"ghost\",\"labels\":\"threshold\",\"decision\":\"accept\",\"reviewer\":\"x\",\"seconds\":1,\"time\":\"t\"}}\n", text),
    )
    .unwrap();
    let out = sonomask(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ghost") && err.contains(":6"), "{err}");

    // The interactive path is not the oracle's.
    let out = sonomask(&[
        "check",
        "--data",
        p(&data),
        "--labels",
        p(&labels),
        "--journal",
        p(&journal),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--oracle"));
}

#[test]
fn oracle_annotate_draws_close_to_truth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&[&["synth", "--out", p(&data), "--seed", "6"], SMALL].concat());
    let (a, b) = (dir.path().join("hq-a"), dir.path().join("hq-b"));
    for out in [&a, &b] {
        ok(&[
            "annotate",
            "--oracle",
            "--data",
            p(&data),
            "--clips",
            "3",
            "--out",
            p(out),
            "--seed",
            "2",
        ]);
    }
    let pngs: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    assert_eq!(pngs.len(), 3);
    for png in &pngs {
        assert_eq!(
            std::fs::read(png).unwrap(),
            std::fs::read(b.join(png.file_name().unwrap())).unwrap()
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(png.with_extension("json")).unwrap()).unwrap();
        assert_eq!(json["annotator"], "oracle");
        assert!(json["seconds"].as_f64().unwrap() > 0.0);
    }
    // Only the drawn clips have masks; each is close to the truth.
    for png in &pngs {
        let id = png.file_stem().unwrap().to_str().unwrap();
        let truth = image::open(data.join("clips").join(id).join("sector.png"))
            .unwrap()
            .into_luma8();
        let drawn = image::open(png).unwrap().into_luma8();
        let agree = truth
            .pixels()
            .zip(drawn.pixels())
            .filter(|(t, d)| (t[0] > 0) == (d[0] > 0))
            .count();
        let frac = agree as f64 / truth.len() as f64;
        // 1.5 px of hand noise on a 320×240 frame moves ~2 % of pixels.
        assert!(frac > 0.96, "{id}: {frac}");
    }
    let out = sonomask(&[
        "annotate",
        "--oracle",
        "--data",
        p(&data),
        "--clips",
        "99",
        "--out",
        p(&a),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn train_then_predict_then_eval_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&[
        "synth",
        "--out",
        p(&data),
        "--seed",
        "21",
        "--clips",
        "4",
        "--frames",
        "2",
        "--size",
        "320x240",
    ]);
    let labels = dir.path().join("thr");
    ok(&[
        "weak-label",
        "--method",
        "threshold",
        "--data",
        p(&data),
        "--out",
        p(&labels),
    ]);
    let ckpt = dir.path().join("net.bpk");
    let out = ok(&[
        "train",
        "--data",
        p(&data),
        "--labels",
        p(&labels),
        "--out",
        p(&ckpt),
        "--epochs",
        "1",
        "--frames-per-clip",
        "2",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MACs") && err.contains("images/s"), "{err}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("net.bpk.json")).unwrap()).unwrap();
    assert_eq!(meta["seed"], 42);
    assert!(meta["cost"]["macs"].as_u64().unwrap() <= 10_000_000);
    let masks = dir.path().join("pred");
    ok(&[
        "predict",
        "--model",
        p(&ckpt),
        "--data",
        p(&data),
        "--out",
        p(&masks),
    ]);
    let out = ok(&["eval", "--data", p(&data), "--masks", p(&masks), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["clips"], 4);

    // Quantize (signed), then predict with the blob under a name that does
    // not say so: it is recognised by its magic and runs on the int8 engine.
    let key = dir.path().join("dev.key");
    ok(&["keygen", "--out", p(&key)]);
    let blob = dir.path().join("net.snmk");
    ok(&[
        "quantize",
        "--model",
        p(&ckpt),
        "--calib",
        p(&data),
        "--calib-frames",
        "4",
        "--out",
        p(&blob),
        "--sign-key",
        p(&key),
    ]);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("net.snmk.json")).unwrap()).unwrap();
    assert_eq!(report["calib_frames"].as_array().unwrap().len(), 4);
    assert_eq!(report["signed"], true);
    let pubkey = dir.path().join("dev.key.pub");
    let out = ok(&[
        "inspect",
        p(&blob),
        "--pubkey",
        p(&pubkey),
        "--require-signature",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed, verified"));
    let renamed = dir.path().join("model.bin");
    std::fs::copy(&blob, &renamed).unwrap();
    let masks8 = dir.path().join("pred8");
    let out = ok(&[
        "predict",
        "--model",
        p(&renamed),
        "--data",
        p(&data),
        "--out",
        p(&masks8),
        "--pubkey",
        p(&pubkey),
        "--require-signature",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("int8"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(masks8.join("predict.json")).unwrap()).unwrap();
    assert_eq!(summary["engine"], "int8");
    let out = ok(&["eval", "--data", p(&data), "--masks", p(&masks8), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["clips"], 4);
    // A blob signed with another key is refused, and so is a corrupt one.
    let other = dir.path().join("other.key");
    ok(&["keygen", "--out", p(&other)]);
    let out = sonomask(&[
        "predict",
        "--model",
        p(&blob),
        "--data",
        p(&data),
        "--out",
        p(&masks8),
        "--pubkey",
        p(&dir.path().join("other.key.pub")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));
    let mut bad = std::fs::read(&blob).unwrap();
    let mid = bad.len() / 2;
    bad[mid] ^= 4;
    std::fs::write(&renamed, &bad).unwrap();
    let out = sonomask(&[
        "predict",
        "--model",
        p(&renamed),
        "--data",
        p(&data),
        "--out",
        p(&masks8),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRC"));

    // Errors: no labels, corrupt checkpoint, a backend not compiled in.
    let empty = dir.path().join("empty-labels");
    std::fs::create_dir(&empty).unwrap();
    let out = sonomask(&[
        "train",
        "--data",
        p(&data),
        "--labels",
        p(&empty),
        "--out",
        p(&dir.path().join("x.bpk")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty-labels"));
    // A journal naming a clip the dataset does not have.
    let journal = dir.path().join("bad.jsonl");
    std::fs::write(
        &journal,
        "{\"clip\":\"clip9999\",\"labels\":\"thr\",\"decision\":\"accept\",\"reviewer\":\"x\",\"seconds\":1.0,\"time\":\"2026-11-26T00:00:00Z\"}\n",
    )
    .unwrap();
    let out = sonomask(&[
        "train",
        "--data",
        p(&data),
        "--labels",
        p(&labels),
        "--decisions",
        p(&journal),
        "--out",
        p(&dir.path().join("x.bpk")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("clip9999") && err.contains("not in the dataset"),
        "{err}"
    );

    // The refinement loop: one simulated round, then a round that waits for
    // a person's review, then resumes once the journal has the decisions.
    let hq = dir.path().join("hq");
    ok(&[
        "annotate",
        "--oracle",
        "--data",
        p(&data),
        "--clips",
        "2",
        "--out",
        p(&hq),
    ]);
    let work = dir.path().join("loop");
    let loop_args = |rounds: &'static str, oracle: bool| {
        let mut a = vec![
            "loop",
            "--data",
            p(&data),
            "--hq",
            p(&hq),
            "--init",
            p(&ckpt),
            "--work",
            p(&work),
            "--rounds",
            rounds,
            "--epochs",
            "1",
            "--test",
            p(&data),
        ];
        if oracle {
            // A reviewer who rejects every proposal.
            a.extend(["--oracle", "--accept-dice", "1.0", "--error-rate", "0"]);
        }
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(loop_args("1", true));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("loop.json")).unwrap()).unwrap();
    assert_eq!(report[0]["proposed"], 2, "{report}");
    assert_eq!(report[0]["accepted"], 0, "{report}");
    assert_eq!(report[0]["train_clips"], 2, "{report}");
    assert!(report[0]["test"]["pixel_accuracy"].as_f64().unwrap() > 0.0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("accuracy"));
    // Round 2 without the oracle waits for a person's decisions ...
    let out = run(loop_args("2", false));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 proposals await review") && stdout.contains("sonomask review"),
        "{stdout}"
    );
    // ... which the review UI appends to the journal; then it goes on.
    let pending: Vec<String> = (0..4)
        .map(|i| format!("clip{i:04}"))
        .filter(|c| !hq.join(format!("{c}.png")).exists())
        .collect();
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(work.join("loop.jsonl"))
        .unwrap();
    for c in &pending {
        use std::io::Write;
        writeln!(journal, "{{\"clip\":\"{c}\",\"labels\":\"round-2-proposals\",\"decision\":\"accept\",\"reviewer\":\"person\",\"seconds\":1.5,\"time\":\"2026-11-26T00:00:00Z\"}}").unwrap();
    }
    drop(journal);
    run(loop_args("2", false));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("loop.json")).unwrap()).unwrap();
    assert_eq!(report[1]["accepted"], 2, "{report}");
    assert_eq!(report[1]["train_clips"], 4, "{report}");
    assert_eq!(report[1]["human_seconds"], 3.0, "{report}");

    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() - 7]).unwrap();
    let out = sonomask(&[
        "predict",
        "--model",
        p(&ckpt),
        "--data",
        p(&data),
        "--out",
        p(&masks),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    if !cfg!(feature = "cuda") {
        let out = sonomask(&[
            "predict",
            "--model",
            p(&ckpt),
            "--data",
            p(&data),
            "--out",
            p(&masks),
            "--device",
            "cuda",
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--features cuda"));
    }
}

#[test]
fn review_and_drawing_ui_refuse_bad_setups() {
    let dir = tempfile::tempdir().unwrap();
    let out = sonomask(&["annotate", "--data", "nowhere", "--out", p(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--journal"), "{err}");
    let out = sonomask(&[
        "review",
        "--data",
        p(&dir.path().join("nowhere")),
        "--labels",
        p(dir.path()),
        "--journal",
        p(&dir.path().join("j.jsonl")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "no URL for a server that never started"
    );
}

/// `train --encoder/--bottleneck` picks a narrower network (fewer MACs on
/// the cart); the quantiser and the int8 engine take any widths.
#[test]
fn narrow_network_trains_quantizes_and_runs_on_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&[
        "synth",
        "--out",
        p(&data),
        "--seed",
        "22",
        "--clips",
        "3",
        "--frames",
        "2",
        "--size",
        "320x240",
    ]);
    let labels = dir.path().join("thr");
    ok(&[
        "weak-label",
        "--method",
        "threshold",
        "--data",
        p(&data),
        "--out",
        p(&labels),
    ]);
    let ckpt = dir.path().join("narrow.bpk");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            p(&data),
            "--labels",
            p(&labels),
            "--out",
            p(&ckpt),
            "--epochs",
            "1",
            "--frames-per-clip",
            "2",
        ];
        args.extend_from_slice(extra);
        sonomask(&args)
    };
    let bad = train(&["--encoder", "4,8"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("three channel counts"));
    let bad = train(&["--encoder", "4,0,16"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at least one channel"));
    let out = train(&["--encoder", "4,8,16", "--bottleneck", "24"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("narrow.bpk.json")).unwrap())
            .unwrap();
    assert_eq!(
        meta["config"]["model"]["encoder"],
        serde_json::json!([4, 8, 16])
    );
    assert_eq!(meta["config"]["model"]["bottleneck"], 24);
    assert!(meta["cost"]["macs"].as_u64().unwrap() < 3_000_000);
    // A refinement keeps the checkpoint's architecture: widths with --init
    // are refused rather than silently ignored.
    let refine = sonomask(&[
        "train",
        "--data",
        p(&data),
        "--labels",
        p(&labels),
        "--init",
        p(&ckpt),
        "--out",
        p(&dir.path().join("r.bpk")),
        "--encoder",
        "8,16,32",
    ]);
    assert!(!refine.status.success());

    let blob = dir.path().join("narrow.snmk");
    ok(&[
        "quantize",
        "--model",
        p(&ckpt),
        "--calib",
        p(&data),
        "--calib-frames",
        "4",
        "--out",
        p(&blob),
    ]);
    let masks = dir.path().join("pred");
    ok(&[
        "predict",
        "--model",
        p(&blob),
        "--data",
        p(&data),
        "--out",
        p(&masks),
    ]);
    let out = ok(&["eval", "--data", p(&data), "--masks", p(&masks), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["clips"], 3);
}

/// The shipped blob without its signature: same payload, flags 0, new CRC.
fn strip_signature(blob: &[u8]) -> Vec<u8> {
    use sonomask_core::blob::{SIGNATURE_LEN, TRAILER_LEN, crc32};
    let n = blob.len();
    let signed = blob[n - TRAILER_LEN] & 1 == 1;
    let mut out = blob[..n - TRAILER_LEN - if signed { SIGNATURE_LEN } else { 0 }].to_vec();
    out.push(0);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(b"SNMK");
    out
}

#[test]
fn sign_reproduces_the_shipped_dev_signed_blob_and_inspect_enforces_the_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dev_key = root.join("keys/dev.key");
    let dev_pub = root.join("keys/dev.key.pub");
    let shipped = std::fs::read(root.join("models/default.snmk")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let unsigned = dir.path().join("unsigned.snmk");
    std::fs::write(&unsigned, strip_signature(&shipped)).unwrap();

    // Unsigned: clean on its own, refused when a signature is required.
    ok(&["inspect", p(&unsigned)]);
    let out = sonomask(&[
        "inspect",
        p(&unsigned),
        "--pubkey",
        p(&dev_pub),
        "--require-signature",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));

    // Signed with the committed development key: verifies, and is the
    // shipped blob byte for byte (ed25519 is deterministic).
    let signed = dir.path().join("signed.snmk");
    let slot = dir.path().join("signed.slot");
    ok(&[
        "sign",
        "--model",
        p(&unsigned),
        "--key",
        p(&dev_key),
        "--out",
        p(&signed),
        "--slot",
        p(&slot),
    ]);
    let out = ok(&[
        "inspect",
        p(&signed),
        "--pubkey",
        p(&dev_pub),
        "--require-signature",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed, verified"));
    let signed_bytes = std::fs::read(&signed).unwrap();
    assert!(
        signed_bytes == shipped,
        "models/default.snmk is not the blob signed with keys/dev.key: \
         re-sign it with `sonomask sign --model models/default.snmk --key keys/dev.key --out models/default.snmk`"
    );
    let slot_bytes = std::fs::read(&slot).unwrap();
    assert_eq!(&slot_bytes[..4], b"SNMS");
    assert_eq!(
        u32::from_le_bytes(slot_bytes[4..8].try_into().unwrap()) as usize,
        signed_bytes.len()
    );
    assert_eq!(&slot_bytes[8..], &signed_bytes[..]);

    // Another key does not verify it; signing in place with that key
    // replaces the signature.
    let other = dir.path().join("other.key");
    ok(&["keygen", "--out", p(&other)]);
    let other_pub = dir.path().join("other.key.pub");
    let out = sonomask(&[
        "inspect",
        p(&signed),
        "--pubkey",
        p(&other_pub),
        "--require-signature",
    ]);
    assert_eq!(out.status.code(), Some(2));
    ok(&[
        "sign",
        "--model",
        p(&signed),
        "--key",
        p(&other),
        "--out",
        p(&signed),
    ]);
    ok(&[
        "inspect",
        p(&signed),
        "--pubkey",
        p(&other_pub),
        "--require-signature",
    ]);

    // A corrupt blob is an error and writes nothing.
    let mut bad = shipped.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    std::fs::write(&unsigned, &bad).unwrap();
    let never = dir.path().join("never.snmk");
    let out = sonomask(&[
        "sign",
        "--model",
        p(&unsigned),
        "--key",
        p(&dev_key),
        "--out",
        p(&never),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRC"));
    assert!(!never.exists());
}

//! The real development set (`datasets/real-dev`): its provenance holds
//! (every committed file has the sha256 `sources.tsv` records, every label
//! names a listed clip), and `sonomask ingest --truth` turns it into a
//! dataset `eval` scores and `train --labels` reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn real_dev() -> PathBuf {
    root().join("datasets/real-dev")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(args)
        .output()
        .expect("run sonomask");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `(clip, scanner, where, sha256)` rows of `sources.tsv`.
fn sources() -> Vec<(String, String, String, String)> {
    std::fs::read_to_string(real_dev().join("sources.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 6, "sources.tsv row needs 6 fields: {l}");
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect()
}

#[test]
fn real_dev_provenance_holds() {
    let rows = sources();
    assert!(rows.len() >= 7);
    let files = real_dev().join("files");
    let mut committed = 0;
    for (clip, _, place, sha) in &rows {
        assert!(
            real_dev()
                .join("labels")
                .join(format!("{clip}.json"))
                .is_file(),
            "{clip} has no label"
        );
        let found: Vec<PathBuf> = ["dcm", "png"]
            .iter()
            .map(|e| files.join(format!("{clip}.{e}")))
            .filter(|f| f.is_file())
            .collect();
        match place.as_str() {
            "files" => {
                assert_eq!(found.len(), 1, "{clip}: committed file missing");
                let got = hex(&Sha256::digest(std::fs::read(&found[0]).unwrap()));
                assert_eq!(&got, sha, "{clip}: sha256 differs from sources.tsv");
                committed += 1;
            }
            "external" => assert!(found.is_empty(), "{clip} is external: not committed"),
            other => panic!("{clip}: where must be files or external, got {other}"),
        }
    }
    // Every file and label belongs to a listed clip.
    let listed: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for dir in ["files", "labels"] {
        for e in std::fs::read_dir(real_dev().join(dir)).unwrap() {
            let name = e.unwrap().path();
            let stem = name.file_stem().unwrap().to_str().unwrap().to_owned();
            assert!(
                listed.contains(&stem.as_str()),
                "{dir}/{stem} not in sources.tsv"
            );
        }
    }
    assert_eq!(committed, std::fs::read_dir(&files).unwrap().count());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn ingest_with_truth_gives_a_dataset_eval_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("real");
    let (code, _, err) = run(&[
        "ingest",
        "--out",
        p(&data),
        "--truth",
        p(&real_dev().join("labels")),
        p(&real_dev().join("files")),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ground truth"), "{err}");
    let truth = data.join("truth");
    let n = std::fs::read_dir(&truth).unwrap().count();
    assert_eq!(
        n,
        std::fs::read_dir(real_dev().join("files")).unwrap().count()
    );

    // The drawn sectors scored against themselves are perfect ...
    let (code, out, err) = run(&["eval", "--data", p(&data), "--masks", p(&truth), "--json"]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["clips"], n);
    assert_eq!(s["pixel_accuracy"], 1.0);
    assert_eq!(s["phi_leak"], 0.0);
    // ... and keeping the whole frame leaks every burned-in pixel.
    let all = tmp.path().join("all");
    std::fs::create_dir(&all).unwrap();
    for e in std::fs::read_dir(&truth).unwrap() {
        let path = e.unwrap().path();
        let mut m = image::open(&path).unwrap().to_luma8();
        m.pixels_mut().for_each(|v| v.0 = [255]);
        m.save(all.join(path.file_name().unwrap())).unwrap();
    }
    let (_, out, _) = run(&["eval", "--data", p(&data), "--masks", p(&all), "--json"]);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["phi_leak"], 1.0);
    assert_eq!(s["signal_loss"], 0.0);
    assert!(s["pixel_accuracy"].as_f64().unwrap() < 0.9);

    // A label that is not a sector is an error naming it, and nothing is left behind.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("skimage-echo-sector-X75Y75.json"),
        r#"{"regions":{"regions":[{"kind":"rect","x0":5,"y0":5,"x1":1,"y1":1}]}}"#,
    )
    .unwrap();
    let out_bad = tmp.path().join("out-bad");
    let (code, _, err) = run(&[
        "ingest",
        "--out",
        p(&out_bad),
        "--truth",
        p(&bad),
        p(&real_dev().join("files/skimage-echo-sector-X75Y75.png")),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("skimage-echo-sector-X75Y75.json"), "{err}");
    assert!(!out_bad.join("manifest.json").exists());
}

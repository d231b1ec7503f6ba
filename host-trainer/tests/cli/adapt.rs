//! "Adapt the shipped model to my scanner" (README), end to end on real
//! files: ingest → weak labels → review → draw a few → refine from the
//! shipped float checkpoint → quantise → sign → hardware-in-loop on the
//! simulated cart → mask with the signature required.
//!
//! The person who reviews and draws is simulated (`--oracle`), seeing the
//! sectors drawn for the real development set (`ingest --truth`); the
//! refinement is one short epoch, enough to prove every file a step writes
//! is what the next step reads.

use std::path::PathBuf;
use std::process::Command;

use crate::support::p;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `sonomask` and returns (exit code, stderr); the command line is
/// in the message when it does not exit as expected.
fn sonomask(args: &[&str], want: i32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(args)
        .output()
        .expect("run sonomask");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(want),
        "sonomask {}\nstdout: {}\nstderr: {err}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

#[test]
fn adapt_the_shipped_model_to_real_files() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str| tmp.path().join(name);
    let real = root().join("datasets/real-dev");
    // My scanner's files: three real stills and a cine from different scanners.
    let mine = t("files");
    std::fs::create_dir(&mine).unwrap();
    for f in [
        "deid-philips-linear-grey.dcm",
        "pydicom-sonosite-phased-ybr-cine.dcm",
        "amijs-ge-logiq700-sector-powerdoppler.dcm",
        "skimage-echo-sector-X75Y75.png",
    ] {
        std::fs::copy(real.join("files").join(f), mine.join(f)).unwrap();
    }
    let data = t("data");
    sonomask(
        &[
            "ingest",
            "--out",
            p(&data),
            "--truth",
            p(&real.join("labels")),
            p(&mine),
        ],
        0,
    );
    sonomask(
        &[
            "weak-label",
            "--method",
            "threshold",
            "--data",
            p(&data),
            "--out",
            p(&t("thr")),
        ],
        0,
    );
    let journal = t("j.jsonl");
    sonomask(
        &[
            "check",
            "--data",
            p(&data),
            "--labels",
            p(&t("thr")),
            "--oracle",
            "--journal",
            p(&journal),
        ],
        0,
    );
    sonomask(
        &[
            "annotate",
            "--oracle",
            "--data",
            p(&data),
            "--clips",
            "3",
            "--prefer-rejected",
            p(&journal),
            "--out",
            p(&t("hq")),
        ],
        0,
    );
    let shipped = root().join("models/default.bpk");
    let ckpt = t("mine.bpk");
    sonomask(
        &[
            "train",
            "--data",
            p(&data),
            "--labels",
            p(&t("hq")),
            "--init",
            p(&shipped),
            "--out",
            p(&ckpt),
            "--epochs",
            "1",
            "--frames-per-clip",
            "2",
            "--val-fraction",
            "0",
        ],
        0,
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t("mine.bpk.json")).unwrap()).unwrap();
    assert_eq!(meta["init"].as_str(), Some(p(&shipped)));
    let blob = t("mine.snmk");
    sonomask(
        &[
            "quantize",
            "--model",
            p(&ckpt),
            "--calib",
            p(&data),
            "--out",
            p(&blob),
        ],
        0,
    );
    let key = root().join("keys/dev.key");
    sonomask(
        &[
            "sign",
            "--model",
            p(&blob),
            "--key",
            p(&key),
            "--out",
            p(&blob),
        ],
        0,
    );
    // The simulated cart runs the new blob byte for byte like the host
    // (exit 0: every frame matched).
    let hil = t("hil.json");
    sonomask(
        &[
            "hil",
            "--target",
            "sim",
            "--model",
            p(&blob),
            "--data",
            p(&data),
            "--frames",
            "6",
            "--json",
            p(&hil),
        ],
        0,
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&hil).unwrap()).unwrap();
    let frames = report["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 6, "{report}");
    assert!(frames.iter().all(|f| f["mismatch"].is_null()), "{report}");
    // And masks my files, refusing an unsigned or foreign blob.
    let pubkey = root().join("keys/dev.key.pub");
    let out = t("masked");
    let code = Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args([
            "mask",
            "--model",
            p(&blob),
            "--pubkey",
            p(&pubkey),
            "--require-signature",
            "--out",
            p(&out),
            p(&mine),
        ])
        .status()
        .unwrap()
        .code();
    // 0: all masked; a clip that fails closed is still exit 0 without --strict.
    assert_eq!(code, Some(0));
    assert!(out.join("mask-report.json").is_file());
    assert!(out.join("deid-philips-linear-grey.dcm").is_file());
}

//! Hostile files through the command line (issue 19, item 3): `sonomask
//! mask` and `sonomask ingest` on one hostile file exit 2 naming it and
//! write nothing for it (no output, no temporary file); in a batch beside a
//! good file they skip it and exit 1 after writing the good one. Every
//! `mask` run stays under [`PEAK_RSS_LIMIT_KIB`] of peak resident memory,
//! read for that child alone with `wait4`.
//!
//! The files are the library tests' (`hostile_files.rs`, included by path),
//! plus a cine cut short and a pixel data length that claims 4 GiB.

#[path = "../../crates/data/tests/files/hostile_files.rs"]
mod hostile_files;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hostile_files as hf;

use crate::support::p;

/// The most resident memory one `sonomask mask` run on a hostile file may
/// take: 300 MiB. The files are at most 1.6 MB; a run on them measured
/// 11.5–12.3 MiB (printed by the test), and before the checks the 4 GiB
/// length took 4.2 GB (4,204,980 KiB) and the JPEG claiming 65000 × 65000
/// pixels in a 16 × 16 DICOM 4.2 GB, so anything that starts to allocate
/// what a file claims fails this by far.
const PEAK_RSS_LIMIT_KIB: u64 = 300 * 1024;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn model() -> PathBuf {
    root().join("models/default.snmk")
}

/// Runs `sonomask ARGS`; returns its exit code, stderr and peak RSS (KiB),
/// the latter from `wait4` on this child alone (tests run in parallel, so
/// `RUSAGE_CHILDREN` would mix in other tests' children).
#[allow(
    clippy::zombie_processes,
    reason = "reaped by libc::wait4, which also reports its rusage"
)]
fn run_measured(args: &[&str]) -> (i32, String, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sonomask");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).ok();
        s
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value for wait4 to fill; `pid` is our
    // own child, not yet waited for (std's `Child` is never waited on and
    // does not reap on drop).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    let err = reader.join().unwrap();
    // Linux reports ru_maxrss in KiB.
    (code, err, usage.ru_maxrss as u64)
}

/// The files left in `out`: only the run's report and review queue may be
/// there, nothing for the refused input (no output, no temporary file).
fn leftovers(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "mask-report.json" && n != "review-queue.json")
        .collect()
}

/// A representative hostile file of each kind, built in `dir`.
fn hostile_set(dir: &Path) -> Vec<PathBuf> {
    let r = root();
    let mut v = vec![
        hf::pixel_data_too_long(&r, dir),
        hf::deeply_nested(&r, dir, 10_000),
        hf::jpeg_bomb_dicom(dir, "bomb-in-small.dcm", (16, 16), (65000, 65000)),
        hf::jpeg_bomb_dicom(dir, "bomb-in-big.dcm", (65000, 65000), (65000, 65000)),
        hf::jpeg_bomb_still(dir),
    ];
    let vrs = hf::wrong_vrs(&r, dir);
    v.extend(
        vrs.into_iter()
            .filter(|(p, _)| p.ends_with("rows-text.dcm") || p.ends_with("bits-7.dcm"))
            .map(|(p, _)| p),
    );
    v.extend(
        hf::bad_palettes(&r, dir)
            .into_iter()
            .take(2)
            .map(|(p, _)| p),
    );
    // The JPEG cine cut in the middle of its pixel data.
    let cine =
        std::fs::read(r.join("tests/data/realdata/pydicom-sonosite-phased-ybr-cine.dcm")).unwrap();
    let cut = dir.join("cine-cut.dcm");
    std::fs::write(&cut, &cine[..cine.len() * 3 / 5]).unwrap();
    v.push(cut);
    // The grey still's pixel data length set to about 4 GiB.
    let mut grey = std::fs::read(r.join(hf::GREY)).unwrap();
    let at = grey
        .windows(6)
        .rposition(|w| {
            w == [0xE0, 0x7F, 0x10, 0x00, b'O', b'B'] || w == [0xE0, 0x7F, 0x10, 0x00, b'O', b'W']
        })
        .expect("the pixel data element");
    grey[at + 8..at + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let huge = dir.join("length-4gib.dcm");
    std::fs::write(&huge, grey).unwrap();
    v.push(huge);
    v
}

#[test]
fn mask_refuses_each_hostile_file_alone_with_exit_2_and_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let mut peaks = Vec::new();
    for (i, file) in hostile_set(&inputs).iter().enumerate() {
        let name = file.file_name().unwrap().to_str().unwrap();
        let out = dir.path().join(format!("out{i}"));
        let (code, err, peak_kib) = run_measured(&[
            "mask",
            "--model",
            p(&model()),
            p(file),
            "--out",
            p(&out),
            "--deid-header",
        ]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(name), "{name}: stderr does not name it: {err}");
        assert_eq!(leftovers(&out), Vec::<String>::new(), "{name}");
        assert!(
            peak_kib < PEAK_RSS_LIMIT_KIB,
            "{name}: peak RSS {peak_kib} KiB over {PEAK_RSS_LIMIT_KIB}"
        );
        peaks.push(format!("{name} {} KiB", peak_kib));
    }
    eprintln!(
        "peak RSS of `sonomask mask` per hostile file: {}",
        peaks.join(", ")
    );
}

#[test]
fn mask_and_ingest_skip_a_hostile_file_in_a_batch_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(
        root().join("tests/data/codecs/grey-rle.dcm"),
        inputs.join("good.dcm"),
    )
    .unwrap();
    hf::jpeg_bomb_dicom(&inputs, "bomb.dcm", (16, 16), (65000, 65000));

    let out = dir.path().join("out");
    let (code, err, peak_kib) =
        run_measured(&["mask", "--model", p(&model()), p(&inputs), "--out", p(&out)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("skipped") && err.contains("bomb.dcm"), "{err}");
    assert!(out.join("good.dcm").exists(), "{err}");
    assert_eq!(leftovers(&out), ["good.dcm"], "{err}");
    assert!(peak_kib < PEAK_RSS_LIMIT_KIB, "peak RSS {peak_kib} KiB");
    let rep: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("mask-report.json")).unwrap()).unwrap();
    assert_eq!(rep["skipped"].as_array().unwrap().len(), 1);
    assert!(
        rep["skipped"][0]["error"]
            .as_str()
            .unwrap()
            .contains("65000x65000")
    );

    // ingest: the batch gives exit 1 and one clip; the hostile file alone
    // exit 2, named, and no dataset.
    let data = dir.path().join("data");
    let (code, err, _) = run_measured(&["ingest", p(&inputs), "--out", p(&data)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("skipped") && err.contains("bomb.dcm"), "{err}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["clips"].as_array().unwrap().len(), 1);
    let alone = dir.path().join("alone");
    let (code, err, _) = run_measured(&["ingest", p(&inputs.join("bomb.dcm")), "--out", p(&alone)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bomb.dcm"), "{err}");
    assert!(!alone.join("manifest.json").exists());
}

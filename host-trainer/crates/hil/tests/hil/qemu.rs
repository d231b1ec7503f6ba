//! The HIL rig against the QEMU board (issue 7's acceptance and its QEMU
//! fault injections). Ignored in a plain `cargo test`: they need
//! `qemu-system-arm`, a C compiler for the counting plugin, and the board
//! image built for thumbv7em (`cargo mps2`). `.ci/run` installs and builds
//! all three and runs them with `--ignored`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sonomask_core::blob::BlobError;
use sonomask_core::wire::{FaultCode, ModelStatus, Reply};
use sonomask_data::synth::{Layout, SynthConfig};
use sonomask_data::synth_io;
use sonomask_hil::client::Garble;
use sonomask_hil::qemu::{QemuLink, QemuOptions, default_firmware};
use sonomask_hil::{self as hil, HilConfig, HilReport, Target, threshold_model};

fn dataset(dir: &Path, clips: usize, frames: usize, size: (u32, u32)) -> PathBuf {
    let data = dir.join(format!("data-{}x{}", size.0, size.1));
    let cfg = SynthConfig {
        seed: 7,
        clips,
        frames,
        size: Some(size),
        layouts: Layout::ALL.to_vec(),
    };
    synth_io::write_dataset(&cfg, &data, &|| {}).unwrap();
    data
}

fn write_model(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn qemu(link: QemuLink) -> Target {
    let firmware = default_firmware();
    assert!(
        firmware.is_file(),
        "board image {} missing: run `cargo mps2` first",
        firmware.display()
    );
    Target::Qemu(QemuOptions {
        qemu: "qemu-system-arm".into(),
        firmware,
        link,
        count_instructions: true,
        icount: true,
    })
}

fn run(target: Target, model: &Path, data: &Path) -> HilReport {
    let cfg = HilConfig {
        target,
        model: model.to_path_buf(),
        data: data.to_path_buf(),
        frames: None,
        reply: Reply::Frame,
        timeout: Duration::from_secs(60),
        garble: None,
        pubkey: None,
    };
    hil::run(&cfg, &|_| {}).unwrap()
}

#[test]
#[ignore = "needs qemu-system-arm, cc and the thumbv7em board image; run by .ci/run"]
fn twenty_640x480_frames_match_the_reference_with_instruction_counts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 4, 5, (640, 480));
    let blob = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let model = write_model(dir.path(), "model.snmk", &blob);
    let r = run(qemu(QemuLink::Semihosting), &model, &data);
    assert_eq!(r.frames.len(), 20);
    assert_eq!(
        r.failures(),
        0,
        "{:#?}",
        r.frames.iter().find(|f| f.failure().is_some())
    );
    assert!(r.frames.iter().any(|f| f.masked));
    for f in &r.frames {
        let i = f.instructions.expect("every frame counted");
        assert!(
            i.total > 0 && i.preprocess + i.inference + i.fit + i.masking == i.total,
            "{f:?}"
        );
    }
    let (mean, n) = r.mean_instructions().unwrap();
    assert!(n > 0 && mean.inference > 0 && mean.fit > 0 && mean.masking > 0);
}

#[test]
#[ignore = "needs qemu-system-arm, cc and the thumbv7em board image; run by .ci/run"]
fn corrupted_blob_in_flash_blacks_out_every_frame_over_the_uart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 2, 2, (160, 128));
    let mut blob = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let mid = blob.len() / 2;
    blob[mid] ^= 0x01;
    let model = write_model(dir.path(), "corrupt.snmk", &blob);
    let r = run(qemu(QemuLink::Uart), &model, &data);
    let want = FaultCode::Model(BlobError::CrcMismatch);
    assert_eq!(r.device.model, ModelStatus::Failed(want));
    assert_eq!(r.failures(), 0);
    for f in &r.frames {
        assert!(!f.masked && f.fault_line, "{f:?}");
        assert_eq!(f.outcome, format!("black: {want}"));
    }
}

#[test]
#[ignore = "needs qemu-system-arm, cc and the thumbv7em board image; run by .ci/run"]
fn garbled_uart_traffic_resyncs_and_never_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(dir.path(), 3, 2, (160, 128));
    let blob = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let model = write_model(dir.path(), "model.snmk", &blob);
    let cfg = HilConfig {
        target: qemu(QemuLink::Uart),
        model,
        data,
        frames: None,
        reply: Reply::Frame,
        // As long as the clean runs: QEMU's UART moves ~14 kB/s, so a
        // 160x128 frame and its answer take ~3 s, over 8 s on a loaded
        // machine. A timed-out answer is a frame the device did process
        // but the rig never saw, which puts the reference one frame behind
        // (a "run" mismatch), not a device fault.
        timeout: Duration::from_secs(60),
        garble: Some(Garble {
            rate: 0.05,
            seed: 5,
        }),
        pubkey: None,
    };
    let r = hil::run(&cfg, &|_| {}).unwrap();
    assert!(r.injected > 0);
    assert_eq!(r.leaks(), 0);
    assert_eq!(
        r.mismatches(),
        0,
        "{:#?}",
        r.frames.iter().find(|f| f.mismatch.is_some())
    );
    assert!(
        r.counters.bad_messages + r.counters.overflows > 0,
        "{:?}",
        r.counters
    );
    assert!(r.frames.iter().any(|f| f.run > 0));
}

//! The HIL rig against the simulated device (the firmware's own device
//! and pipeline on a host thread): byte-for-byte agreement with the
//! reference, and the fault injections of issue 7 — a corrupted or
//! unsigned blob, garbled and truncated traffic, wrong frame sizes.

use std::path::Path;
use std::time::Duration;

use sonomask_core::PixelFormat;
use sonomask_core::blob::BlobError;
use sonomask_core::slot::SLOT_HEADER_LEN;
use sonomask_core::wire::{FaultCode, FrameHeader, ModelStatus, Outcome, Reply};
use sonomask_data::synth::{Layout, SynthConfig};
use sonomask_data::synth_io;
use sonomask_hil::client::{Client, Garble};
use sonomask_hil::sim::SimDevice;
use sonomask_hil::{self as hil, HilConfig, HilReport, Target, slot_image, threshold_model};

fn dataset(dir: &Path, clips: usize, frames: usize, size: (u32, u32)) {
    let cfg = SynthConfig {
        seed: 11,
        clips,
        frames,
        size: Some(size),
        layouts: Layout::ALL.to_vec(),
    };
    synth_io::write_dataset(&cfg, dir, &|| {}).unwrap();
}

fn model(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn config(model: &Path, data: &Path) -> HilConfig {
    HilConfig {
        target: Target::Sim,
        model: model.to_path_buf(),
        data: data.to_path_buf(),
        frames: None,
        reply: Reply::Frame,
        timeout: Duration::from_secs(20),
        garble: None,
        pubkey: None,
    }
}

fn run(cfg: &HilConfig) -> HilReport {
    hil::run(cfg, &|_| {}).unwrap()
}

#[test]
fn every_byte_matches_the_reference_in_every_reply_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 5, 3, (320, 240));
    let m = model(
        dir.path(),
        "model.snmk",
        &threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap(),
    );
    for reply in [Reply::Frame, Reply::Spans, Reply::Report] {
        let r = run(&HilConfig {
            reply,
            ..config(&m, &data)
        });
        assert_eq!(r.frames.len(), 15);
        assert_eq!(
            r.failures(),
            0,
            "{reply:?}: {:#?}",
            r.frames.iter().find(|f| f.failure().is_some())
        );
        assert!(
            r.frames.iter().any(|f| f.masked),
            "{reply:?}: nothing was masked"
        );
        assert!(r.frames.iter().all(|f| f.truth.is_some() && f.run > 0));
        assert_eq!(r.counters.frames, 15);
        assert!(matches!(
            r.device.model,
            ModelStatus::Loaded {
                map_w: 80,
                map_h: 64,
                ..
            }
        ));
    }
}

#[test]
fn a_corrupted_or_unsigned_blob_blacks_out_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 2, 3, (320, 240));
    let good = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x40;
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let cases = [
        (
            model(dir.path(), "bad.snmk", &bad),
            None,
            FaultCode::Model(BlobError::CrcMismatch),
        ),
        (
            model(dir.path(), "unsigned.snmk", &good),
            Some(key.verifying_key()),
            FaultCode::Model(BlobError::SignatureMissing),
        ),
    ];
    for (m, pubkey, want) in cases {
        let r = run(&HilConfig {
            pubkey,
            ..config(&m, &data)
        });
        assert_eq!(r.device.model, ModelStatus::Failed(want));
        assert!(r.model_loads.is_err());
        assert_eq!(r.failures(), 0);
        for f in &r.frames {
            assert!(!f.masked && f.fault_line && f.kept_pixels == 0, "{f:?}");
            assert_eq!(f.outcome, format!("black: {want}"));
        }
    }
}

#[test]
fn garbled_and_truncated_traffic_never_leaks_an_unmasked_frame() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 4, 4, (320, 240));
    let m = model(
        dir.path(),
        "model.snmk",
        &threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap(),
    );
    let r = run(&HilConfig {
        garble: Some(Garble {
            rate: 0.02,
            seed: 3,
        }),
        timeout: Duration::from_secs(2),
        ..config(&m, &data)
    });
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
    // Damage cost some frames (black, incomplete) but the device resynced:
    // later frames were processed again.
    assert!(
        r.frames
            .iter()
            .any(|f| f.outcome.contains("rows lost") || f.outcome.contains("unknown"))
    );
    assert!(
        r.frames.iter().filter(|f| f.masked).count() >= 5,
        "{:?}",
        r.counters
    );
}

#[test]
fn wrong_frame_sizes_are_faults() {
    let blob = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let slot = slot_image(&blob).unwrap();
    let (dev, link) = SimDevice::spawn(slot, None).unwrap();
    let mut client = Client::new(link, None);
    let t = Duration::from_secs(10);
    client.hello(t).unwrap();
    let header = |seq, width, height| FrameHeader {
        seq,
        width,
        height,
        format: PixelFormat::Gray8,
        reply: Reply::Frame,
        restart: true,
    };
    let pixels = vec![90u8; 320 * 240];
    // A header one row taller than the rows sent: incomplete, black.
    client.send_frame(&header(0, 320, 241), &pixels).unwrap();
    let a = client.answer(0, t).unwrap();
    assert_eq!(a.report.outcome, Outcome::Blacked(FaultCode::Incomplete));
    assert!(a.report.fault_line);
    assert!(a.pixels.unwrap().iter().all(|&b| b == 0));
    // Rows shorter than the header's row: incomplete.
    client.send_frame(&header(1, 321, 240), &pixels).unwrap();
    assert_eq!(
        client.answer(1, t).unwrap().report.outcome,
        Outcome::Blacked(FaultCode::Incomplete)
    );
    // Smaller than the network's map: unsupported.
    client
        .send_frame(&header(2, 40, 30), &pixels[..1200])
        .unwrap();
    let a = client.answer(2, t).unwrap();
    assert_eq!(
        a.report.outcome,
        Outcome::Blacked(FaultCode::UnsupportedFrame)
    );
    assert!(a.report.run > 0);
    // Larger than the frame buffer: unsupported, never processed.
    let big = header(3, 2048, 1536);
    client
        .send_frame(&big, &vec![7u8; big.frame_bytes()])
        .unwrap();
    let a = client.answer(3, t).unwrap();
    assert_eq!(
        a.report.outcome,
        Outcome::Blacked(FaultCode::UnsupportedFrame)
    );
    assert_eq!(a.report.run, 0);
    // The device never held it: its report alone answers it, no rows.
    assert!(a.pixels.is_none());
    assert!(dev.fault_line.is_raised());
    let c = client.shutdown(t).unwrap();
    assert_eq!((c.frames, c.masked, c.blacked), (4, 0, 4));
    dev.join().unwrap();
}

#[test]
fn slot_of_a_corrupt_blob_still_reaches_the_device() {
    // The rig must not refuse a defective blob: fail-closed behaviour is
    // what it tests. The slot header frames whatever bytes it is given.
    let s = slot_image(b"not a model").unwrap();
    assert_eq!(&s[SLOT_HEADER_LEN..], b"not a model");
    assert!(slot_image(&vec![0u8; 2 << 20]).is_err());
}

/// `--target serial:PATH` end to end, on a pseudo-terminal whose other end
/// is the firmware's device (a cart on a serial line, minus the cart).
#[test]
fn serial_target_over_a_pty() {
    use serialport::SerialPort as _;
    use sonomask_core::blob::SignaturePolicy;
    use sonomask_firmware::{Config, Device, Event, NoProbe, Pipeline, load_model};
    use sonomask_hil::link::EmbeddedIo;
    use sonomask_hil::reference::{FaultLine, OwnedWorkspace};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    dataset(&data, 2, 2, (160, 128));
    let blob = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let m = model(dir.path(), "model.snmk", &blob);
    let (mut master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    master
        .set_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let path = slave.name().expect("the pty has a name");
    // The device keeps its end open until the host is done: serialport
    // reports a hung-up pty as an error even with the last answer unread.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let device = std::thread::spawn(move || {
        let slot = slot_image(&blob).unwrap();
        let mut ows = OwnedWorkspace::new();
        let model = load_model(&slot, SignaturePolicy::Optional);
        let pipeline = Pipeline::new(model, ows.ws(), FaultLine::default(), Config::default());
        let mut frame = vec![0u8; 1 << 20];
        let mut dev = Device::new(pipeline, &mut frame, NoProbe);
        let mut link = EmbeddedIo(master);
        loop {
            match dev.poll(&mut link) {
                Ok(Event::Continue) => {}
                Ok(_) => {
                    let _ = done_rx.recv();
                    return dev.counters();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("device link: {e}"),
            }
        }
    });
    let cfg = HilConfig {
        target: Target::Serial {
            path,
            baud: 115_200,
        },
        ..config(&m, &data)
    };
    let r = hil::run(&cfg, &|_| {});
    done_tx.send(()).unwrap();
    let r = match r {
        Ok(r) => r,
        Err(e) => panic!("{e}; the device ended with {:?}", device.join()),
    };
    assert_eq!(r.frames.len(), 4);
    assert_eq!(r.failures(), 0, "{:#?}", r.frames);
    let c = device.join().unwrap();
    assert_eq!(c.frames, 4);
    drop(slave);
}

/// After a timeout the rig asks the device's counters whether it finished
/// the frame (the answer was lost on the way back) or not (the frame was
/// lost on the way in). Both, against the simulated device.
#[test]
fn unanswered_frames_are_told_apart_by_the_devices_counters() {
    use sonomask_hil::{LossTracker, Lost};

    let blob = threshold_model::blob(threshold_model::DEFAULT_THRESHOLD).unwrap();
    let slot = slot_image(&blob).unwrap();
    let (dev, link) = SimDevice::spawn(slot, None).unwrap();
    let mut client = Client::new(link, None);
    let t = Duration::from_secs(10);
    client.hello(t).unwrap();
    let mut losses = LossTracker::new(Some(&client.status(t).unwrap()));
    let header = |seq| FrameHeader {
        seq,
        width: 160,
        height: 128,
        format: PixelFormat::Gray8,
        reply: Reply::Spans,
        restart: seq == 0,
    };
    let pixels = vec![90u8; 160 * 128];
    // Answered: counted.
    client.send_frame(&header(0), &pixels).unwrap();
    losses.answered(&client.answer(0, t).unwrap().report.outcome);
    // The device finishes frame 1, and its answer is dropped here.
    client.send_frame(&header(1), &pixels).unwrap();
    let _dropped = client.answer(1, t).unwrap();
    let now = client.status(t).unwrap();
    assert_eq!(losses.unanswered(Some(&now)), Some(Lost::Answer));
    // Frame 2 never reaches the device.
    let now = client.status(t).unwrap();
    assert_eq!(losses.unanswered(Some(&now)), Some(Lost::Frame));
    // Frame 3 arrives and is answered again; no status, no verdict.
    client.send_frame(&header(3), &pixels).unwrap();
    losses.answered(&client.answer(3, t).unwrap().report.outcome);
    assert_eq!(losses.unanswered(None), None);
    client.shutdown(t).unwrap();
    dev.join().unwrap();
}

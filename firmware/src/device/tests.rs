extern crate std;
use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::pipeline::{Config, NoProbe, load_model};
use crate::testing::{FlagPin, Noise, OwnedWorkspace, ThresholdNet, fan_regions, frame, slot};
use sonomask_core::PixelFormat;
use sonomask_core::blob::SignaturePolicy;
use sonomask_core::wire::{DeviceInfo, ModelStatus};

const W: u16 = 160;
const H: u16 = 120;

fn enc(m: &HostMsg<'_>) -> Vec<u8> {
    let mut scratch = vec![0u8; MAX_MESSAGE_BYTES];
    let mut out = vec![0u8; MAX_ENCODED_BYTES];
    let n = wire::encode(m, &mut scratch, &mut out).unwrap();
    out.truncate(n);
    out
}

fn header(seq: u32, format: PixelFormat, reply: Reply) -> FrameHeader {
    FrameHeader {
        seq,
        width: W,
        height: H,
        format,
        reply,
        restart: seq == 0,
    }
}

/// The messages of one frame: header, row chunks, end.
fn frame_msgs(h: &FrameHeader, data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![enc(&HostMsg::Frame(*h))];
    let rb = h.layout().row_bytes();
    let per = h.rows_per_chunk();
    for (i, chunk) in data.chunks(per * rb).enumerate() {
        out.push(enc(&HostMsg::Rows {
            seq: h.seq,
            first_row: (i * per) as u16,
            data: chunk,
        }));
    }
    out.push(enc(&HostMsg::End { seq: h.seq }));
    out
}

/// A device message with owned data.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Hello(DeviceInfo),
    Rows(u32, u16, Vec<u8>),
    Spans(u32, u16, RowSpans),
    Done(FrameReport),
    Status(Counters),
    Bye(Counters),
}

fn parse(stream: &[u8]) -> Vec<Got> {
    let mut rx: Receiver<MAX_ENCODED_BYTES> = Receiver::new();
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (got, r) = rx.push(rest);
        rest = r;
        if let Some(Received::Frame(f)) = got {
            let m: DeviceMsg<'_> = wire::decode(f).expect("the device sends only good messages");
            out.push(match m {
                DeviceMsg::Hello(i) => Got::Hello(i),
                DeviceMsg::Rows {
                    seq,
                    first_row,
                    data,
                } => Got::Rows(seq, first_row, data.to_vec()),
                DeviceMsg::Spans { seq, row, spans } => Got::Spans(seq, row, spans),
                DeviceMsg::Done(r) => Got::Done(r),
                DeviceMsg::Status(c) => Got::Status(c),
                DeviceMsg::Bye(c) => Got::Bye(c),
            });
        }
    }
    out
}

/// Per frame: the rows sent back, assembled (None if none), and the report.
fn answers(got: &[Got]) -> BTreeMap<u32, (Option<Vec<u8>>, FrameReport)> {
    let mut rows: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for g in got {
        match g {
            Got::Rows(seq, first, data) => {
                let buf = rows.entry(*seq).or_default();
                // Chunks come in order, from row 0.
                assert_eq!(*first == 0, buf.is_empty());
                buf.extend_from_slice(data);
            }
            Got::Done(r) => {
                out.insert(r.seq, (rows.remove(&r.seq), *r));
            }
            _ => {}
        }
    }
    out
}

struct Rig {
    blob: Vec<u8>,
}

impl Rig {
    fn new() -> Self {
        Rig {
            blob: slot(&ThresholdNet::new(40, 30, 70).blob(None)),
        }
    }

    /// Runs `input` through a fresh device; returns what it sent.
    fn run(&self, slot_bytes: &[u8], input: &[u8], buffer: usize) -> (Vec<u8>, Counters) {
        let mut ows = OwnedWorkspace::new(40 * 30, 8192);
        let model = load_model(slot_bytes, SignaturePolicy::Optional);
        let pipeline = Pipeline::new(model, ows.ws(), FlagPin::default(), Config::default());
        let mut fb = vec![0u8; buffer];
        let mut dev = Device::new(pipeline, &mut fb, NoProbe);
        let mut out = Vec::new();
        // Feed in uneven pieces, as a UART would deliver them.
        let mut rng = Noise::new(input.len() as u64);
        let mut rest = input;
        while !rest.is_empty() {
            let n = (1 + (rng.next() % 700) as usize).min(rest.len());
            assert_eq!(dev.feed(&rest[..n], &mut out), Ok(Event::Continue));
            rest = &rest[n..];
        }
        (out, dev.counters())
    }

    /// What the pipeline alone does to these frames, in order.
    fn reference(
        &self,
        frames: &[(FrameHeader, Vec<u8>)],
    ) -> Vec<(Vec<u8>, Result<u64, FaultCode>)> {
        let mut ows = OwnedWorkspace::new(40 * 30, 8192);
        let model = load_model(&self.blob, SignaturePolicy::Optional);
        let mut p = Pipeline::new(model, ows.ws(), FlagPin::default(), Config::default());
        frames
            .iter()
            .map(|(h, f)| {
                let mut f = f.clone();
                let r = p.process(&mut f, h.layout(), h.restart, &mut NoProbe);
                (f, r.outcome)
            })
            .collect()
    }
}

fn frames(n: u32, format: PixelFormat, reply: Reply) -> Vec<(FrameHeader, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let truth = fan_regions(W, H, 0.5 + 0.01 * i as f32, 0.85);
            (
                header(i, format, reply),
                frame(W, H, format, &truth, i as u64, true),
            )
        })
        .collect()
}

#[test]
fn hello_frames_status_and_shutdown() {
    let rig = Rig::new();
    let fs = frames(3, PixelFormat::Rgb888, Reply::Frame);
    let mut input = enc(&HostMsg::Hello {
        version: PROTOCOL_VERSION,
    });
    for (h, f) in &fs {
        input.extend(frame_msgs(h, f).concat());
    }
    input.extend(enc(&HostMsg::Status));
    let (out, counters) = rig.run(&rig.blob, &input, 200_000);
    let got = parse(&out);
    let Got::Hello(info) = &got[0] else {
        panic!("{:?}", got[0])
    };
    assert_eq!(info.version, PROTOCOL_VERSION);
    assert_eq!(info.max_frame_bytes, 200_000);
    assert!(matches!(
        info.model,
        ModelStatus::Loaded {
            map_w: 40,
            map_h: 30,
            ..
        }
    ));
    let want = rig.reference(&fs);
    let ans = answers(&got);
    for (i, (pixels, outcome)) in want.iter().enumerate() {
        let (rows, report) = &ans[&(i as u32)];
        assert_eq!(
            rows.as_deref(),
            Some(&pixels[..]),
            "frame {i} differs from the reference"
        );
        assert_eq!(report.outcome, Outcome::Masked);
        assert_eq!(Ok(u64::from(report.kept_pixels)), *outcome);
        assert_eq!((report.run, report.fault_line), (i as u32 + 1, false));
    }
    assert_eq!(counters.frames, 3);
    assert_eq!(counters.masked, 3);
    assert!(matches!(got.last(), Some(Got::Status(c)) if c.masked == 3));

    // Shutdown ends the feed and is answered.
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let p = Pipeline::new(
        load_model(&rig.blob, SignaturePolicy::Optional),
        ows.ws(),
        FlagPin::default(),
        Config::default(),
    );
    let mut fb = vec![0u8; 100];
    let mut dev = Device::new(p, &mut fb, NoProbe);
    let mut out = Vec::new();
    let mut input = enc(&HostMsg::Shutdown);
    input.extend(enc(&HostMsg::Status));
    assert_eq!(dev.feed(&input, &mut out), Ok(Event::Shutdown));
    assert!(matches!(parse(&out)[..], [Got::Bye(_)]));
}

#[test]
fn spans_and_report_replies() {
    let rig = Rig::new();
    let mut fs = frames(2, PixelFormat::Gray8, Reply::Spans);
    fs[1].0.reply = Reply::Report;
    let input: Vec<u8> = fs
        .iter()
        .flat_map(|(h, f)| frame_msgs(h, f).concat())
        .collect();
    let (out, _) = rig.run(&rig.blob, &input, 200_000);
    let got = parse(&out);
    let want = rig.reference(&fs);
    let spans: Vec<&Got> = got
        .iter()
        .filter(|g| matches!(g, Got::Spans(0, ..)))
        .collect();
    assert_eq!(spans.len(), H as usize);
    for g in spans {
        let Got::Spans(_, y, s) = g else {
            unreachable!()
        };
        let row = &want[0].0[*y as usize * W as usize..(*y as usize + 1) * W as usize];
        for x in 0..W {
            let kept = s.iter().any(|sp| sp.start <= x && x < sp.end);
            assert_eq!(kept, row[x as usize] != 0, "row {y} x {x}");
        }
    }
    assert!(
        !got.iter()
            .any(|g| matches!(g, Got::Rows(..) | Got::Spans(1, ..)))
    );
    assert!(
        got.iter()
            .any(|g| matches!(g, Got::Done(r) if r.seq == 1 && r.outcome == Outcome::Masked))
    );
}

#[test]
fn lost_rows_oversized_frames_and_unknown_ends_go_back_black() {
    let rig = Rig::new();
    let fs = frames(4, PixelFormat::Rgb888, Reply::Frame);
    let mut input = Vec::new();
    // Frame 0: a middle chunk lost.
    let mut m = frame_msgs(&fs[0].0, &fs[0].1);
    m.remove(5);
    input.extend(m.concat());
    // Frame 1: its End lost and the next frame starts (abandoned).
    let mut m = frame_msgs(&fs[1].0, &fs[1].1);
    m.remove(3);
    m.pop();
    input.extend(m.concat());
    // Frame 2: complete.
    input.extend(frame_msgs(&fs[2].0, &fs[2].1).concat());
    // Frame 3: header lost: rows of no frame, then an End for it.
    let m = frame_msgs(&fs[3].0, &fs[3].1);
    input.extend(m[1..].concat());
    // Frame 4: larger than the buffer.
    let big = FrameHeader {
        seq: 4,
        width: 400,
        height: 300,
        ..fs[0].0
    };
    input.extend(frame_msgs(&big, &vec![9u8; big.frame_bytes()]).concat());
    // A repeated End for an answered frame is ignored.
    input.extend(enc(&HostMsg::End { seq: 4 }));

    let (out, counters) = rig.run(&rig.blob, &input, 200_000);
    let ans = answers(&parse(&out));
    let black = |rows: &Option<Vec<u8>>, n: usize| {
        rows.as_ref()
            .is_some_and(|r| r.len() == n && r.iter().all(|&b| b == 0))
    };
    let n = fs[0].1.len();
    assert_eq!(ans[&0].1.outcome, Outcome::Blacked(FaultCode::Incomplete));
    assert!(black(&ans[&0].0, n) && ans[&0].1.fault_line && ans[&0].1.run == 0);
    assert_eq!(ans[&1].1.outcome, Outcome::Blacked(FaultCode::Incomplete));
    assert!(black(&ans[&1].0, n));
    assert_eq!(ans[&2].1.outcome, Outcome::Masked);
    assert!(!ans[&2].1.fault_line, "a good frame clears the fault line");
    assert_eq!(ans[&3].1.outcome, Outcome::Unknown);
    assert!(ans[&3].0.is_none());
    assert_eq!(
        ans[&4].1.outcome,
        Outcome::Blacked(FaultCode::UnsupportedFrame)
    );
    assert!(black(&ans[&4].0, big.frame_bytes()));
    assert_eq!(ans.len(), 5);
    assert_eq!(
        (
            counters.frames,
            counters.masked,
            counters.blacked,
            counters.unknown
        ),
        (4, 1, 3, 1)
    );
    assert!(counters.unexpected > 0);
}

/// Garbled and truncated traffic: the device never panics, never answers
/// with pixels that the reference pipeline would have blacked out, and
/// every frame it reports masked is byte for byte the reference's.
#[test]
fn garbage_and_truncation_never_leak_unmasked_pixels() {
    let rig = Rig::new();
    let fs = frames(6, PixelFormat::Gray8, Reply::Frame);
    // The reference for each frame on its own history would depend on
    // which frames the device got; with restart on every frame it does not.
    let fs: Vec<_> = fs
        .into_iter()
        .map(|(h, f)| (FrameHeader { restart: true, ..h }, f))
        .collect();
    let want = rig.reference(&fs);
    let mut rng = Noise::new(99);
    let mut masked_total = 0;
    for round in 0..20 {
        let mut input = Vec::new();
        for (h, f) in &fs {
            for m in frame_msgs(h, f) {
                match rng.next() % 8 {
                    0 => input.extend((0..rng.next() % 300).map(|_| rng.next() as u8)),
                    1 => input.extend_from_slice(&m[..1 + (rng.next() as usize % (m.len() - 2))]),
                    2 => {
                        let mut bad = m.clone();
                        let i = 1 + rng.next() as usize % (bad.len() - 2);
                        bad[i] ^= 1 + (rng.next() % 255) as u8;
                        input.extend(bad);
                        continue;
                    }
                    _ => {}
                }
                input.extend(m);
            }
        }
        let (out, counters) = rig.run(&rig.blob, &input, 100_000);
        let ans = answers(&parse(&out));
        for (seq, (rows, report)) in &ans {
            let (ref_pixels, ref_outcome) = &want[*seq as usize];
            match report.outcome {
                Outcome::Masked => {
                    masked_total += 1;
                    assert_eq!(
                        rows.as_deref(),
                        Some(&ref_pixels[..]),
                        "round {round} frame {seq}"
                    );
                    assert_eq!(Ok(u64::from(report.kept_pixels)), *ref_outcome);
                }
                Outcome::Blacked(_) => {
                    assert!(
                        rows.as_ref().unwrap().iter().all(|&b| b == 0),
                        "round {round} frame {seq}"
                    );
                }
                Outcome::Unknown => assert!(rows.is_none()),
            }
        }
        assert!(counters.bad_messages + counters.overflows > 0 || ans.len() == fs.len());
    }
    assert!(
        masked_total > 40,
        "too few frames came through: {masked_total}"
    );
}

/// Pure garbage, any length: no panic, and nothing but well-formed answers.
#[test]
fn random_bytes_never_panic() {
    let rig = Rig::new();
    let mut rng = Noise::new(5);
    for _ in 0..200 {
        let n = (rng.next() % 20_000) as usize;
        let zeros = 2 + rng.next() % 200;
        let input: Vec<u8> = (0..n)
            .map(|_| {
                if rng.next().is_multiple_of(zeros) {
                    0
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let (out, counters) = rig.run(&rig.blob, &input, 50_000);
        assert!(parse(&out).is_empty());
        assert_eq!(counters.frames, 0);
    }
}

extern crate std;
use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::pipeline::{Config, NoProbe, load_model};
use crate::testing::{
    FlagPin, Noise, OwnedWorkspace, ThresholdNet, fan_regions, frame, is_text, slot,
};
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
fn headers_larger_than_the_buffer_get_a_report_alone() {
    // Regression (fuzzing, firmware/fuzz device_poll): three headers the
    // buffer cannot hold, each abandoned for the next or ended, made the
    // device send back 250 MB of black rows and spans (a 30 s timeout).
    let rig = Rig::new();
    let headers = [
        (322_648_891, 4883, 4883, PixelFormat::Gray8, Reply::Frame),
        (4_282_357_819, 3840, 65534, PixelFormat::Gray8, Reply::Frame),
        (993_737_531, 59, 39125, PixelFormat::Gray8, Reply::Spans),
        (7, 65535, 65535, PixelFormat::Rgb888, Reply::Frame),
    ];
    let mut input = Vec::new();
    for (seq, width, height, format, reply) in headers {
        let h = FrameHeader {
            seq,
            width,
            height,
            format,
            reply,
            restart: true,
        };
        input.extend(enc(&HostMsg::Frame(h)));
    }
    input.extend(enc(&HostMsg::End { seq: 7 }));
    let (out, counters) = rig.run(&rig.blob, &input, 64_502);
    assert!(
        out.len() < 1024,
        "{} bytes sent for four headers",
        out.len()
    );
    let got = parse(&out);
    assert_eq!(got.len(), 4, "{got:?}");
    for (g, (seq, ..)) in got.iter().zip(headers) {
        let Got::Done(r) = g else { panic!("{g:?}") };
        assert_eq!(r.seq, seq);
        assert!(matches!(r.outcome, Outcome::Blacked(_)) && r.fault_line);
    }
    assert!(matches!(
        got[3],
        Got::Done(FrameReport {
            outcome: Outcome::Blacked(FaultCode::UnsupportedFrame),
            ..
        })
    ));
    assert_eq!((counters.frames, counters.blacked), (4, 4));
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
    // A frame the buffer cannot hold gets its report alone.
    assert!(ans[&4].0.is_none());
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

/// What the soak did to one frame on its way to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    /// Sent as is.
    None,
    /// One byte of one message changed.
    Garbled,
    /// 1..=8 bytes cut from inside one message.
    DroppedBytes,
    /// One message cut short (its closing delimiter lost).
    Truncated,
    /// One message lost whole.
    LostMessage,
    /// Random bytes between two messages.
    Noise,
    /// More non-zero bytes than the receive buffer holds, between messages.
    Overflow,
    /// The header claims more rows than are sent.
    TallerDeclared,
    /// The header claims fewer rows than are sent: at a chunk boundary
    /// (the frame completes early) or inside a chunk (it cannot).
    ShorterDeclared,
    /// The header's width is not the rows' width.
    WrongWidth,
    /// Larger than the device's frame buffer (the rows are sent too).
    Oversize,
    /// A header with no pixels.
    ZeroSize,
    /// The first row chunk sent twice.
    DuplicateChunk,
    /// The first two row chunks swapped.
    SwappedChunks,
    /// An `End` for an earlier frame after this one.
    StaleEnd,
}

const SOAK_FAULTS: [Fault; 14] = [
    Fault::Garbled,
    Fault::DroppedBytes,
    Fault::Truncated,
    Fault::LostMessage,
    Fault::Noise,
    Fault::Overflow,
    Fault::TallerDeclared,
    Fault::ShorterDeclared,
    Fault::WrongWidth,
    Fault::Oversize,
    Fault::ZeroSize,
    Fault::DuplicateChunk,
    Fault::SwappedChunks,
    Fault::StaleEnd,
];

/// The soak's frames: small, so 10,000 of them take seconds.
const SOAK_W: u16 = 80;
const SOAK_H: u16 = 60;
/// The soak device's frame buffer: an 80 × 60 RGB frame fits, an
/// [`Fault::Oversize`] one (18,000 bytes) does not.
const SOAK_BUFFER: usize = 16_384;

/// The messages of a frame whose header `h` may misstate it: the rows of
/// `data` in chunks of whole rows of `row_bytes` (the frame as it really
/// is, at most [`MAX_CHUNK_BYTES`] a chunk), then the End.
fn frame_msgs_as(h: &FrameHeader, data: &[u8], row_bytes: usize) -> Vec<Vec<u8>> {
    let mut out = vec![enc(&HostMsg::Frame(*h))];
    let per = MAX_CHUNK_BYTES / row_bytes;
    for (i, chunk) in data.chunks(per * row_bytes).enumerate() {
        out.push(enc(&HostMsg::Rows {
            seq: h.seq,
            first_row: (i * per) as u16,
            data: chunk,
        }));
    }
    out.push(enc(&HostMsg::End { seq: h.seq }));
    out
}

/// One frame of the soak as sent.
struct Sent {
    header: FrameHeader,
    /// Whether its header reached the device intact.
    header_intact: bool,
    /// The frame the device assembles if every row it needs arrives in
    /// order (the declared layout's bytes), else `None`.
    assembled: Option<Vec<u8>>,
}

/// Messages that crossed the link intact.
#[derive(Default)]
struct Intact {
    msgs: u64,
    headers: u32,
    rows: u32,
}

/// Frame `s` of the soak with `fault` done to it, appended to `input`;
/// the `last` asks for its rows back (others, one in ten, only a report).
fn soak_frame(
    s: u32,
    fault: Fault,
    last: bool,
    rng: &mut Noise,
    input: &mut Vec<u8>,
    intact: &mut Intact,
) -> Sent {
    let format = if rng.next().is_multiple_of(5) {
        PixelFormat::Rgb888
    } else {
        PixelFormat::Gray8
    };
    let reply = if rng.next().is_multiple_of(10) && !last {
        Reply::Report
    } else {
        Reply::Frame
    };
    let mut actual = FrameHeader {
        seq: s,
        width: SOAK_W,
        height: SOAK_H,
        format,
        reply,
        // A new clip every 100 frames; the smoothing runs in between.
        restart: s.is_multiple_of(100),
    };
    if fault == Fault::Oversize {
        // 18,000 bytes either way.
        actual.width = match format {
            PixelFormat::Gray8 => 300,
            PixelFormat::Rgb888 => 100,
        };
        assert!(actual.frame_bytes() > SOAK_BUFFER);
    }
    // The fan drifts, then jumps back every 50 frames.
    let cx = 0.45 + 0.002 * (s % 50) as f32;
    let truth = fan_regions(actual.width, actual.height, cx, 0.85);
    let data = frame(
        actual.width,
        actual.height,
        format,
        &truth,
        u64::from(s),
        s.is_multiple_of(3),
    );
    let rb = actual.layout().row_bytes();
    let per = MAX_CHUNK_BYTES / rb;
    let mut declared = actual;
    let mut assembled = Some(data.clone());
    match fault {
        Fault::TallerDeclared => {
            declared.height += 1 + (rng.next() % 8) as u16;
            assembled = None;
        }
        Fault::ShorterDeclared if rng.next().is_multiple_of(2) => {
            // At a chunk boundary: the frame is complete that early.
            let rows = per * (1 + rng.next() as usize % ((SOAK_H as usize - 1) / per));
            declared.height = rows as u16;
            assembled = Some(data[..rows * rb].to_vec());
        }
        Fault::ShorterDeclared => {
            // Inside a chunk: the chunk does not fit.
            let mut rows = per;
            while rows.is_multiple_of(per) {
                rows = per + 1 + rng.next() as usize % (SOAK_H as usize - per - 1);
            }
            declared.height = rows as u16;
            assembled = None;
        }
        Fault::WrongWidth => {
            // None of these divides a chunk into whole rows.
            declared.width = [SOAK_W - 1, SOAK_W + 1, SOAK_W + 3][(rng.next() % 3) as usize];
            assembled = None;
        }
        Fault::Oversize => {
            if rng.next().is_multiple_of(4) {
                // Absurd: a row does not fit a chunk, so no black rows
                // come back, only the report.
                declared.width = u16::MAX;
                declared.height = u16::MAX;
            }
            assembled = None;
        }
        Fault::ZeroSize => {
            if rng.next().is_multiple_of(2) {
                declared.width = 0;
            } else {
                declared.height = 0;
            }
            assembled = None;
        }
        _ => {}
    }
    let mut msgs = frame_msgs_as(&declared, &data, rb);
    let rows_in = msgs.len() - 2;
    let mut header_intact = true;
    // The one message sent damaged, if any: its index and bytes.
    let mut damaged: Option<(usize, Vec<u8>)> = None;
    match fault {
        Fault::DuplicateChunk => {
            msgs.insert(2, msgs[1].clone());
            assembled = None;
        }
        Fault::SwappedChunks => {
            msgs.swap(1, 2);
            assembled = None;
        }
        Fault::Garbled | Fault::DroppedBytes | Fault::Truncated | Fault::LostMessage => {
            let j = (rng.next() % msgs.len() as u64) as usize;
            let m = &msgs[j];
            // The body: every byte but the two delimiters.
            let body = m.len() - 2;
            let bad = match fault {
                Fault::Garbled => {
                    let mut b = m.clone();
                    b[1 + rng.next() as usize % body] ^= 1 + (rng.next() % 255) as u8;
                    b
                }
                Fault::DroppedBytes => {
                    let n = 1 + (rng.next() as usize % 8).min(body - 1);
                    let at = 1 + rng.next() as usize % (body - n + 1);
                    let mut b = m.clone();
                    b.drain(at..at + n);
                    b
                }
                Fault::Truncated => m[..1 + rng.next() as usize % body].to_vec(),
                _ => Vec::new(),
            };
            if j == 0 {
                header_intact = false;
                assembled = None;
            } else if j <= rows_in {
                assembled = None;
            }
            damaged = Some((j, bad));
        }
        _ => {}
    }
    // Garbage between two messages (or after the last one).
    let junk: Vec<u8> = match fault {
        Fault::Noise => (0..1 + rng.next() % 300)
            .map(|_| rng.next() as u8)
            .collect(),
        Fault::Overflow => (0..MAX_ENCODED_BYTES as u64 + 1 + rng.next() % 4000)
            .map(|_| 1 | rng.next() as u8)
            .collect(),
        _ => Vec::new(),
    };
    let junk_at = (rng.next() % (msgs.len() as u64 + 1)) as usize;
    for (j, m) in msgs.iter().enumerate() {
        if j == junk_at {
            input.extend_from_slice(&junk);
        }
        match &damaged {
            Some((d, bad)) if *d == j => input.extend_from_slice(bad),
            _ => {
                input.extend_from_slice(m);
                intact.msgs += 1;
                intact.headers += u32::from(j == 0);
                intact.rows += u32::from(j > 0 && j + 1 < msgs.len());
            }
        }
    }
    if junk_at == msgs.len() {
        input.extend_from_slice(&junk);
    }
    if fault == Fault::StaleEnd {
        let old = s.saturating_sub(1 + (rng.next() % 5) as u32);
        input.extend(enc(&HostMsg::End { seq: old }));
        intact.msgs += 1;
    }
    Sent {
        header: declared,
        header_intact,
        assembled,
    }
}

/// Zero-delimited segments with at least one byte, counted across calls:
/// each intact message is one, each damaged stretch at least one.
#[derive(Default)]
struct Segments {
    open: usize,
    count: u64,
}

impl Segments {
    fn eat(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == 0 {
                self.count += u64::from(self.open > 0);
                self.open = 0;
            } else {
                self.open += 1;
            }
        }
    }
}

/// The soak's checks of the device's answers, with a mirror pipeline
/// that runs, in the device's order, exactly the frames the device says
/// it ran, on the bytes it should have assembled.
struct Answers<'m, 'b> {
    mirror: Pipeline<'m, 'b, FlagPin>,
    /// Rows of the frame being answered.
    rows: Option<(u32, Vec<u8>)>,
    masked: u32,
    blacked: u32,
    unknown: u32,
    /// Pipeline run of each frame the device processed.
    processed: BTreeMap<u32, u32>,
    outcomes: BTreeMap<std::string::String, u32>,
    status: Option<Counters>,
}

impl Answers<'_, '_> {
    fn take(&mut self, g: Got, sent: &[Sent]) {
        match g {
            Got::Rows(s, first, data) => match &mut self.rows {
                Some((p, buf)) if *p == s => {
                    let rb = sent[s as usize].header.layout().row_bytes();
                    assert_eq!(first as usize * rb, buf.len(), "frame {s}: rows in order");
                    buf.extend_from_slice(&data);
                }
                None => {
                    assert_eq!(first, 0, "frame {s}: rows start at 0");
                    self.rows = Some((s, data));
                }
                Some((p, _)) => panic!("rows of frame {s} inside frame {p}'s answer"),
            },
            Got::Done(r) => {
                let rows = self.rows.take().map(|(p, buf)| {
                    assert_eq!(p, r.seq, "rows of frame {p} answered as {}", r.seq);
                    buf
                });
                self.done(r, rows, &sent[r.seq as usize]);
            }
            Got::Status(c) => self.status = Some(c),
            g => panic!("unexpected answer {g:?}"),
        }
    }

    fn done(&mut self, r: FrameReport, rows: Option<Vec<u8>>, s: &Sent) {
        let (seq, h) = (r.seq, s.header);
        if r.outcome == Outcome::Unknown {
            self.unknown += 1;
            assert!(rows.is_none() && r.run == 0, "frame {seq}: {r:?}");
            return;
        }
        assert!(s.header_intact, "frame {seq} answered without its header");
        assert_eq!(r.fault_line, r.outcome != Outcome::Masked, "{r:?}");
        match r.outcome {
            Outcome::Masked => self.masked += 1,
            _ => self.blacked += 1,
        }
        *self
            .outcomes
            .entry(std::format!("{:?}", r.outcome))
            .or_default() += 1;
        if r.run != 0 {
            // The pipeline ran: the mirror must agree exactly.
            let mut want = s
                .assembled
                .clone()
                .unwrap_or_else(|| panic!("frame {seq} processed: {r:?}"));
            let m = self
                .mirror
                .process(&mut want, h.layout(), h.restart, &mut NoProbe);
            assert_eq!(m.run, r.run, "frame {seq}");
            match (m.outcome, r.outcome) {
                (Ok(kept), Outcome::Masked) => {
                    assert_eq!(u64::from(r.kept_pixels), kept, "frame {seq}")
                }
                (Err(f), Outcome::Blacked(g)) => assert_eq!(f, g, "frame {seq}"),
                (m, d) => panic!("frame {seq}: mirror {m:?}, device {d:?}"),
            }
            assert!(
                self.processed.insert(seq, r.run).is_none(),
                "frame {seq} twice"
            );
            if let Some(rows) = &rows {
                assert!(rows == &want, "frame {seq} differs from the mirror");
            }
        } else {
            let Outcome::Blacked(f) = r.outcome else {
                panic!("frame {seq} masked without a pipeline run")
            };
            self.mirror.fail(f);
        }
        match (h.reply, rows) {
            (Reply::Frame, Some(rows)) => {
                assert_eq!(rows.len(), h.frame_bytes(), "frame {seq}");
                if r.outcome != Outcome::Masked {
                    assert!(rows.iter().all(|&b| b == 0), "frame {seq} not black");
                }
                // Never raw pixels: the corner text is always gone.
                let bpp = h.format.bytes_per_pixel();
                for y in 0..u32::from(h.height) {
                    for x in 0..u32::from(h.width) {
                        if is_text(h.width, h.height, x, y) {
                            let i = (y as usize * h.width as usize + x as usize) * bpp;
                            assert_eq!(rows[i], 0, "frame {seq}: text at {x},{y}");
                        }
                    }
                }
            }
            // No rows for a header without pixels, with rows wider than
            // a chunk, or larger than the buffer.
            (Reply::Frame, None) => assert!(
                h.frame_bytes() == 0 || h.rows_per_chunk() == 0 || h.frame_bytes() > SOAK_BUFFER,
                "frame {seq}: no rows"
            ),
            (_, rows) => assert!(rows.is_none(), "frame {seq}"),
        }
    }
}

/// Issue 19's soak: 10,000 frames through a link that garbles bytes,
/// drops bytes and messages, cuts messages short, inserts noise and
/// overlong garbage, and sends headers that misstate the frame (taller,
/// shorter, wrong width, larger than the buffer, empty), duplicated and
/// swapped chunks and stale Ends, interleaved with good frames (about
/// 40 %), then one clean frame.
///
/// Checked exactly (see [`Answers`]): masked frames byte for byte against
/// the mirror pipeline and never with the corner "text" left, blacked
/// frames all zero, every frame whose rows all arrived processed and no
/// other; the counters add up to what was sent (headers, damaged
/// segments, answers); the clean frame at the end is masked.
#[test]
fn soak_ten_thousand_frames_over_a_faulty_link() {
    const FRAMES: u32 = 10_000;
    const BATCH: u32 = 250;
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let model = || load_model(&blob, SignaturePolicy::Optional);
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let pipeline = Pipeline::new(model(), ows.ws(), FlagPin::default(), Config::default());
    let mut fb = vec![0u8; SOAK_BUFFER];
    let mut dev = Device::new(pipeline, &mut fb, NoProbe);
    let mut mirror_ws = OwnedWorkspace::new(40 * 30, 8192);
    let mut answers = Answers {
        mirror: Pipeline::new(
            model(),
            mirror_ws.ws(),
            FlagPin::default(),
            Config::default(),
        ),
        rows: None,
        masked: 0,
        blacked: 0,
        unknown: 0,
        processed: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        status: None,
    };

    let mut rng = Noise::new(0x50a4);
    let mut sent: Vec<Sent> = Vec::new();
    let mut faults: BTreeMap<Fault, u32> = BTreeMap::new();
    let mut intact = Intact::default();
    let mut segments = Segments::default();
    let mut seq = 0u32;
    while seq <= FRAMES {
        let end = (seq + BATCH).min(FRAMES + 1);
        let mut input = Vec::new();
        for s in seq..end {
            let fault = if s == FRAMES || rng.next() % 10 < 4 {
                Fault::None
            } else {
                SOAK_FAULTS[(rng.next() % SOAK_FAULTS.len() as u64) as usize]
            };
            *faults.entry(fault).or_default() += 1;
            let last = s == FRAMES;
            sent.push(soak_frame(
                s,
                fault,
                last,
                &mut rng,
                &mut input,
                &mut intact,
            ));
        }
        if end == FRAMES + 1 {
            input.extend(enc(&HostMsg::Status));
            intact.msgs += 1;
        }
        segments.eat(&input);
        // Through the link in uneven pieces.
        let mut out = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = (1 + (rng.next() % 3000) as usize).min(rest.len());
            assert_eq!(dev.feed(&rest[..n], &mut out), Ok(Event::Continue));
            rest = &rest[n..];
        }
        for g in parse(&out) {
            answers.take(g, &sent);
        }
        seq = end;
    }

    // Every frame whose rows all arrived reached the pipeline, no other.
    for (i, s) in sent.iter().enumerate() {
        let ran = answers.processed.contains_key(&(i as u32));
        assert_eq!(s.assembled.is_some(), ran, "frame {i}");
    }
    let c = dev.counters();
    assert_eq!(
        answers.status,
        Some(c),
        "the status message is the counters"
    );
    assert_eq!(c.frames, intact.headers, "headers received");
    assert_eq!(c.masked + c.blacked, c.frames, "every frame answered");
    assert_eq!(
        (c.masked, c.blacked, c.unknown),
        (answers.masked, answers.blacked, answers.unknown)
    );
    let damaged = segments.count - intact.msgs;
    assert_eq!(
        u64::from(c.bad_messages) + u64::from(c.overflows),
        damaged,
        "damaged messages"
    );
    assert!(c.overflows > 0 && c.bad_messages > 0 && c.unexpected > 0 && c.unknown > 0);
    assert!(c.unexpected <= intact.rows);
    // The clean last frame: masked as the mirror masks it (rows compared).
    assert_eq!(sent[FRAMES as usize].header.reply, Reply::Frame);
    assert_eq!(answers.processed.get(&FRAMES), Some(&answers.mirror.runs()));
    assert!(!answers.mirror.fault_line(), "the last frame is masked");
    assert!(!dev.pipeline().fault_line());
    let good = faults[&Fault::None];
    assert!(
        answers.masked > good / 2,
        "too few frames masked: {} of {good} good ones",
        answers.masked
    );
    std::eprintln!(
        "soak: {} frames, faults {faults:?}; answers {:?}, {} unknown; \
         pipeline runs {}; counters {c:?}; damaged segments {damaged}",
        FRAMES + 1,
        answers.outcomes,
        answers.unknown,
        answers.processed.len(),
    );
}

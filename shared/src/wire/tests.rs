extern crate std;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::geometry::Span;
use crate::testutil::Rng;

fn enc<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut scratch = vec![0u8; MAX_MESSAGE_BYTES];
    let mut out = vec![0u8; MAX_ENCODED_BYTES];
    let n = encode(msg, &mut scratch, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Every frame in `stream`, decoded (or the error), in order.
fn frames_of(stream: &[u8]) -> Vec<Result<Vec<u8>, ()>> {
    let mut rx: Receiver<MAX_ENCODED_BYTES> = Receiver::new();
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (got, r) = rx.push(rest);
        rest = r;
        match got {
            Some(Received::Frame(f)) => out.push(Ok(f.to_vec())),
            Some(Received::Overflow) => out.push(Err(())),
            None => {}
        }
    }
    out
}

fn header(seq: u32) -> FrameHeader {
    FrameHeader {
        seq,
        width: 640,
        height: 480,
        format: PixelFormat::Rgb888,
        reply: Reply::Frame,
        restart: seq == 0,
    }
}

#[test]
fn every_message_round_trips() {
    let rows = [7u8; MAX_CHUNK_BYTES];
    let host = [
        HostMsg::Hello {
            version: PROTOCOL_VERSION,
        },
        HostMsg::Frame(header(3)),
        HostMsg::Rows {
            seq: u32::MAX,
            first_row: u16::MAX,
            data: &rows,
        },
        HostMsg::End { seq: 9 },
        HostMsg::Status,
        HostMsg::Shutdown,
    ];
    for m in &host {
        let mut e = enc(m);
        assert_eq!((e[0], e[e.len() - 1]), (0, 0));
        assert!(e[1..e.len() - 1].iter().all(|&b| b != 0));
        let n = e.len();
        let back: HostMsg<'_> = decode(&mut e[1..n - 1]).unwrap();
        assert_eq!(&back, m);
    }
    let mut spans = RowSpans::new();
    spans.push(Span { start: 3, end: 600 }).unwrap();
    let counters = Counters {
        frames: 1,
        masked: 2,
        blacked: 3,
        unknown: 4,
        bad_messages: 5,
        overflows: 6,
        unexpected: 7,
    };
    let device = [
        DeviceMsg::Hello(DeviceInfo {
            version: PROTOCOL_VERSION,
            max_frame_bytes: 2_359_296,
            max_chunk_bytes: MAX_CHUNK_BYTES as u32,
            model: ModelStatus::Failed(FaultCode::Model(BlobError::InvalidGraph(
                crate::engine::GraphError::TooLarge,
            ))),
            build: 0x0123_4567_89ab_cdef,
        }),
        DeviceMsg::Rows {
            seq: 1,
            first_row: 2,
            data: &rows,
        },
        DeviceMsg::Spans {
            seq: 1,
            row: 479,
            spans,
        },
        DeviceMsg::Done(FrameReport {
            seq: 1,
            outcome: Outcome::Blacked(FaultCode::Implausible(Implausibility::Apex)),
            fault_line: true,
            kept_pixels: 0,
            run: 12,
            counters,
        }),
        DeviceMsg::Done(FrameReport {
            seq: 2,
            outcome: Outcome::Blacked(FaultCode::Fit(FitError::EmptyMap)),
            fault_line: true,
            kept_pixels: 0,
            run: 0,
            counters,
        }),
        DeviceMsg::Status(counters),
        DeviceMsg::Bye(counters),
    ];
    for m in &device {
        let mut e = enc(m);
        let n = e.len();
        let back: DeviceMsg<'_> = decode(&mut e[1..n - 1]).unwrap();
        assert_eq!(&back, m);
    }
}

#[test]
fn chunking_respects_the_limit() {
    let h = header(0);
    assert_eq!(h.frame_bytes(), 921_600);
    assert_eq!(h.rows_per_chunk(), 2);
    let huge = FrameHeader { width: 2000, ..h };
    assert_eq!(huge.rows_per_chunk(), 0);
    // The largest header's size is exact on 64 bits and saturates on the
    // cart's 32 (never wraps to a size that would fit a buffer).
    let max = FrameHeader {
        width: u16::MAX,
        height: u16::MAX,
        format: PixelFormat::Rgb888,
        ..h
    };
    let exact = 65_535u64 * 65_535 * 3;
    assert_eq!(max.frame_bytes() as u64, exact.min(usize::MAX as u64));
}

#[test]
fn small_buffers_are_errors_not_panics() {
    let rows = [1u8; 100];
    let m = HostMsg::Rows {
        seq: 0,
        first_row: 0,
        data: &rows,
    };
    let mut scratch = [0u8; 50];
    let mut out = [0u8; 200];
    assert_eq!(
        encode(&m, &mut scratch, &mut out),
        Err(WireError::BufferTooSmall)
    );
    let mut scratch = [0u8; 200];
    let mut out = [0u8; 60];
    assert_eq!(
        encode(&m, &mut scratch, &mut out),
        Err(WireError::BufferTooSmall)
    );
    let mut scratch = [0u8; 106];
    assert_eq!(
        encode(&m, &mut scratch, &mut [0u8; 200]),
        Err(WireError::BufferTooSmall)
    );
}

/// Random bytes, random lengths, few or many zeros: the receiver and the
/// decoder never panic, and nothing random passes the CRC.
#[test]
fn garbage_never_panics_and_never_decodes() {
    let mut rng = Rng::new(0x5eed);
    let mut decoded = 0;
    for round in 0..3000 {
        let len = rng.usize(0, if round % 10 == 0 { 12_000 } else { 300 });
        let zero_every = rng.usize(2, 2000);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.usize(0, zero_every) == 0 {
                    0
                } else {
                    rng.next_u64() as u8
                }
            })
            .collect();
        for f in frames_of(&bytes).into_iter().flatten() {
            let mut f = f;
            if decode::<HostMsg<'_>>(&mut f.clone()).is_ok() {
                decoded += 1;
            }
            let _ = decode::<DeviceMsg<'_>>(&mut f);
        }
    }
    assert_eq!(decoded, 0);
}

/// Garbage, truncated messages and damaged messages interleaved with
/// good ones: every good message (sent with its leading zero) comes
/// through exactly once and in order, nothing else does.
#[test]
fn resynchronises_after_garbage_truncation_and_damage() {
    let mut rng = Rng::new(7);
    let rows: Vec<u8> = rng.bytes(3000);
    for round in 0..300 {
        let mut stream = Vec::new();
        let mut sent = Vec::new();
        for k in 0..6u32 {
            let seq = round * 10 + k;
            let m = match k % 3 {
                0 => HostMsg::Frame(header(seq)),
                1 => {
                    let n = rng.usize(1, 3000);
                    HostMsg::Rows {
                        seq,
                        first_row: k as u16,
                        data: &rows[..n],
                    }
                }
                _ => HostMsg::End { seq },
            };
            let good = enc(&m);
            match rng.usize(0, 4) {
                // Garbage before the message (zeros allowed).
                0 => {
                    let n = rng.usize(1, 5000);
                    stream.extend(rng.bytes(n));
                }
                // A truncated copy of the message before it.
                // (At least the last content byte is cut: a copy missing
                // only its trailing zero would be the whole message.)
                1 => {
                    let cut = rng.usize(1, good.len() - 2);
                    stream.extend_from_slice(&good[..cut]);
                }
                // A damaged copy: one byte changed (not to zero, which
                // would only split it into two damaged frames).
                2 => {
                    let mut bad = good.clone();
                    let i = rng.usize(1, bad.len() - 2);
                    bad[i] = bad[i].wrapping_add(rng.usize(1, 255) as u8).max(1);
                    if bad[i] == good[i] {
                        bad[i] ^= 0x80;
                    }
                    stream.extend_from_slice(&bad);
                }
                _ => {}
            }
            stream.extend_from_slice(&good);
            sent.push(m);
        }
        let mut got = Vec::new();
        let mut storage = frames_of(&stream);
        for f in storage.iter_mut().flatten() {
            if let Ok(m) = decode::<HostMsg<'_>>(f) {
                got.push(m);
            }
        }
        assert!(
            got == sent,
            "round {round}: {} messages through, {} sent",
            got.len(),
            sent.len()
        );
    }
}

#[test]
fn overlong_frames_are_dropped_up_to_the_next_zero() {
    let mut rx: Receiver<8> = Receiver::new();
    let (got, rest) = rx.push(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 5, 6, 0]);
    assert_eq!(got, Some(Received::Overflow));
    let (got, rest) = rx.push(rest);
    assert_eq!(got, Some(Received::Frame(&mut [5, 6][..])));
    assert!(rest.is_empty());
    // Empty frames are skipped; a partial frame waits for more bytes.
    let (got, rest) = rx.push(&[0, 0, 0, 9]);
    assert_eq!((got, rest.len()), (None, 0));
    let (got, _) = rx.push(&[9, 0]);
    assert_eq!(got, Some(Received::Frame(&mut [9, 9][..])));
}

//! Writes the committed seed corpora of the raw-byte targets from real
//! encoders (so the seeds are real fixtures, not hand-made bytes):
//!
//!   cd shared/fuzz && cargo +nightly run --example make_seeds -- corpus
//!
//! - `blob_decode/`: the firmware tests' one-conv threshold network as an
//!   unsigned and a signed blob, and a four-op model (conv, pool, upsample,
//!   add) with every header field in use;
//! - `slot_header/`: the threshold blob in a slot (header, blob, erased
//!   flash), and an erased slot;
//! - `wire_decode/`: a recorded host → device exchange (hello, a 16 × 8
//!   grey frame in two chunks, end, status; mode byte 0: stream) and one
//!   rows message body (mode byte 1: CRC added by the target).
//!
//! The structured targets' seeds (`blob_structured/`, and the firmware's
//! `device_poll/`) are `cargo fuzz cmin` output of short runs instead:
//! their inputs are `arbitrary` byte strings, not files of any format.

use std::fs;
use std::path::Path;

use ed25519_dalek::SigningKey;
use sonomask_core::PixelFormat;
use sonomask_core::blob::{ModelDesc, encode_into, sign_into};
use sonomask_core::engine::{Add, Conv2d, Op, Shape};
use sonomask_core::quant::{AddRequant, QuantParams, Requant};
use sonomask_core::slot::slot_header;
use sonomask_core::wire::{
    self, FrameHeader, HostMsg, MAX_ENCODED_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, Reply,
};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
    println!("{} ({} bytes)", dir.join(name).display(), bytes.len());
}

fn enc(m: &HostMsg<'_>) -> Vec<u8> {
    let mut scratch = vec![0u8; MAX_MESSAGE_BYTES];
    let mut out = vec![0u8; MAX_ENCODED_BYTES];
    let n = wire::encode(m, &mut scratch, &mut out).unwrap();
    out.truncate(n);
    out
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let root = Path::new(&root);

    // The threshold network of firmware/src/testing.rs, 40 × 30.
    let rq = Requant::from_real((1.0 / 255.0) * (1.0 / (9.0 * 127.0)) / (2.0 / 255.0));
    let (w9, bias, mult, shift) = (
        [127u8; 9],
        (-1143 * 70i32).to_le_bytes(),
        rq.multiplier.to_le_bytes(),
        [rq.shift as u8],
    );
    let conv = Conv2d {
        input: 0,
        in_c: 1,
        out_c: 1,
        k: 3,
        stride: 1,
        relu: false,
        output: QuantParams::new(2.0 / 255.0, 0),
        weights: &w9,
        bias: &bias,
        multiplier: &mult,
        shift: &shift,
    };
    let input_quant = QuantParams::new(1.0 / 255.0, -128);
    let ops = [Op::Conv2d(conv)];
    let desc = ModelDesc {
        arch: "test-threshold",
        input_shape: Shape::new(1, 30, 40),
        input_quant,
        provenance: [7; 32],
        arena_bytes: None,
        ops: &ops,
    };
    let mut buf = vec![0u8; 4096];
    let n = encode_into(&desc, &mut buf).unwrap();
    let threshold = buf[..n].to_vec();
    let dir = root.join("blob_decode");
    write(&dir, "threshold-40x30", &threshold);
    let key = SigningKey::from_bytes(&[0x5a; 32]);
    let n = sign_into(&desc, &key, &mut buf).unwrap();
    write(&dir, "threshold-40x30-signed", &buf[..n]);

    // conv(1→2, stride 2, relu) → pool → upsample → add(itself): every
    // op kind but concat, on a 2-channel 8 × 8 input, 512 bytes of arena
    // declared beyond the plan.
    let w2: Vec<u8> = (0..2 * 9 * 2).map(|i| (i * 37 % 255) as u8).collect();
    let b2: Vec<u8> = [100i32, -100]
        .iter()
        .flat_map(|b| b.to_le_bytes())
        .collect();
    let m2: Vec<u8> = [rq.multiplier, rq.multiplier]
        .iter()
        .flat_map(|m| m.to_le_bytes())
        .collect();
    let s2 = [rq.shift as u8; 2];
    let q = QuantParams::new(0.05, -3);
    let ops = [
        Op::Conv2d(Conv2d {
            input: 0,
            in_c: 2,
            out_c: 2,
            k: 3,
            stride: 2,
            relu: true,
            output: q,
            weights: &w2,
            bias: &b2,
            multiplier: &m2,
            shift: &s2,
        }),
        Op::MaxPool2x2 { input: 1 },
        Op::Upsample2x { input: 2 },
        Op::Add(Add {
            a: 3,
            b: 1,
            output: q,
            requant: AddRequant::new(q, q, q),
            relu: false,
        }),
    ];
    let desc = ModelDesc {
        arch: "seed-four-ops",
        input_shape: Shape::new(2, 8, 8),
        input_quant,
        provenance: [0xab; 32],
        arena_bytes: Some(4096),
        ops: &ops,
    };
    let n = encode_into(&desc, &mut buf).unwrap();
    write(&dir, "four-ops-2x8x8", &buf[..n]);

    let dir = root.join("slot_header");
    let mut slot = slot_header(threshold.len()).unwrap().to_vec();
    slot.extend_from_slice(&threshold);
    slot.extend_from_slice(&[0xFF; 16]);
    write(&dir, "threshold-slot", &slot);
    write(&dir, "erased", &[0xFF; 16]);

    let dir = root.join("wire_decode");
    let h = FrameHeader {
        seq: 1,
        width: 16,
        height: 8,
        format: PixelFormat::Gray8,
        reply: Reply::Frame,
        restart: true,
    };
    let pixels: Vec<u8> = (0..16 * 8).map(|i| (i * 7 % 256) as u8).collect();
    let mut stream = vec![0u8]; // mode: stream
    stream.extend(enc(&HostMsg::Hello {
        version: PROTOCOL_VERSION,
    }));
    stream.extend(enc(&HostMsg::Frame(h)));
    for (i, c) in pixels.chunks(64).enumerate() {
        stream.extend(enc(&HostMsg::Rows {
            seq: 1,
            first_row: (i * 4) as u16,
            data: c,
        }));
    }
    stream.extend(enc(&HostMsg::End { seq: 1 }));
    stream.extend(enc(&HostMsg::Status));
    write(&dir, "host-exchange", &stream);
    let mut body = vec![1u8]; // mode: message body
    body.extend(
        postcard_body(&HostMsg::Rows {
            seq: 1,
            first_row: 0,
            data: &pixels[..32],
        })
        .iter(),
    );
    write(&dir, "rows-body", &body);
}

/// The plain postcard body of a message: its wire encoding, COBS-decoded,
/// without the CRC.
fn postcard_body(m: &HostMsg<'_>) -> Vec<u8> {
    let mut e = enc(m);
    let n = e.len();
    let frame = &mut e[1..n - 1];
    let len = cobs_decode(frame);
    frame[..len - 4].to_vec()
}

fn cobs_decode(frame: &mut [u8]) -> usize {
    // `wire::decode` checks and strips the CRC too; here only COBS.
    cobs::decode_in_place(frame).unwrap()
}

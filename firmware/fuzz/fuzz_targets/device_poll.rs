//! The cart's wire-protocol receiver end to end: a byte stream, delivered
//! in fuzzer-chosen read sizes through an embedded-io link, goes into
//! `Device::poll` (frame buffer, pipeline with a small threshold network,
//! fault pin) until the link is drained or the host says shutdown.
//!
//! Random bytes would never pass the wire's CRC-32, so the stream is built
//! with `arbitrary` from actions: well-formed messages (hello, frame
//! headers of any size and format, rows in order or not, end, status,
//! shutdown), whole frames (header, row chunks, end; chunks dropped,
//! swapped or cut as the fuzzer says) with synthetic fan pictures the
//! network can find, message bodies of raw bytes behind a valid CRC, and
//! plain garbage, so framing, resynchronisation and every protocol state
//! are reached.
//!
//! Oracles, besides "no panic": everything the device sends decodes; a
//! frame that is not reported masked comes back all black (rows all zero,
//! no spans) and leaves the fault line raised; a masked frame shows at
//! most its reported kept pixels (rows) or exactly them (spans) and drops
//! the fault line; rows and spans come only for frames reported after
//! them; the counters add up.
#![no_main]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::rc::Rc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sonomask_core::blob::{ModelDesc, SignaturePolicy, crc32, encode_into};
use sonomask_core::engine::{Conv2d, Op, Shape};
use sonomask_core::quant::{QuantParams, Requant};
use sonomask_core::slot::slot_header;
use sonomask_core::wire::{
    self, DeviceMsg, FrameHeader, FrameReport, HostMsg, MAX_CHUNK_BYTES, MAX_ENCODED_BYTES,
    MAX_MESSAGE_BYTES, Outcome, Received, Receiver, Reply,
};
use sonomask_core::{Fan, PixelFormat, Region, Regions};
use sonomask_firmware::pipeline::Workspace;
use sonomask_firmware::{Config, Device, Event, NoProbe, Pipeline, load_model};

/// Largest frame buffer the fuzzer may give the device.
const MAX_BUFFER: usize = 32 * 1024;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbFormat {
    Gray,
    Rgb,
}

impl ArbFormat {
    fn get(self) -> PixelFormat {
        match self {
            ArbFormat::Gray => PixelFormat::Gray8,
            ArbFormat::Rgb => PixelFormat::Rgb888,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbReply {
    Frame,
    Spans,
    Report,
}

impl ArbReply {
    fn get(self) -> Reply {
        match self {
            ArbReply::Frame => Reply::Frame,
            ArbReply::Spans => Reply::Spans,
            ArbReply::Report => Reply::Report,
        }
    }
}

/// What a whole frame's pixels show.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Picture {
    /// A bright speckled fan on dark noise (what the network finds):
    /// apex at `cx`/256 of the width, outer radius `r`/256 of the height.
    Fan { cx: u8, r: u8, seed: u64 },
    /// Noise everywhere.
    Noise { seed: u64 },
    /// One value everywhere.
    Flat(u8),
}

/// How a whole frame's row chunks are sent.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Delivery {
    InOrder,
    DropChunk(u8),
    SwapChunks(u8),
    /// Stop after this many chunks (the end still follows).
    Cut(u8),
    /// Send this chunk twice.
    Repeat(u8),
}

#[derive(Arbitrary, Debug, Clone)]
enum Action {
    Hello {
        version: u16,
    },
    /// A frame with header, rows and (if `end`) its end.
    Frame {
        seq: u8,
        width: u8,
        height: u8,
        format: ArbFormat,
        reply: ArbReply,
        restart: bool,
        picture: Picture,
        delivery: Delivery,
        end: bool,
    },
    /// A header alone, any size.
    Header {
        seq: u32,
        width: u16,
        height: u16,
        format: ArbFormat,
        reply: ArbReply,
        restart: bool,
    },
    /// A rows message alone.
    Rows {
        seq: u32,
        first_row: u16,
        len: u16,
        fill: u8,
    },
    End {
        seq: u32,
    },
    Status,
    Shutdown,
    /// A message body of raw bytes with a valid CRC and framing.
    Body(Vec<u8>),
    /// Bytes on the line as they are (noise, half messages).
    Garbage(Vec<u8>),
    /// The next message's encoding with byte `at` (mod its length)
    /// replaced by `with` (damage on the line).
    Damage {
        at: u16,
        with: u8,
    },
}

#[derive(Arbitrary, Debug)]
enum ModelChoice {
    /// The threshold network over a `(8 + w % 57) × (6 + h % 43)` map.
    Threshold { w: u8, h: u8, threshold: u8 },
    /// An empty slot.
    Empty,
    /// The threshold blob with one byte changed (the CRC catches it).
    Corrupt { at: u16, xor: u8 },
    /// The model, but a workspace arena this much too small.
    ShortArena(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    model: ModelChoice,
    /// Frame buffer bytes: `buffer % (MAX_BUFFER + 1)`.
    buffer: u16,
    /// Bytes per read of the link, cycled (each `1 + n % 512`).
    reads: Vec<u16>,
    smoothing: u8,
    seed: u64,
    actions: Vec<Action>,
}

/// Owned parameters of a one-conv threshold network (logit ∝ the 3×3
/// mean luma minus `threshold`), the firmware tests' model.
struct ThresholdNet {
    weights: [u8; 9],
    bias: [u8; 4],
    multiplier: [u8; 4],
    shift: [u8; 1],
}

impl ThresholdNet {
    fn new(threshold: u8) -> Self {
        let bias = -1143 * i32::from(threshold);
        let rq = Requant::from_real((1.0 / 255.0) * (1.0 / (9.0 * 127.0)) / (2.0 / 255.0));
        Self {
            weights: [127; 9],
            bias: bias.to_le_bytes(),
            multiplier: rq.multiplier.to_le_bytes(),
            shift: [rq.shift as u8],
        }
    }

    /// The slot image (header, blob, erased tail) for a `w × h` map.
    fn slot(&self, w: u16, h: u16) -> Vec<u8> {
        let ops = [Op::Conv2d(Conv2d {
            input: 0,
            in_c: 1,
            out_c: 1,
            k: 3,
            stride: 1,
            relu: false,
            output: QuantParams::new(2.0 / 255.0, 0),
            weights: &self.weights,
            bias: &self.bias,
            multiplier: &self.multiplier,
            shift: &self.shift,
        })];
        let desc = ModelDesc {
            arch: "fuzz-threshold",
            input_shape: Shape::new(1, h, w),
            input_quant: QuantParams::new(1.0 / 255.0, -128),
            provenance: [7; 32],
            arena_bytes: None,
            ops: &ops,
        };
        let mut blob = vec![0u8; 1024];
        let n = encode_into(&desc, &mut blob).expect("the threshold net encodes");
        let mut slot = slot_header(n).expect("small").to_vec();
        slot.extend_from_slice(&blob[..n]);
        slot.resize(slot.len() + 64, 0xFF);
        slot
    }
}

/// Owned buffers for a [`Workspace`].
struct OwnedWorkspace {
    arena: Vec<u8>,
    input: Vec<i8>,
    logits: Vec<i8>,
    map: Vec<u8>,
    labels: Vec<u32>,
    points: Vec<(f32, f32)>,
}

impl OwnedWorkspace {
    fn new(map_pixels: usize, arena: usize) -> Self {
        Self {
            arena: vec![0; arena],
            input: vec![0; map_pixels],
            logits: vec![0; map_pixels],
            map: vec![0; map_pixels],
            labels: vec![0; 3 * map_pixels],
            points: vec![(0.0, 0.0); 6 * map_pixels],
        }
    }

    fn ws(&mut self) -> Workspace<'_> {
        Workspace {
            arena: &mut self.arena,
            input: &mut self.input,
            logits: &mut self.logits,
            map: &mut self.map,
            labels: &mut self.labels,
            points: &mut self.points,
        }
    }
}

/// The fault pin, readable by the harness.
#[derive(Clone, Default)]
struct FlagPin(Rc<Cell<bool>>);

impl embedded_hal::digital::ErrorType for FlagPin {
    type Error = Infallible;
}

impl embedded_hal::digital::OutputPin for FlagPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.set(true);
        Ok(())
    }
}

/// The link: reads hand out the stream in the chosen sizes, writes are
/// collected.
struct Link<'a> {
    input: &'a [u8],
    reads: Vec<usize>,
    next: usize,
    out: Vec<u8>,
}

impl embedded_io::ErrorType for Link<'_> {
    type Error = Infallible;
}

impl embedded_io::Read for Link<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let want = if self.reads.is_empty() {
            buf.len()
        } else {
            self.next = (self.next + 1) % self.reads.len();
            self.reads[self.next]
        };
        let n = want.min(buf.len()).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Link<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// splitmix64, for pictures from a seed.
fn next(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn picture(w: u16, h: u16, format: PixelFormat, p: Picture) -> Vec<u8> {
    let bpp = format.bytes_per_pixel();
    let mut out = vec![0u8; usize::from(w) * usize::from(h) * bpp];
    let (fw, fh) = (f32::from(w), f32::from(h));
    let (fan, mut seed) = match p {
        Picture::Fan { cx, r, seed } => (
            Some(Regions::one(Region::Fan(Fan {
                apex_x: f32::from(cx) / 256.0 * fw,
                apex_y: 0.04 * fh,
                angle_left: -0.7,
                angle_right: 0.7,
                r_inner: 0.0,
                r_outer: (0.3 + f32::from(r) / 256.0) * fh,
                flat_top: None,
                clip: None,
            }))),
            seed,
        ),
        Picture::Noise { seed } => (None, seed),
        Picture::Flat(v) => {
            out.fill(v);
            return out;
        }
    };
    for y in 0..u32::from(h) {
        for x in 0..u32::from(w) {
            let v = match &fan {
                Some(f) if f.contains_pixel(x, y) => 60 + (next(&mut seed) % 161) as u8,
                Some(_) => 1 + (next(&mut seed) % 12) as u8,
                None => next(&mut seed) as u8,
            };
            let i = (y as usize * usize::from(w) + x as usize) * bpp;
            out[i..i + bpp].fill(v);
        }
    }
    out
}

/// Encodes host messages into the stream, applying a pending damage.
struct Stream {
    bytes: Vec<u8>,
    scratch: Vec<u8>,
    out: Vec<u8>,
    damage: Option<(u16, u8)>,
}

impl Stream {
    fn push_encoded(&mut self, n: usize) {
        let msg = &mut self.out[..n];
        if let Some((at, with)) = self.damage.take() {
            msg[usize::from(at) % n] = with;
        }
        self.bytes.extend_from_slice(msg);
    }

    fn msg(&mut self, m: &HostMsg<'_>) {
        let n = wire::encode(m, &mut self.scratch, &mut self.out).expect("host messages encode");
        self.push_encoded(n);
    }

    fn body(&mut self, body: &[u8]) {
        let body = &body[..body.len().min(MAX_MESSAGE_BYTES - 4)];
        let mut plain = body.to_vec();
        plain.extend_from_slice(&crc32(body).to_le_bytes());
        self.out[0] = 0;
        let m = cobs::encode(&plain, &mut self.out[1..]);
        self.out[m + 1] = 0;
        self.push_encoded(m + 2);
    }
}

fn build_stream(actions: &[Action]) -> Vec<u8> {
    let mut s = Stream {
        bytes: Vec::new(),
        scratch: vec![0; MAX_MESSAGE_BYTES],
        out: vec![0; MAX_ENCODED_BYTES],
        damage: None,
    };
    for a in actions.iter().take(64) {
        match a {
            Action::Hello { version } => s.msg(&HostMsg::Hello { version: *version }),
            Action::Frame {
                seq,
                width,
                height,
                format,
                reply,
                restart,
                picture: p,
                delivery,
                end,
            } => {
                let h = FrameHeader {
                    seq: u32::from(*seq),
                    width: 1 + u16::from(*width),
                    height: 1 + u16::from(*height) / 2,
                    format: format.get(),
                    reply: reply.get(),
                    restart: *restart,
                };
                s.msg(&HostMsg::Frame(h));
                let data = picture(h.width, h.height, h.format, *p);
                let per = h.rows_per_chunk().max(1);
                let rb = h.layout().row_bytes();
                let mut chunks: Vec<(usize, &[u8])> = data
                    .chunks(per * rb)
                    .enumerate()
                    .map(|(i, c)| (i * per, c))
                    .collect();
                let k = chunks.len();
                match *delivery {
                    Delivery::InOrder => {}
                    Delivery::DropChunk(i) => {
                        chunks.remove(usize::from(i) % k);
                    }
                    Delivery::SwapChunks(i) => {
                        chunks.swap(usize::from(i) % k, (usize::from(i) + 1) % k)
                    }
                    Delivery::Cut(n) => chunks.truncate(usize::from(n) % (k + 1)),
                    Delivery::Repeat(i) => {
                        let c = chunks[usize::from(i) % k];
                        chunks.insert(usize::from(i) % k, c);
                    }
                }
                for (first, c) in chunks {
                    s.msg(&HostMsg::Rows {
                        seq: h.seq,
                        first_row: first as u16,
                        data: c,
                    });
                }
                if *end {
                    s.msg(&HostMsg::End { seq: h.seq });
                }
            }
            Action::Header {
                seq,
                width,
                height,
                format,
                reply,
                restart,
            } => s.msg(&HostMsg::Frame(FrameHeader {
                seq: *seq,
                width: *width,
                height: *height,
                format: format.get(),
                reply: reply.get(),
                restart: *restart,
            })),
            Action::Rows {
                seq,
                first_row,
                len,
                fill,
            } => {
                let data = vec![*fill; usize::from(*len) % (MAX_CHUNK_BYTES + 1)];
                s.msg(&HostMsg::Rows {
                    seq: *seq,
                    first_row: *first_row,
                    data: &data,
                });
            }
            Action::End { seq } => s.msg(&HostMsg::End { seq: *seq }),
            Action::Status => s.msg(&HostMsg::Status),
            Action::Shutdown => s.msg(&HostMsg::Shutdown),
            Action::Body(b) => s.body(b),
            Action::Garbage(g) => s.bytes.extend_from_slice(g),
            Action::Damage { at, with } => s.damage = Some((*at, *with)),
        }
    }
    s.bytes
}

/// What the device said about one frame, collected up to its report.
#[derive(Default)]
struct Answer {
    rows: Vec<(u16, Vec<u8>)>,
    spans: Vec<(u16, u64)>,
}

/// Checks everything the device sent (see the module documentation).
fn check(out: &[u8]) {
    let mut rx: Box<Receiver<MAX_ENCODED_BYTES>> = Box::new(Receiver::new());
    let mut pending: BTreeMap<u32, Answer> = BTreeMap::new();
    let mut rest = out;
    let mut last: Option<FrameReport> = None;
    while !rest.is_empty() {
        let (got, r) = rx.push(rest);
        rest = r;
        let frame = match got {
            Some(Received::Frame(f)) => f,
            Some(Received::Overflow) => panic!("the device sent an overlong message"),
            None => continue,
        };
        let msg: DeviceMsg<'_> = wire::decode(frame).expect("the device sends only good messages");
        match msg {
            DeviceMsg::Rows {
                seq,
                first_row,
                data,
            } => pending
                .entry(seq)
                .or_default()
                .rows
                .push((first_row, data.to_vec())),
            DeviceMsg::Spans { seq, row, spans } => {
                let mut prev_end = 0;
                let mut n = 0u64;
                for sp in spans.iter() {
                    assert!(
                        sp.start < sp.end && sp.start >= prev_end,
                        "spans sorted, disjoint"
                    );
                    prev_end = sp.end;
                    n += u64::from(sp.end - sp.start);
                }
                pending.entry(seq).or_default().spans.push((row, n));
            }
            DeviceMsg::Done(report) => {
                let a = pending.remove(&report.seq).unwrap_or_default();
                check_report(&report, &a);
                last = Some(report);
            }
            DeviceMsg::Hello(_) | DeviceMsg::Status(_) | DeviceMsg::Bye(_) => {}
        }
    }
    assert!(
        pending.is_empty(),
        "rows or spans without a report: {:?}",
        pending.keys()
    );
    if let Some(r) = last {
        let c = r.counters;
        assert!(
            c.masked + c.blacked <= c.frames,
            "more frames answered than started: {c:?}"
        );
    }
}

fn check_report(report: &FrameReport, a: &Answer) {
    match report.outcome {
        Outcome::Masked => {
            assert!(
                !report.fault_line,
                "masked frame with the fault line raised"
            );
            assert!(report.kept_pixels > 0);
            if !a.spans.is_empty() {
                let n: u64 = a.spans.iter().map(|s| s.1).sum();
                assert_eq!(
                    n,
                    u64::from(report.kept_pixels),
                    "spans and kept pixels differ"
                );
            }
            // The frame's bytes per pixel are not in the answer; a pixel
            // is at least one byte, so non-zero bytes bound shown pixels
            // from above only for grey frames. Count bytes over 3 for RGB
            // frames conservatively: non-zero bytes / 3 <= kept.
            let nonzero: u64 = a
                .rows
                .iter()
                .map(|(_, d)| d.iter().filter(|&&b| b != 0).count() as u64)
                .sum();
            assert!(
                nonzero <= 3 * u64::from(report.kept_pixels),
                "{nonzero} bytes shown, {} pixels kept",
                report.kept_pixels
            );
        }
        Outcome::Blacked(f) => {
            assert!(
                report.fault_line,
                "blacked frame ({f:?}) with the fault line low"
            );
            assert_eq!(report.kept_pixels, 0);
            for (row, d) in &a.rows {
                assert!(
                    d.iter().all(|&b| b == 0),
                    "blacked frame shows pixels at row {row}"
                );
            }
            for (row, n) in &a.spans {
                assert_eq!(*n, 0, "blacked frame keeps spans in row {row}");
            }
        }
        Outcome::Unknown => {
            assert!(
                a.rows.is_empty() && a.spans.is_empty(),
                "rows for an unknown frame"
            );
        }
    }
}

fn one(input: Input) {
    let (w, h, threshold) = match input.model {
        ModelChoice::Threshold { w, h, threshold } => (w, h, threshold),
        _ => (32, 24, 70),
    };
    let (map_w, map_h) = (8 + u16::from(w % 57), 6 + u16::from(h % 43));
    let net = ThresholdNet::new(threshold);
    let mut slot = net.slot(map_w, map_h);
    let mut arena = 16 * 1024;
    match input.model {
        ModelChoice::Empty => slot.fill(0xFF),
        ModelChoice::Corrupt { at, xor } => {
            let i = usize::from(at) % slot.len();
            slot[i] ^= xor;
        }
        ModelChoice::ShortArena(_) => {}
        ModelChoice::Threshold { .. } => {}
    }
    let model = load_model(&slot, SignaturePolicy::Optional);
    if let (ModelChoice::ShortArena(d), Ok(m)) = (&input.model, &model) {
        arena = m.arena_bytes().saturating_sub(1 + usize::from(*d));
    }
    let mut ows = OwnedWorkspace::new(usize::from(map_w) * usize::from(map_h), arena);
    let pin = FlagPin::default();
    let config = Config {
        smoothing: 0.25 + f32::from(input.smoothing % 4) * 0.25,
        seed: input.seed,
        ..Config::default()
    };
    let pipeline = Pipeline::new(model, ows.ws(), pin.clone(), config);
    let mut fb = vec![0u8; usize::from(input.buffer) % (MAX_BUFFER + 1)];
    let mut dev = Device::new(pipeline, &mut fb, NoProbe);

    let stream = build_stream(&input.actions);
    let mut link = Link {
        input: &stream,
        reads: input
            .reads
            .iter()
            .take(16)
            .map(|&n| 1 + usize::from(n) % 512)
            .collect(),
        next: 0,
        out: Vec::new(),
    };
    // Until the link is drained (Closed) or the host said shutdown.
    while let Ok(Event::Continue) = dev.poll(&mut link) {
        // The pin follows the last frame's outcome.
        assert_eq!(pin.0.get(), dev.pipeline().fault_line());
    }
    check(&link.out);
}

fuzz_target!(|input: Input| one(input));

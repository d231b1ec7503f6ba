//! The host's side of the conversation: hello, a frame out in row chunks,
//! its answer back (masked rows or spans, and the report), shutdown — with
//! optional, seeded damage to what is sent (fault injection).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sonomask_core::RowSpans;
use sonomask_core::wire::{
    self, Counters, DeviceInfo, FrameHeader, FrameReport, HostMsg, MAX_ENCODED_BYTES,
    MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use sonomask_firmware::SOURCE_FINGERPRINT;

use super::link::{DeviceEvent, Link, LinkError};

/// Why the conversation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("no answer from the device within {0:?}")]
    Timeout(Duration),
    #[error("the device speaks protocol version {device}, this host {host}")]
    Version { device: u16, host: u16 },
    #[error(
        "the device's firmware was built from other sources than this host (fingerprint {device:016x}, host {host:016x}): its bytes cannot be checked against this host's reference; rebuild the image (`cargo mps2`) or run the sonomask built from the image's commit"
    )]
    OtherSources { device: u64, host: u64 },
    #[error("a frame row of {0} bytes does not fit in one wire chunk")]
    RowTooLong(usize),
    #[error("message does not encode: {0}")]
    Encode(wire::WireError),
}

/// Seeded damage to outgoing messages: each message is, with probability
/// `rate`, preceded by random garbage, preceded by a truncated copy of
/// itself, or replaced by a copy with one byte changed (lost).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Garble {
    pub rate: f64,
    pub seed: u64,
}

/// What came back for one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub report: FrameReport,
    /// The rows, assembled, if the frame was answered with rows.
    pub pixels: Option<Vec<u8>>,
    /// The spans per row, if answered with spans.
    pub spans: Option<Vec<RowSpans>>,
    /// From the first byte of the frame sent to its report received.
    pub latency: Duration,
}

#[derive(Default)]
struct Partial {
    pixels: Vec<u8>,
    spans: Vec<RowSpans>,
}

/// A conversation with one device.
pub struct Client {
    link: Link,
    garble: Option<(Garble, StdRng)>,
    scratch: Vec<u8>,
    out: Vec<u8>,
    partial: BTreeMap<u32, Partial>,
    /// Answers that arrived for frames other than the one awaited.
    late: BTreeMap<u32, Answer>,
    sent_at: BTreeMap<u32, Instant>,
    /// Messages sent damaged or preceded by damage.
    pub injected: u64,
}

impl Client {
    pub fn new(link: Link, garble: Option<Garble>) -> Self {
        Self {
            link,
            garble: garble.map(|g| (g, StdRng::seed_from_u64(g.seed))),
            scratch: vec![0; MAX_MESSAGE_BYTES],
            out: vec![0; MAX_ENCODED_BYTES],
            partial: BTreeMap::new(),
            late: BTreeMap::new(),
            sent_at: BTreeMap::new(),
            injected: 0,
        }
    }

    /// Device frames that failed to decode on the way back.
    pub fn damaged_answers(&self) -> u64 {
        self.link.damaged
    }

    /// Sends a message, damaged as [`Garble`] says if `garble` (only frame
    /// traffic is damaged; hello, status and shutdown go out clean).
    fn send(&mut self, msg: &HostMsg<'_>, garble: bool) -> Result<(), ClientError> {
        let n = wire::encode(msg, &mut self.scratch, &mut self.out).map_err(ClientError::Encode)?;
        let good = &self.out[..n];
        let Some((g, rng)) = self.garble.as_mut().filter(|_| garble) else {
            return Ok(self.link.send(good).map_err(LinkError::Io)?);
        };
        if !rng.random_bool(g.rate.clamp(0.0, 1.0)) {
            return Ok(self.link.send(good).map_err(LinkError::Io)?);
        }
        self.injected += 1;
        let mut bytes = Vec::with_capacity(2 * n);
        match rng.random_range(0..3) {
            0 => {
                let len = rng.random_range(1..400);
                bytes.extend((0..len).map(|_| rng.random::<u8>()));
                bytes.extend_from_slice(good);
            }
            1 => {
                let cut = rng.random_range(1..n - 1);
                bytes.extend_from_slice(&good[..cut]);
                bytes.extend_from_slice(good);
            }
            _ => {
                bytes.extend_from_slice(good);
                let i = rng.random_range(1..n - 1);
                let old = bytes[i];
                bytes[i] = loop {
                    let b = rng.random::<u8>();
                    if b != 0 && b != old {
                        break b;
                    }
                };
            }
        }
        Ok(self.link.send(&bytes).map_err(LinkError::Io)?)
    }

    fn event(&mut self, deadline: Instant, timeout: Duration) -> Result<DeviceEvent, ClientError> {
        self.link
            .next_event(deadline)?
            .ok_or(ClientError::Timeout(timeout))
    }

    /// Says hello; the device's description.
    pub fn hello(&mut self, timeout: Duration) -> Result<DeviceInfo, ClientError> {
        self.send(
            &HostMsg::Hello {
                version: PROTOCOL_VERSION,
            },
            false,
        )?;
        let deadline = Instant::now() + timeout;
        loop {
            if let DeviceEvent::Hello(info) = self.event(deadline, timeout)? {
                if info.version != PROTOCOL_VERSION {
                    return Err(ClientError::Version {
                        device: info.version,
                        host: PROTOCOL_VERSION,
                    });
                }
                if info.build != SOURCE_FINGERPRINT {
                    return Err(ClientError::OtherSources {
                        device: info.build,
                        host: SOURCE_FINGERPRINT,
                    });
                }
                return Ok(info);
            }
        }
    }

    /// Sends a frame: header, rows in chunks, end. `pixels` may disagree
    /// with the header (fault injection); rows are cut by the header's row
    /// size.
    pub fn send_frame(&mut self, header: &FrameHeader, pixels: &[u8]) -> Result<(), ClientError> {
        let row = header.layout().row_bytes();
        let per = header.rows_per_chunk();
        if per == 0 {
            return Err(ClientError::RowTooLong(row));
        }
        self.sent_at.insert(header.seq, Instant::now());
        self.partial.insert(header.seq, Partial::default());
        self.send(&HostMsg::Frame(*header), true)?;
        for (i, chunk) in pixels.chunks(per * row).enumerate() {
            let msg = HostMsg::Rows {
                seq: header.seq,
                first_row: u16::try_from(i * per).unwrap_or(u16::MAX),
                data: chunk,
            };
            self.send(&msg, true)?;
        }
        self.send(&HostMsg::End { seq: header.seq }, true)
    }

    /// Waits for frame `seq`'s report, collecting its rows or spans. On a
    /// timeout the end is sent once more (lost ends are the one loss the
    /// device cannot notice) before giving up.
    pub fn answer(&mut self, seq: u32, timeout: Duration) -> Result<Answer, ClientError> {
        if let Some(a) = self.late.remove(&seq) {
            return Ok(a);
        }
        let mut retried = false;
        let mut deadline = Instant::now() + timeout;
        loop {
            let event = match self.link.next_event(deadline)? {
                Some(e) => e,
                None if !retried => {
                    retried = true;
                    self.send(&HostMsg::End { seq }, true)?;
                    deadline = Instant::now() + timeout;
                    continue;
                }
                None => return Err(ClientError::Timeout(timeout)),
            };
            match event {
                DeviceEvent::Rows {
                    seq: s,
                    first_row,
                    data,
                } => {
                    // Chunks come in order, from row 0; a chunk out of
                    // place (a device bug) spoils the frame's rows.
                    let p = self.partial.entry(s).or_default();
                    if (first_row == 0) == p.pixels.is_empty() {
                        p.pixels.extend_from_slice(&data);
                    } else {
                        p.pixels.clear();
                        p.pixels.push(1);
                    }
                }
                DeviceEvent::Spans { seq: s, spans, .. } => {
                    self.partial.entry(s).or_default().spans.push(spans);
                }
                DeviceEvent::Done(report) => {
                    let p = self.partial.remove(&report.seq).unwrap_or_default();
                    let latency = self
                        .sent_at
                        .remove(&report.seq)
                        .map(|t| t.elapsed())
                        .unwrap_or_default();
                    let a = Answer {
                        report,
                        pixels: (!p.pixels.is_empty()).then_some(p.pixels),
                        spans: (!p.spans.is_empty()).then_some(p.spans),
                        latency,
                    };
                    if report.seq == seq {
                        return Ok(a);
                    }
                    self.late.insert(report.seq, a);
                }
                _ => {}
            }
        }
    }

    /// Answers that arrived for frames no longer awaited.
    pub fn take_late(&mut self) -> BTreeMap<u32, Answer> {
        std::mem::take(&mut self.late)
    }

    /// Asks for the counters.
    pub fn status(&mut self, timeout: Duration) -> Result<Counters, ClientError> {
        self.send(&HostMsg::Status, false)?;
        let deadline = Instant::now() + timeout;
        loop {
            if let DeviceEvent::Status(c) = self.event(deadline, timeout)? {
                return Ok(c);
            }
        }
    }

    /// Asks the device to stop; its final counters.
    pub fn shutdown(&mut self, timeout: Duration) -> Result<Counters, ClientError> {
        self.send(&HostMsg::Shutdown, false)?;
        let deadline = Instant::now() + timeout;
        loop {
            if let DeviceEvent::Bye(c) = self.event(deadline, timeout)? {
                return Ok(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::wire::{DeviceMsg, ModelStatus};
    use std::io::Cursor;

    /// A device whose hello (already on the line) says `build`.
    fn hello_from(build: u64) -> Result<DeviceInfo, ClientError> {
        let info = DeviceInfo {
            version: PROTOCOL_VERSION,
            max_frame_bytes: 1 << 20,
            max_chunk_bytes: 1024,
            model: ModelStatus::Failed(wire::FaultCode::NoModel),
            build,
        };
        let (mut scratch, mut out) = (vec![0; MAX_MESSAGE_BYTES], vec![0; MAX_ENCODED_BYTES]);
        let n = wire::encode(&DeviceMsg::Hello(info), &mut scratch, &mut out).unwrap();
        let link = Link::new(Cursor::new(out[..n].to_vec()), std::io::sink());
        Client::new(link, None).hello(Duration::from_secs(5))
    }

    #[test]
    fn a_device_built_from_other_sources_is_refused() {
        assert_eq!(
            hello_from(SOURCE_FINGERPRINT).unwrap().build,
            SOURCE_FINGERPRINT
        );
        match hello_from(SOURCE_FINGERPRINT ^ 1) {
            Err(ClientError::OtherSources { device, host }) => {
                assert_eq!((device, host), (SOURCE_FINGERPRINT ^ 1, SOURCE_FINGERPRINT));
            }
            other => panic!("{other:?}"),
        }
    }
}

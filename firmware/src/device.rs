//! The cart's side of the wire protocol ([`sonomask_core::wire`]): takes
//! bytes from any embedded-io link, assembles frames in the frame buffer,
//! runs the [`Pipeline`] on each complete frame and answers.
//!
//! Fail closed on the wire too: a frame is processed only when every row
//! arrived, in order; a frame whose rows were lost, that does not fit the
//! buffer or that is abandoned for the next one goes back black with its
//! fault. Garbage on the line costs only the messages it damages (see the
//! framing in [`sonomask_core::wire`]); counters say how many.

use embedded_hal::digital::OutputPin;
use embedded_io::{Read, Write};
use sonomask_core::wire::{
    self, Counters, DeviceInfo, DeviceMsg, FaultCode, FrameHeader, FrameReport, HostMsg,
    MAX_CHUNK_BYTES, MAX_ENCODED_BYTES, MAX_MESSAGE_BYTES, Outcome, PROTOCOL_VERSION, Received,
    Receiver, Reply,
};
use sonomask_core::{FrameLayout, RowSpans};

use crate::pipeline::{Pipeline, Probe};

/// Black rows for frames that go back without a masked buffer.
static ZEROS: [u8; MAX_CHUNK_BYTES] = [0; MAX_CHUNK_BYTES];

/// What the caller should do after [`Device::poll`] or [`Device::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Keep going.
    Continue,
    /// The host asked to stop ([`HostMsg::Shutdown`], answered).
    Shutdown,
    /// The link reported end of input.
    Closed,
}

/// A frame whose rows are arriving.
#[derive(Clone, Copy, Debug)]
struct Incoming {
    header: FrameHeader,
    next_row: u16,
    /// Set once the frame cannot be processed any more.
    broken: Option<FaultCode>,
}

/// Everything but the receive buffer (whose frames borrow it while the
/// rest is updated).
struct Core<'m, 'b, P: OutputPin, Pr: Probe> {
    pipeline: Pipeline<'m, 'b, P>,
    probe: Pr,
    frame: &'b mut [u8],
    incoming: Option<Incoming>,
    answered: Option<u32>,
    counters: Counters,
    scratch: [u8; MAX_MESSAGE_BYTES],
    out: [u8; MAX_ENCODED_BYTES],
}

/// The device: a pipeline, a frame buffer and the protocol state.
pub struct Device<'m, 'b, P: OutputPin, Pr: Probe> {
    rx: Receiver<MAX_ENCODED_BYTES>,
    core: Core<'m, 'b, P, Pr>,
}

impl<'m, 'b, P: OutputPin, Pr: Probe> Device<'m, 'b, P, Pr> {
    /// A device that assembles frames in `frame` (its length is the
    /// largest frame accepted) and marks stages on `probe`.
    pub fn new(pipeline: Pipeline<'m, 'b, P>, frame: &'b mut [u8], probe: Pr) -> Self {
        Self {
            rx: Receiver::new(),
            core: Core {
                pipeline,
                probe,
                frame,
                incoming: None,
                answered: None,
                counters: Counters::default(),
                scratch: [0; MAX_MESSAGE_BYTES],
                out: [0; MAX_ENCODED_BYTES],
            },
        }
    }

    /// What the device tells a host that says hello.
    pub fn info(&self) -> DeviceInfo {
        self.core.info()
    }

    pub fn counters(&self) -> Counters {
        self.core.counters
    }

    pub fn pipeline(&self) -> &Pipeline<'m, 'b, P> {
        &self.core.pipeline
    }

    /// Reads what `link` has (blocking for at least one byte) and handles it.
    pub fn poll<L: Read + Write>(&mut self, link: &mut L) -> Result<Event, L::Error> {
        let mut buf = [0u8; 512];
        let n = link.read(&mut buf)?;
        if n == 0 {
            return Ok(Event::Closed);
        }
        self.feed(&buf[..n], link)
    }

    /// Handles received bytes, writing every answer to `tx`. Stops early
    /// (dropping the rest) only on [`Event::Shutdown`].
    pub fn feed<W: Write>(&mut self, bytes: &[u8], tx: &mut W) -> Result<Event, W::Error> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (got, r) = self.rx.push(rest);
            rest = r;
            match got {
                None => {}
                Some(Received::Overflow) => {
                    self.core.counters.overflows += 1;
                    debug!("dropped an overlong frame");
                }
                Some(Received::Frame(f)) => match wire::decode::<HostMsg<'_>>(f) {
                    Ok(msg) => {
                        if self.core.handle(msg, tx)? == Event::Shutdown {
                            return Ok(Event::Shutdown);
                        }
                    }
                    Err(_) => {
                        self.core.counters.bad_messages += 1;
                        debug!("dropped a damaged message");
                    }
                },
            }
        }
        Ok(Event::Continue)
    }
}

/// Encodes and writes one message.
fn send<W: Write>(
    scratch: &mut [u8],
    out: &mut [u8],
    tx: &mut W,
    msg: &DeviceMsg<'_>,
) -> Result<(), W::Error> {
    match wire::encode(msg, scratch, out) {
        Ok(n) => tx.write_all(&out[..n]),
        // Sizes are bounded by construction; if it ever happened the host
        // would time out on this frame, which it handles.
        Err(_) => {
            error!("a device message does not encode");
            Ok(())
        }
    }
}

impl<P: OutputPin, Pr: Probe> Core<'_, '_, P, Pr> {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            version: PROTOCOL_VERSION,
            max_frame_bytes: u32::try_from(self.frame.len()).unwrap_or(u32::MAX),
            max_chunk_bytes: MAX_CHUNK_BYTES as u32,
            model: self.pipeline.model_status(),
            build: crate::SOURCE_FINGERPRINT,
        }
    }

    fn reply<W: Write>(&mut self, tx: &mut W, msg: &DeviceMsg<'_>) -> Result<(), W::Error> {
        send(&mut self.scratch, &mut self.out, tx, msg)
    }

    fn handle<W: Write>(&mut self, msg: HostMsg<'_>, tx: &mut W) -> Result<Event, W::Error> {
        match msg {
            HostMsg::Hello { .. } => {
                let info = self.info();
                self.reply(tx, &DeviceMsg::Hello(info))?;
            }
            HostMsg::Frame(header) => {
                if let Some(old) = self.incoming.take() {
                    // Abandoned for the next one: rows are missing.
                    self.finish(old, Some(FaultCode::Incomplete), tx)?;
                }
                self.counters.frames += 1;
                let fits = header.width > 0
                    && header.height > 0
                    && header.frame_bytes() <= self.frame.len()
                    && header.rows_per_chunk() > 0;
                self.incoming = Some(Incoming {
                    header,
                    next_row: 0,
                    broken: (!fits).then_some(FaultCode::UnsupportedFrame),
                });
            }
            HostMsg::Rows {
                seq,
                first_row,
                data,
            } => self.rows(seq, first_row, data, tx)?,
            HostMsg::End { seq } => match self.incoming {
                Some(inc) if inc.header.seq == seq => {
                    // A complete frame was finished by its last row, so
                    // rows are missing.
                    self.incoming = None;
                    self.finish(inc, Some(inc.broken.unwrap_or(FaultCode::Incomplete)), tx)?;
                }
                _ if self.answered == Some(seq) => {}
                _ => {
                    self.counters.unknown += 1;
                    let report = self.report(seq, Outcome::Unknown, 0, 0);
                    self.reply(tx, &DeviceMsg::Done(report))?;
                }
            },
            HostMsg::Status => {
                let c = self.counters;
                self.reply(tx, &DeviceMsg::Status(c))?;
            }
            HostMsg::Shutdown => {
                let c = self.counters;
                self.reply(tx, &DeviceMsg::Bye(c))?;
                return Ok(Event::Shutdown);
            }
        }
        Ok(Event::Continue)
    }

    fn rows<W: Write>(
        &mut self,
        seq: u32,
        first_row: u16,
        data: &[u8],
        tx: &mut W,
    ) -> Result<(), W::Error> {
        let Some(inc) = self.incoming.as_mut().filter(|i| i.header.seq == seq) else {
            self.counters.unexpected += 1;
            return Ok(());
        };
        if inc.broken.is_some() {
            return Ok(());
        }
        let h = inc.header;
        let row_bytes = h.layout().row_bytes();
        let rows = data.len() / row_bytes.max(1);
        let in_order = first_row == inc.next_row
            && rows > 0
            && data.len() == rows * row_bytes
            && first_row as usize + rows <= h.height as usize;
        if !in_order {
            inc.broken = Some(FaultCode::Incomplete);
            return Ok(());
        }
        let start = first_row as usize * row_bytes;
        self.frame[start..start + data.len()].copy_from_slice(data);
        inc.next_row += rows as u16;
        if inc.next_row == h.height {
            let done = *inc;
            self.incoming = None;
            self.finish(done, None, tx)?;
        }
        Ok(())
    }

    /// Processes a complete frame (`fault` = `None`) or sends a broken one
    /// back black, then answers.
    fn finish<W: Write>(
        &mut self,
        inc: Incoming,
        fault: Option<FaultCode>,
        tx: &mut W,
    ) -> Result<(), W::Error> {
        let h = inc.header;
        let (outcome, kept, run) = match fault {
            Some(f) => {
                self.pipeline.fail(f);
                (Outcome::Blacked(f), 0, 0)
            }
            None => {
                let bytes = h.frame_bytes();
                let r = self.pipeline.process(
                    &mut self.frame[..bytes],
                    h.layout(),
                    h.restart,
                    &mut self.probe,
                );
                match r.outcome {
                    Ok(kept) => (Outcome::Masked, kept, r.run),
                    Err(f) => (Outcome::Blacked(f), 0, r.run),
                }
            }
        };
        match outcome {
            Outcome::Masked => self.counters.masked += 1,
            _ => self.counters.blacked += 1,
        }
        self.send_answer(&h, outcome == Outcome::Masked, tx)?;
        self.answered = Some(h.seq);
        let report = self.report(h.seq, outcome, kept, run);
        self.reply(tx, &DeviceMsg::Done(report))
    }

    fn report(&self, seq: u32, outcome: Outcome, kept: u64, run: u32) -> FrameReport {
        FrameReport {
            seq,
            outcome,
            fault_line: self.pipeline.fault_line(),
            kept_pixels: u32::try_from(kept).unwrap_or(u32::MAX),
            run,
            counters: self.counters,
        }
    }

    /// The masked rows or spans as the header asked; black when `masked`
    /// is false (whatever the buffer holds).
    fn send_answer<W: Write>(
        &mut self,
        h: &FrameHeader,
        masked: bool,
        tx: &mut W,
    ) -> Result<(), W::Error> {
        // A frame larger than the buffer was never held (its header was
        // refused), so its report alone answers it: black rows or empty
        // spans for it would let one 20-byte header make the device write
        // up to 12 GB of zeros (65,535 × 65,535 RGB) before it reads the
        // next message (found by fuzzing: firmware/fuzz, device_poll).
        if !masked && h.frame_bytes() > self.frame.len() {
            return Ok(());
        }
        let layout: FrameLayout = h.layout();
        match h.reply {
            Reply::Frame => {
                let (row_bytes, per_chunk) = (layout.row_bytes(), h.rows_per_chunk());
                if per_chunk == 0 {
                    return Ok(());
                }
                let mut row = 0usize;
                while row < h.height as usize {
                    let n = per_chunk.min(h.height as usize - row);
                    let bytes = n * row_bytes;
                    let data = if masked {
                        &self.frame[row * row_bytes..row * row_bytes + bytes]
                    } else {
                        &ZEROS[..bytes]
                    };
                    let msg = DeviceMsg::Rows {
                        seq: h.seq,
                        first_row: row as u16,
                        data,
                    };
                    send(&mut self.scratch, &mut self.out, tx, &msg)?;
                    row += n;
                }
            }
            Reply::Spans => {
                for y in 0..h.height {
                    let spans = if masked {
                        self.pipeline.kept_spans(u32::from(y), h.width)
                    } else {
                        RowSpans::new()
                    };
                    let msg = DeviceMsg::Spans {
                        seq: h.seq,
                        row: y,
                        spans,
                    };
                    self.reply(tx, &msg)?;
                }
            }
            Reply::Report => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

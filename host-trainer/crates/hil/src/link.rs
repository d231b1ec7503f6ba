//! A byte link to a device (QEMU's UART socket or FIFOs, a serial port, the
//! simulated device's socket) and the host's half of the wire framing:
//! whole messages out, decoded messages in, with deadlines.
//!
//! A reader thread moves bytes from the link into a channel so that waits
//! can time out whatever the link is.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Instant;

use sonomask_core::RowSpans;
use sonomask_core::wire::{
    self, Counters, DeviceInfo, DeviceMsg, FrameReport, MAX_ENCODED_BYTES, Received, Receiver,
};

/// A device message with its data owned.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceEvent {
    Hello(DeviceInfo),
    Rows {
        seq: u32,
        first_row: u16,
        data: Vec<u8>,
    },
    Spans {
        seq: u32,
        row: u16,
        spans: RowSpans,
    },
    Done(FrameReport),
    Status(Counters),
    Bye(Counters),
}

impl From<DeviceMsg<'_>> for DeviceEvent {
    fn from(m: DeviceMsg<'_>) -> Self {
        match m {
            DeviceMsg::Hello(i) => DeviceEvent::Hello(i),
            DeviceMsg::Rows {
                seq,
                first_row,
                data,
            } => DeviceEvent::Rows {
                seq,
                first_row,
                data: data.to_vec(),
            },
            DeviceMsg::Spans { seq, row, spans } => DeviceEvent::Spans { seq, row, spans },
            DeviceMsg::Done(r) => DeviceEvent::Done(r),
            DeviceMsg::Status(c) => DeviceEvent::Status(c),
            DeviceMsg::Bye(c) => DeviceEvent::Bye(c),
        }
    }
}

/// Why the link gave no message.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the device closed the link")]
    Closed,
    #[error("link I/O: {0}")]
    Io(#[from] io::Error),
}

/// One link, framed.
pub struct Link {
    writer: Box<dyn Write + Send>,
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    rx: Box<Receiver<MAX_ENCODED_BYTES>>,
    pending: Vec<u8>,
    at: usize,
    closed: bool,
    /// Frames from the device that did not decode (must stay 0: the device
    /// only sends good messages, so this counts damage on the way back).
    pub damaged: u64,
}

impl Link {
    /// A link reading from `reader` (on its own thread) and writing to
    /// `writer`.
    pub fn new<R, W>(mut reader: R, writer: W) -> Self
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        let (tx, chunks) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Ok(Vec::new()));
                        break;
                    }
                    Ok(n) => {
                        if tx.send(Ok(buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        Self {
            writer: Box::new(writer),
            chunks,
            rx: Box::new(Receiver::new()),
            pending: Vec::new(),
            at: 0,
            closed: false,
            damaged: 0,
        }
    }

    /// Writes raw bytes (already framed, or deliberately damaged). No
    /// flush: every writer here is unbuffered, and a serial port's flush
    /// (`tcdrain`) would wait for the line and fails on pseudo-terminals.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// The next message, or `None` at the deadline.
    pub fn next_event(&mut self, deadline: Instant) -> Result<Option<DeviceEvent>, LinkError> {
        loop {
            while self.at < self.pending.len() {
                let (got, rest) = self.rx.push(&self.pending[self.at..]);
                let used = self.pending.len() - self.at - rest.len();
                let event = match got {
                    Some(Received::Frame(f)) => match wire::decode::<DeviceMsg<'_>>(f) {
                        Ok(m) => Some(DeviceEvent::from(m)),
                        Err(_) => {
                            self.damaged += 1;
                            None
                        }
                    },
                    Some(Received::Overflow) => {
                        self.damaged += 1;
                        None
                    }
                    None => None,
                };
                self.at += used;
                if let Some(e) = event {
                    return Ok(Some(e));
                }
            }
            if self.closed {
                return Err(LinkError::Closed);
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(wait) {
                Ok(Ok(bytes)) if bytes.is_empty() => self.closed = true,
                Ok(Ok(bytes)) => {
                    self.pending = bytes;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(LinkError::Io(e)),
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
            }
        }
    }
}

/// `std::io` types as embedded-io ones (for the simulated device).
pub struct EmbeddedIo<T>(pub T);

impl<T> embedded_io::ErrorType for EmbeddedIo<T> {
    type Error = io::Error;
}

impl<T: Read> embedded_io::Read for EmbeddedIo<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }
}

impl<T: Write> embedded_io::Write for EmbeddedIo<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> Result<(), io::Error> {
        self.0.flush()
    }
}

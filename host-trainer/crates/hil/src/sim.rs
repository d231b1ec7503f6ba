//! The simulated device: the firmware's [`Device`] on a host thread, with
//! the board's buffer sizes, behind a socket pair — the whole protocol and
//! pipeline without QEMU or hardware.

use std::io;
use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};

use sonomask_core::blob::SignaturePolicy;
use sonomask_core::wire::Counters;
use sonomask_firmware::board::FRAME_BUFFER_BYTES;
use sonomask_firmware::{Config, Device, Event, NoProbe, Pipeline, load_model};

use super::link::{EmbeddedIo, Link};
use super::reference::{FaultLine, OwnedWorkspace};

/// A running simulated device.
pub struct SimDevice {
    handle: JoinHandle<io::Result<Counters>>,
    /// The device's fault line.
    pub fault_line: FaultLine,
}

impl SimDevice {
    /// Starts a device whose flash slot holds `slot` (header and blob, see
    /// [`sonomask_core::slot`]), checking signatures with `key` if given
    /// (required then, as a field cart would); returns it and the host's
    /// end of its link.
    pub fn spawn(
        slot: Vec<u8>,
        key: Option<ed25519_dalek::VerifyingKey>,
    ) -> io::Result<(Self, Link)> {
        let (host, dev) = UnixStream::pair()?;
        let fault_line = FaultLine::default();
        let pin = fault_line.clone();
        let handle = thread::Builder::new()
            .name("sim-device".into())
            .spawn(move || {
                let policy = match &key {
                    Some(k) => SignaturePolicy::Required(k),
                    None => SignaturePolicy::Optional,
                };
                let mut ows = OwnedWorkspace::new();
                let pipeline =
                    Pipeline::new(load_model(&slot, policy), ows.ws(), pin, Config::default());
                let mut frame = vec![0u8; FRAME_BUFFER_BYTES];
                let mut device = Box::new(Device::new(pipeline, &mut frame, NoProbe));
                let mut link = EmbeddedIo(dev);
                loop {
                    match device.poll(&mut link)? {
                        Event::Continue => {}
                        Event::Shutdown | Event::Closed => return Ok(device.counters()),
                    }
                }
            })?;
        let link = Link::new(host.try_clone()?, host);
        Ok((SimDevice { handle, fault_line }, link))
    }

    /// Waits for the device thread (after a shutdown or a closed link).
    pub fn join(self) -> io::Result<Counters> {
        self.handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the simulated device panicked")))
    }
}

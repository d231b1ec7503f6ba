//! A byte stream over semihosting files: the HIL rig's fast link on QEMU.
//!
//! QEMU 7.2's CMSDK UART model hands the guest one received byte per
//! main-loop iteration (it never tells the character backend it has room
//! again), which measured 13–19 kB/s here: half a minute per 640×480 RGB
//! frame. The same wire protocol over two host FIFOs opened through
//! semihosting moves whole chunks per call. The UART stays the default
//! link and is what a cart has; this one only exists on QEMU.

use cortex_m_semihosting::{nr, syscall, syscall1};

/// Why a semihosting file operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostIoError;

impl core::fmt::Display for HostIoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("semihosting file operation failed")
    }
}

impl core::error::Error for HostIoError {}

impl embedded_io::Error for HostIoError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}

/// A host file opened through semihosting.
pub struct HostFile {
    handle: usize,
}

impl HostFile {
    /// Opens `path` (`mode` from [`nr::open`]).
    pub fn open(path: &[u8], mode: usize) -> Result<Self, HostIoError> {
        // The path must be NUL-terminated for the host.
        let mut buf = [0u8; 256];
        let z = buf.get_mut(..path.len()).ok_or(HostIoError)?;
        z.copy_from_slice(path);
        let args = [buf.as_ptr() as usize, mode, path.len()];
        // SAFETY: SYS_OPEN reads the NUL-terminated path and the two words
        // that follow its pointer; all live for the call.
        let h = unsafe { syscall(nr::OPEN, &args) };
        if h == usize::MAX {
            Err(HostIoError)
        } else {
            Ok(Self { handle: h })
        }
    }
}

/// Host → device and device → host files, as one link.
pub struct HostLink {
    pub rx: HostFile,
    pub tx: HostFile,
}

impl embedded_io::ErrorType for HostLink {
    type Error = HostIoError;
}

impl embedded_io::Read for HostLink {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostIoError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let args = [self.rx.handle, buf.as_mut_ptr() as usize, buf.len()];
        // SAFETY: SYS_READ writes at most `buf.len()` bytes into `buf`.
        let left = unsafe { syscall(nr::READ, &args) };
        buf.len().checked_sub(left).ok_or(HostIoError)
    }
}

impl embedded_io::Write for HostLink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, HostIoError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let args = [self.tx.handle, buf.as_ptr() as usize, buf.len()];
        // SAFETY: SYS_WRITE reads `buf.len()` bytes from `buf`.
        let left = unsafe { syscall(nr::WRITE, &args) };
        match buf.len().checked_sub(left) {
            Some(0) | None => Err(HostIoError),
            Some(n) => Ok(n),
        }
    }

    fn flush(&mut self) -> Result<(), HostIoError> {
        Ok(())
    }
}

/// The semihosting command line (`-semihosting-config …,arg=…`), or an
/// empty slice when there is none.
pub fn cmdline(buf: &mut [u8]) -> &[u8] {
    let mut args = [buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: SYS_GET_CMDLINE writes at most `buf.len()` bytes into `buf`
    // and the length into the second word.
    let r = unsafe { syscall1(nr::GET_CMDLINE, args.as_mut_ptr() as usize) };
    if r != 0 {
        return &[];
    }
    let n = args[1].min(buf.len());
    let s = &buf[..n];
    // Up to a NUL, if the host wrote one.
    match s.iter().position(|&b| b == 0) {
        Some(z) => &s[..z],
        None => s,
    }
}

/// The value of `key=value` among the command line's words.
pub fn arg<'c>(cmdline: &'c [u8], key: &[u8]) -> Option<&'c [u8]> {
    cmdline
        .split(|&b| b == b' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix(b"="))
}

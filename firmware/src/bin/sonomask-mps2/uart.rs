//! The CMSDK APB UART (ARM DDI 0479) of the MPS2 boards behind the
//! embedded-io traits, polled: the wire protocol needs nothing else.

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// One CMSDK UART, owned.
pub struct CmsdkUart {
    base: usize,
}

impl CmsdkUart {
    /// Enables transmitter and receiver at `PCLK / bauddiv` (at least 16;
    /// QEMU does not time the line).
    ///
    /// # Safety
    ///
    /// `base` must be the address of a CMSDK APB UART that nothing else
    /// uses for as long as the returned value lives.
    pub unsafe fn new(base: usize, bauddiv: u32) -> Self {
        let uart = Self { base };
        uart.write_reg(BAUDDIV, bauddiv.max(16));
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        uart
    }

    fn read_reg(&self, off: usize) -> u32 {
        // SAFETY: `new`'s contract: `base + off` is a register of our UART.
        unsafe { read_volatile((self.base + off) as *const u32) }
    }

    fn write_reg(&self, off: usize, v: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((self.base + off) as *mut u32, v) }
    }

    fn rx_full(&self) -> bool {
        self.read_reg(STATE) & STATE_RX_FULL != 0
    }
}

impl embedded_io::ErrorType for CmsdkUart {
    type Error = Infallible;
}

impl embedded_io::Read for CmsdkUart {
    /// Blocks until at least one byte arrived, then takes what is there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.rx_full() {}
        let mut n = 0;
        while n < buf.len() && self.rx_full() {
            buf[n] = self.read_reg(DATA) as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::ReadReady for CmsdkUart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.rx_full())
    }
}

impl embedded_io::Write for CmsdkUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
            self.write_reg(DATA, u32::from(b));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
        Ok(())
    }
}

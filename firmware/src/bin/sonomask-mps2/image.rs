//! Boot, statics and the serve loop of the board image.

use core::ptr::{addr_of_mut, read_volatile, write_volatile};

use cortex_m_rt::entry;
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use cortex_m_semihosting::nr;
#[cfg(feature = "defmt")]
use defmt_semihosting as _;
use embedded_io::{Read, Write};
use panic_semihosting as _;

use sonomask_core::blob::SignaturePolicy;
use sonomask_firmware::board::{
    FPGAIO_ADDR, FRAME_BUFFER_BYTES, MODEL_SLOT_ADDR, MODEL_SLOT_LEN, UART0_ADDR, WORKSPACE,
};
use sonomask_firmware::{Config, Device, Event, Pipeline, Probe, Stage, Workspace, load_model};

use crate::hostlink::{self, HostFile, HostLink};
use crate::uart::CmsdkUart;

static mut FRAME: [u8; FRAME_BUFFER_BYTES] = [0; FRAME_BUFFER_BYTES];
// The workspace, sized by `board::WORKSPACE` (the host reference
// allocates the same).
static mut ARENA: [u8; WORKSPACE.arena] = [0; WORKSPACE.arena];
static mut INPUT: [i8; WORKSPACE.input] = [0; WORKSPACE.input];
static mut LOGITS: [i8; WORKSPACE.logits] = [0; WORKSPACE.logits];
static mut MAP: [u8; WORKSPACE.map] = [0; WORKSPACE.map];
static mut LABELS: [u32; WORKSPACE.labels] = [0; WORKSPACE.labels];
static mut POINTS: [(f32, f32); WORKSPACE.points] = [(0.0, 0.0); WORKSPACE.points];

/// LED0 of the FPGA IO block: the fault line.
struct FaultLed;

impl FaultLed {
    fn set(&mut self, on: bool) {
        let reg = FPGAIO_ADDR as *mut u32;
        // SAFETY: the FPGA IO LED register of the mps2 boards; only this
        // driver touches it.
        unsafe {
            let v = read_volatile(reg);
            write_volatile(reg, if on { v | 1 } else { v & !1 });
        }
    }
}

impl embedded_hal::digital::ErrorType for FaultLed {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for FaultLed {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.set(true);
        Ok(())
    }
}

/// Marks stages with `movw r12, #(STAGE_MARK_BASE + stage)`, the
/// instruction the counting plugin watches for. Costs one instruction.
struct Marks;

macro_rules! mark {
    ($v:literal) => {
        // SAFETY: writes r12 only, declared clobbered.
        unsafe { core::arch::asm!(concat!("movw r12, #", $v), out("r12") _, options(nomem, nostack, preserves_flags)) }
    };
}

impl Probe for Marks {
    #[inline(always)]
    fn mark(&mut self, stage: Stage) {
        // STAGE_MARK_BASE = 0x5A50 (23120), plus the stage number.
        match stage {
            Stage::Preprocess => mark!("23121"),
            Stage::Inference => mark!("23122"),
            Stage::Fit => mark!("23123"),
            Stage::Mask => mark!("23124"),
            Stage::Done => mark!("23125"),
        }
    }
}

const _: () = assert!(sonomask_firmware::board::STAGE_MARK_BASE == 23120);

/// The signature policy is the image's, never the slot's: built with
/// `SONOMASK_MODEL_PUBKEY` (a `KEY.pub` file or its hex; see
/// `sonomask_firmware::pubkey`), it requires a blob signed with that key;
/// without, it accepts unsigned blobs (development images). The build
/// already checked the key; should it still not decode, the image refuses
/// to serve rather than run without one.
fn policy_key() -> Option<ed25519_dalek::VerifyingKey> {
    let bytes = sonomask_firmware::pubkey::MODEL_PUBKEY?;
    match ed25519_dalek::VerifyingKey::from_bytes(&bytes) {
        Ok(k) => Some(k),
        Err(_) => fail(),
    }
}

/// Ends the QEMU run with a failure status (and stops here on a board
/// without a debugger).
fn fail() -> ! {
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

fn serve<L: Read + Write, Pr: Probe>(device: &mut Device<'_, '_, FaultLed, Pr>, link: &mut L) -> ! {
    loop {
        match device.poll(link) {
            Ok(Event::Continue) => {}
            Ok(Event::Shutdown) | Ok(Event::Closed) => {
                let _ = link.flush();
                debug::exit(EXIT_SUCCESS);
            }
            Err(_) => fail(),
        }
    }
}

#[entry]
fn main() -> ! {
    // SAFETY: the model slot is 1 MiB of SSRAM1 that memory.x keeps free
    // of the image; nothing writes it while the board runs.
    let slot: &'static [u8] =
        unsafe { core::slice::from_raw_parts(MODEL_SLOT_ADDR as *const u8, MODEL_SLOT_LEN) };
    let key = policy_key();
    let policy = match &key {
        Some(k) => SignaturePolicy::Required(k),
        None => SignaturePolicy::Optional,
    };
    let model = load_model(slot, policy);

    // SAFETY: `main` runs once and no interrupt handler touches these
    // statics, so these are the only references to them.
    let (frame, ws) = unsafe {
        (
            &mut *addr_of_mut!(FRAME),
            Workspace {
                arena: &mut *addr_of_mut!(ARENA),
                input: &mut *addr_of_mut!(INPUT),
                logits: &mut *addr_of_mut!(LOGITS),
                map: &mut *addr_of_mut!(MAP),
                labels: &mut *addr_of_mut!(LABELS),
                points: &mut *addr_of_mut!(POINTS),
            },
        )
    };
    let pipeline = Pipeline::new(model, ws, FaultLed, Config::default());
    let mut device = Device::new(pipeline, frame, Marks);

    let mut cmd = [0u8; 512];
    let cmdline = hostlink::cmdline(&mut cmd);
    if hostlink::arg(cmdline, b"link") == Some(b"semihosting") {
        let (Some(rx), Some(tx)) = (
            hostlink::arg(cmdline, b"in"),
            hostlink::arg(cmdline, b"out"),
        ) else {
            fail()
        };
        let link = HostFile::open(rx, nr::open::R_BINARY).and_then(|rx| {
            Ok(HostLink {
                rx,
                tx: HostFile::open(tx, nr::open::W_TRUNC_BINARY)?,
            })
        });
        match link {
            Ok(mut link) => serve(&mut device, &mut link),
            Err(_) => fail(),
        }
    }
    // SAFETY: UART0 of the mps2 boards; nothing else uses it.
    let mut uart = unsafe { CmsdkUart::new(UART0_ADDR as usize, 16) };
    serve(&mut device, &mut uart)
}

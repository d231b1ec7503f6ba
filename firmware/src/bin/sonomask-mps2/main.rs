//! The board image for QEMU's `mps2-an500` (Cortex-M7), the stand-in for
//! the cart: boots, loads the model from the flash slot, and serves the
//! wire protocol until the host says shutdown (semihosting exit 0).
//!
//! ```text
//! cargo mps2            # build (release)
//! qemu-system-arm -machine mps2-an500 -cpu cortex-m7 -nographic \
//!   -semihosting-config enable=on,target=native \
//!   -device loader,file=model.slot,addr=0x300000 \
//!   -kernel target/thumbv7em-none-eabihf/release/sonomask-mps2
//! ```
//!
//! The link is UART0 unless the semihosting command line says
//! `link=semihosting in=PATH out=PATH` (see `hostlink.rs` for why). The
//! fault line is LED0 of the FPGA IO block. Frame stages are marked for
//! QEMU's instruction-counting plugin (`firmware/qemu-plugin/`).
//!
//! On the host this binary only explains itself.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod hostlink;
#[cfg(target_os = "none")]
mod image;
#[cfg(target_os = "none")]
mod uart;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "sonomask-mps2 is the board image for QEMU's mps2-an500; build it with \
         `cargo mps2` (thumbv7em-none-eabihf) and drive it with `sonomask hil --target qemu`"
    );
    std::process::exit(2);
}

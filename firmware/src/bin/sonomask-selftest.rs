//! The DSP self-test image for QEMU's `mps2-an500` (Cortex-M7): runs every
//! check of `sonomask_core::selftest` — each `asm!` routine of the core
//! against its portable definition over seeded inputs, the fused
//! requantiser's word layout, the fast convolution against the reference
//! — prints one line per check over semihosting and exits with status 0
//! only if all pass (1 otherwise, or on a panic), so `cargo run` fails.
//!
//! ```text
//! cargo run -p sonomask-firmware --target thumbv7em-none-eabihf --release \
//!     --features selftest --bin sonomask-selftest
//! ```
//!
//! Why an image and not `cargo test`: the test harness needs `std`; the
//! asm only exists on the thumb target. The runner in `.cargo/config.toml`
//! boots it under QEMU with semihosting. On the host it only explains
//! itself.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "sonomask-selftest checks the cart's DSP asm on a Cortex-M7; run it with \
         `cargo run -p sonomask-firmware --target thumbv7em-none-eabihf --release \
         --features selftest --bin sonomask-selftest` (QEMU runner)"
    );
    std::process::exit(2);
}

#[cfg(target_os = "none")]
mod image {
    use cortex_m_rt::entry;
    use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
    use cortex_m_semihosting::hprintln;
    #[cfg(feature = "defmt")]
    use defmt_semihosting as _;
    use panic_semihosting as _;
    use sonomask_core::selftest::CHECKS;

    #[entry]
    fn main() -> ! {
        let mut failed = 0usize;
        for check in CHECKS {
            match check.run() {
                Ok(cases) => hprintln!("ok    {} ({} cases)", check.name, cases),
                Err(m) => {
                    failed += 1;
                    hprintln!("FAIL  {}: {}", check.name, m);
                }
            }
        }
        if failed == 0 {
            hprintln!("selftest: all {} checks passed", CHECKS.len());
            debug::exit(EXIT_SUCCESS);
        } else {
            hprintln!("selftest: {} of {} checks FAILED", failed, CHECKS.len());
            debug::exit(EXIT_FAILURE);
        }
        loop {
            cortex_m::asm::wfi();
        }
    }
}

//! The HIL rig end to end, one test binary: against the simulated device
//! ([`sim`]) and the QEMU board ([`qemu`], ignored in a plain `cargo test`;
//! `.ci/run` runs them with `--ignored`).

mod qemu;
mod sim;

//! Turns on the `sonomask_dsp` cfg for targets with the Armv7E-M DSP
//! extension (`thumbv7em-*`: Cortex-M4/M7), where the engine's inner loops
//! use `SMLAD` through inline assembly (`src/engine/dsp.rs`). Stable Rust
//! exposes neither `target_feature = "dsp"` nor the DSP intrinsics, hence
//! the target name. Every other target (the host) uses the portable
//! version, which computes the same integers.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(sonomask_dsp)");
    let target = env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=sonomask_dsp");
    }
}

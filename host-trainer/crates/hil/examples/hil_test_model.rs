//! Writes the stand-in model for HIL runs: the trainer's 64×80 U-Net with
//! hand-set weights that threshold the blurred thumbnail
//! (`sonomask_hil::threshold_model`). For CI and tests until a trained,
//! quantised `models/default.snmk` exists.
//!
//! ```text
//! cargo run -p sonomask-hil --example hil_test_model -- OUT.snmk [THRESHOLD]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use sonomask_data::dataset;
use sonomask_hil::threshold_model;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: hil_test_model OUT.snmk [THRESHOLD]");
        return ExitCode::from(2);
    };
    let threshold = match args.next().map(|a| a.to_string_lossy().parse::<u8>()) {
        None => threshold_model::DEFAULT_THRESHOLD,
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            eprintln!("error: THRESHOLD must be 0..=255: {e}");
            return ExitCode::from(2);
        }
    };
    let written = threshold_model::blob(threshold)
        .map_err(|e| e.to_string())
        .and_then(|b| dataset::write_atomic(&out, &b).map_err(|e| e.to_string()));
    match written {
        Ok(()) => {
            println!("{}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", out.display());
            ExitCode::from(2)
        }
    }
}

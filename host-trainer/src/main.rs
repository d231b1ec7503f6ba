//! `sonomask`: removes patient data burned into ultrasound video by keeping
//! only the scan sector. This binary is a thin CLI over the `sonomask`
//! library; every subcommand lives in its own file under `cmd/`.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

/// Single allocations are capped while a DICOM file is parsed, so a few
/// kilobytes that declare gigabyte lengths fail to parse instead of taking
/// the memory (`sonomask_data::ingest::alloc_cap`).
#[global_allocator]
static ALLOC: sonomask_data::ingest::alloc_cap::CappedAlloc =
    sonomask_data::ingest::alloc_cap::CappedAlloc;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `sonomask inspect blob | head` closes the pipe early; `println!` then
/// panics with "failed printing to stdout: Broken pipe". The reader wanted
/// no more output, so that is a quiet, successful end (as `yes | head`),
/// not a backtrace. Every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

//! `sonomask`: removes patient data burned into ultrasound video by keeping
//! only the scan sector. This binary is a thin CLI over the `sonomask`
//! library; every subcommand lives in its own file under `cmd/`.

mod cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

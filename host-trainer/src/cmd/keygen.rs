use std::path::PathBuf;
use std::process::ExitCode;

use sonomask_deploy::model_file;

/// Create an ed25519 signing key for model blobs.
///
/// Writes KEY (the secret seed as 64 hex digits, mode 0600; keep it off the
/// cart and out of version control) and KEY.pub (the public key the firmware
/// is configured to require). Sign with `sonomask quantize --sign-key KEY`.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Secret key file to create (the public key goes to <KEY>.pub).
    #[arg(long)]
    out: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let vk = model_file::keygen(&args.out, args.force)?;
    let public = model_file::public_path(&args.out);
    println!("{}", public.display());
    eprintln!(
        "secret key -> {} (mode 600); public key -> {} ({})",
        args.out.display(),
        public.display(),
        vk.as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok(ExitCode::SUCCESS)
}

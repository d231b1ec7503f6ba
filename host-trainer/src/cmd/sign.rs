use std::path::PathBuf;
use std::process::ExitCode;

use sonomask_data::dataset;
use sonomask_deploy::model_file;

/// Sign an existing model blob (.snmk) without requantising it.
///
/// Copies the blob's payload byte for byte (weights, header and provenance
/// hash stay exactly as `quantize` wrote them), appends an ed25519
/// signature made with KEY and a fresh CRC, and writes OUT atomically (OUT
/// may be the input). A signature already present is replaced, so a
/// development-signed blob can be re-signed with a cart's production key.
/// The blob must load cleanly first (CRC, graph, arena); any defect is an
/// error and the exit code is 2. Check the result with
/// `sonomask inspect OUT --pubkey KEY.pub --require-signature`.
///
/// --slot also writes the flash image of the model slot (b"SNMS", the
/// blob's length as u32 LE, the blob) that a flasher puts at the
/// firmware's model slot address, e.g. for the mps2 board
/// `probe-rs download --binary-format bin --base-address 0x300000 SLOT`.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The model blob to sign.
    #[arg(long)]
    model: PathBuf,
    /// Secret key file (from `sonomask keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Where to write the signed blob (may be the same as --model).
    #[arg(long)]
    out: PathBuf,
    /// Also write the model slot image (header + signed blob) for flashing.
    #[arg(long)]
    slot: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let signed = model_file::sign_file(&args.model, &args.key, &args.out)?;
    println!("{}", args.out.display());
    if let Some(path) = &args.slot {
        let image = sonomask_hil::slot_image(&signed)?;
        dataset::write_atomic(path, &image)?;
        println!("{}", path.display());
    }
    eprintln!(
        "signed {} -> {} ({} bytes)",
        args.model.display(),
        args.out.display(),
        signed.len()
    );
    Ok(ExitCode::SUCCESS)
}

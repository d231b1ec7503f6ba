use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_deploy::model_file;

/// Describe a model blob (.snmk) and check it the way the cart does.
///
/// Prints the header (architecture, format version, input/output shapes and
/// quantisation, arena, provenance hash), every op with its MACs and
/// parameter bytes, the CRC and the signature status. Any defect (bad magic,
/// unsupported version, truncation, CRC mismatch, bad or missing signature,
/// inconsistent graph) is an error and the exit code is 2.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The model blob.
    file: PathBuf,
    /// Public key (KEY.pub) to verify the signature with.
    #[arg(long)]
    pubkey: Option<PathBuf>,
    /// Fail unless the blob is signed and verifies with --pubkey.
    #[arg(long, requires = "pubkey")]
    require_signature: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let key = model_file::read_verifying_key_if_given(args.pubkey.as_deref())?;
    let policy = model_file::signature_policy(key.as_ref(), args.require_signature);
    let r = model_file::inspect(&args.file, &bytes, policy)?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}  ({} bytes)", r.file, r.file_bytes);
    println!("  arch          {}  (format {})", r.arch, r.format_version);
    println!(
        "  input         {}  scale {} zero point {}",
        r.input, r.input_scale, r.input_zero_point
    );
    println!(
        "  output        {}  scale {} zero point {}",
        r.output, r.output_scale, r.output_zero_point
    );
    println!("  MACs          {}", r.macs);
    println!("  parameters    {} bytes", r.param_bytes);
    println!(
        "  arena         {} bytes (declared {})",
        r.arena_bytes, r.declared_arena_bytes
    );
    println!("  provenance    {}", r.provenance);
    println!("  crc-32        {}", r.crc);
    println!("  signature     {}", r.signature);
    println!(
        "  {:>3}  {:<24} {:>12} {:>10} {:>8}",
        "#", "op", "output", "MACs", "bytes"
    );
    for o in &r.ops {
        println!(
            "  {:>3}  {:<24} {:>12} {:>10} {:>8}",
            o.index, o.op, o.output, o.macs, o.param_bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}

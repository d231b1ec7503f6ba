//! Command-line surface: flags are parsed here, validated into library
//! configuration, and handed to the library modules.

mod annotate;
mod check;
mod demo;
mod eval;
mod experiment;
mod hil;
mod ingest;
mod inspect;
mod keygen;
mod mask;
mod predict;
mod quantize;
mod refine_loop;
mod review;
mod sign;
mod stats;
mod synth;
mod train;
mod weak_label;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// sonomask keeps only the scan sector of ultrasound frames and blacks out
/// everything else (burned-in patient data, ECG, bars, toolbars).
#[derive(Parser, Debug)]
#[command(name = "sonomask", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Synth(synth::Args),
    WeakLabel(weak_label::Args),
    Eval(eval::Args),
    Ingest(ingest::Args),
    Check(check::Args),
    Review(review::Args),
    Annotate(annotate::Args),
    Train(train::Args),
    Predict(predict::Args),
    Mask(mask::Args),
    Loop(refine_loop::Args),
    #[command(subcommand)]
    Stats(stats::Command),
    Quantize(quantize::Args),
    #[command(subcommand)]
    Experiment(experiment::Command),
    Keygen(keygen::Args),
    Sign(sign::Args),
    Inspect(inspect::Args),
    Demo(demo::Args),
    Hil(hil::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Synth(a) => synth::run(a),
        Command::WeakLabel(a) => weak_label::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Ingest(a) => ingest::run(a),
        Command::Check(a) => check::run(a),
        Command::Review(a) => review::run(a),
        Command::Annotate(a) => annotate::run(a),
        Command::Train(a) => train::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Mask(a) => mask::run(a),
        Command::Loop(a) => refine_loop::run(a),
        Command::Stats(c) => stats::run(c),
        Command::Quantize(a) => quantize::run(a),
        Command::Experiment(c) => experiment::run(c),
        Command::Keygen(a) => keygen::run(a),
        Command::Sign(a) => sign::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Hil(a) => hil::run(a),
    }
}

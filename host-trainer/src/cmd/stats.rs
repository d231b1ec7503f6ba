use std::process::ExitCode;

use anyhow::Context;
use sonomask_train::stats::{self, Alternative, Design};

/// Statistics for comparing repeated runs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Ttest(TtestArgs),
}

/// Student's t-test between two samples of a metric (e.g. pixel accuracy
/// per seed of two arms), as in the paper; --welch and --paired for the
/// other designs. Same conventions as scipy.stats.ttest_ind / ttest_rel:
/// the difference is a − b.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TtestArgs {
    /// First sample, comma-separated (e.g. 0.981,0.984,0.979).
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        required = true
    )]
    a: Vec<f64>,
    /// Second sample, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        required = true
    )]
    b: Vec<f64>,
    /// Paired test (the samples are matched, e.g. by seed).
    #[arg(long, conflicts_with = "welch")]
    paired: bool,
    /// Welch's test (unequal variances).
    #[arg(long)]
    welch: bool,
    /// Alternative hypothesis about mean(a) − mean(b).
    #[arg(long, value_enum, default_value = "two-sided")]
    alternative: Alternative,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Ttest(a) => ttest(a),
    }
}

fn ttest(args: TtestArgs) -> anyhow::Result<ExitCode> {
    let design = if args.paired {
        Design::Paired
    } else if args.welch {
        Design::Welch
    } else {
        Design::Student
    };
    let r = stats::ttest(&args.a, &args.b, design, args.alternative).context("t-test")?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{:?} t-test ({:?}): t = {:.6}, df = {:.4}, p = {:.6e}",
            r.design, r.alternative, r.t, r.df, r.p
        );
        println!(
            "mean a = {:.6} (n = {}), mean b = {:.6} (n = {}), difference = {:.6}, 95% CI [{:.6}, {:.6}], Cohen's d = {:.3}",
            r.mean_a, r.n_a, r.mean_b, r.n_b, r.mean_diff, r.ci95[0], r.ci95[1], r.cohens_d
        );
    }
    Ok(ExitCode::SUCCESS)
}

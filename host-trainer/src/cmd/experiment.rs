use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use sonomask_data::progress;
use sonomask_train::experiment::config::{self, ExperimentConfig};
use sonomask_train::experiment::error_chain;
use sonomask_train::experiment::report::{self, Loaded, Report, Written};
use sonomask_train::experiment::run::{self, Event, RunOptions, RunSummary};
use sonomask_train::experiment::shard::Shard;

/// Repeated-run experiments: arms × seeds, t-tests, report and plots.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Run(RunArgs),
    Report(ReportArgs),
}

/// Run the (arm, seed) jobs of an experiment file; finished jobs are skipped.
///
/// Each job writes RUNS/results/<arm>/<seed>.json (atomically). The pool and
/// test set are generated once into RUNS/data from the file's [data]
/// section. --shard I/N runs every N-th job of the job list sorted by
/// (arm, seed), starting at I (0-based), so N machines or array tasks cover
/// all jobs: Slurm `--shard $SLURM_ARRAY_TASK_ID/N` with --array=0-(N-1),
/// a Kubernetes Indexed Job `--shard $JOB_COMPLETION_INDEX/N`, or
/// `seq 0 3 | parallel sonomask experiment run ... --shard {}/4`.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RunArgs {
    /// Experiment file (TOML), e.g. experiments/paper.toml.
    #[arg(long)]
    config: PathBuf,
    /// The RUNS folder: data, results, scratch (created; reused to resume).
    #[arg(long)]
    out: PathBuf,
    /// Run only shard I of N (0-based), e.g. 0/4.
    #[arg(long, value_name = "I/N", default_value = "0/1")]
    shard: Shard,
    /// Jobs at the same time (each also uses all cores inside).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Keep each job's work folder (labels, journal, checkpoints, masks).
    #[arg(long)]
    keep_work: bool,
}

/// Summarise an experiment's results: report.md, results.csv, plots.
///
/// Per arm: mean ± sd and 95% CI of pixel accuracy, Dice, IoU, PHI leak and
/// signal loss; per configured comparison: Student, Welch and paired
/// p-values, Holm-adjusted, Cohen's d and the runs per arm needed for power
/// 0.8; human effort against accuracy; a box-and-strip plot per metric (SVG
/// and PNG). Works on partial results (missing jobs are listed).
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// The RUNS folder of `experiment run`.
    #[arg(long)]
    runs: PathBuf,
    /// Folder for report.md, results.csv and plots/ (created).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Run(a) => {
            let cfg = config::load(&a.config).map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
            run_jobs(&cfg, &a.out, a.shard, usize::from(a.jobs), a.keep_work)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(a) => {
            let (loaded, r, written) = write_report(&a.runs, &a.out)?;
            print_report(&loaded, &r, &written);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `experiment run`, also used by the demo.
pub fn run_jobs(
    cfg: &ExperimentConfig,
    out: &Path,
    shard: Shard,
    jobs: usize,
    keep_work: bool,
) -> anyhow::Result<RunSummary> {
    println!(
        "experiment {}: {} arms × {} seeds = {} jobs; shard {shard}; {} at a time; runs in {}",
        cfg.name,
        cfg.arms.len(),
        cfg.seeds.len(),
        cfg.arms.len() * cfg.seeds.len(),
        jobs,
        out.display()
    );
    println!(
        "  data: pool of {} clips, test set of {} ({} frames each) in {} (generated once, then reused)",
        cfg.data.pool_clips,
        cfg.data.test_clips,
        cfg.data.frames,
        out.join("data").display()
    );
    if let Some(real) = &cfg.data.real {
        println!("  real test set: {real} (ingested once into the same folder)");
    }
    let bar: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);
    let with_bar = |f: &dyn Fn(&indicatif::ProgressBar)| {
        if let Ok(b) = bar.lock()
            && let Some(b) = b.as_ref()
        {
            f(b);
        }
    };
    let on_event = |e: Event<'_>| match e {
        Event::Planned { todo, skipped } => {
            println!("  {skipped} finished already, {todo} to run");
            let pb = progress::bar_with_message(todo as u64, "jobs");
            // Stage bars of the jobs themselves would fight this one.
            progress::set_quiet(true);
            if let Ok(mut b) = bar.lock() {
                *b = Some(pb);
            }
        }
        Event::Stage { arm, seed, stage } => {
            with_bar(&|b| b.set_message(format!("{arm} seed {seed}: {stage}")));
        }
        Event::Finished(r) => with_bar(&|b| {
            b.suspend(|| {
                println!(
                    "  {:<28} seed {:>3}: pixel accuracy {:.4}, Dice {:.4}{}, {:>6.1} s, {:>5.0} simulated human s",
                    r.arm,
                    r.seed,
                    r.metrics.pixel_accuracy,
                    r.metrics.dice,
                    r.real.as_ref().map_or(String::new(), |m| format!(
                        "; real {:.4}",
                        m.pixel_accuracy
                    )),
                    r.wall_s,
                    r.human.seconds()
                )
            });
            b.inc(1);
        }),
        Event::Failed { arm, seed, error } => with_bar(&|b| {
            b.suspend(|| eprintln!("  {arm} seed {seed} FAILED: {}", error_chain(error)));
            b.inc(1);
        }),
    };
    let opts = RunOptions {
        runs: out.to_path_buf(),
        shard,
        jobs,
        keep_work,
    };
    let result = run::run(cfg, &opts, &on_event);
    progress::set_quiet(false);
    if let Ok(mut b) = bar.lock()
        && let Some(b) = b.take()
    {
        b.finish_and_clear();
    }
    let s = result.map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
    println!(
        "shard {shard}: {} of {} jobs; ran {}, skipped {} finished; {:.1} s; results in {}",
        s.in_shard,
        s.total,
        s.ran,
        s.skipped,
        s.seconds,
        out.join("results").display()
    );
    Ok(s)
}

/// `experiment report` without printing, also used by the demo.
pub fn write_report(runs: &Path, out: &Path) -> anyhow::Result<(Loaded, Report, Written)> {
    report::report(runs, out)
        .map_err(|e| anyhow::anyhow!(error_chain(&e)))
        .with_context(|| format!("report of {}", runs.display()))
}

/// The headline table and where the files are.
pub fn print_report(loaded: &Loaded, r: &Report, written: &Written) {
    println!(
        "experiment {}: {} of {} jobs finished",
        r.experiment, r.finished, r.total_jobs
    );
    if !r.missing.is_empty() {
        println!(
            "  {} jobs missing (run `sonomask experiment run` again to finish them)",
            r.missing.len()
        );
    }
    print!("{}", report::headline(loaded, r));
    println!("report -> {}", written.report_md.display());
    println!("table  -> {}", written.results_csv.display());
    if let Some(dir) = written.plots.first().and_then(|p| p.parent()) {
        println!(
            "plots  -> {} ({} files, SVG and PNG)",
            dir.display(),
            written.plots.len()
        );
    }
}

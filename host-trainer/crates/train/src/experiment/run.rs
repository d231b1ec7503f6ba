//! `experiment run`: the jobs of one shard, skipping finished ones, on
//! `jobs` worker threads.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::config::ExperimentConfig;
use super::job::{self, JobContext, JobResult};
use super::shard::{self, Job, Shard};
use super::{ExperimentError, data, io_err};
use sonomask_data::dataset;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The RUNS folder.
    pub runs: PathBuf,
    pub shard: Shard,
    /// Jobs run at the same time (each also uses the rayon pool inside).
    pub jobs: usize,
    /// Keep each job's work folder (labels, journal, checkpoints, masks).
    pub keep_work: bool,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// Jobs of the whole experiment.
    pub total: usize,
    /// Jobs of this shard.
    pub in_shard: usize,
    /// Jobs of this shard that were already finished.
    pub skipped: usize,
    pub ran: usize,
    pub seconds: f64,
}

/// Progress of a run, for the CLI.
pub enum Event<'a> {
    /// About to run this many jobs (after skipping finished ones).
    Planned {
        todo: usize,
        skipped: usize,
    },
    Stage {
        arm: &'a str,
        seed: u64,
        stage: &'a str,
    },
    Finished(&'a JobResult),
    Failed {
        arm: &'a str,
        seed: u64,
        error: &'a ExperimentError,
    },
}

/// Runs the jobs of `opts.shard` that have no result yet.
pub fn run(
    cfg: &ExperimentConfig,
    opts: &RunOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<RunSummary, ExperimentError> {
    let t0 = Instant::now();
    if opts.jobs == 0 {
        return Err(ExperimentError::Invalid("--jobs must be at least 1".into()));
    }
    let runs = &opts.runs;
    std::fs::create_dir_all(runs).map_err(io_err(runs))?;
    let fixed = data::prepare(runs, &cfg.data)?;

    let all = shard::jobs(cfg);
    let mine = opts.shard.select(&all);
    // Every finished result in RUNS (not only this shard's) must come from
    // this configuration and these data: a stale one would mix into the
    // statistics.
    let mut finished = std::collections::HashSet::new();
    for j in &all {
        let path = job::result_path(runs, &j.arm.name, j.seed);
        if !path.exists() {
            continue;
        }
        let r = job::read_result(&path)?;
        let want = cfg.fingerprint(j.arm);
        if r.fingerprint != want || r.data_fingerprint != fixed.fingerprint {
            return Err(ExperimentError::Conflict {
                path,
                message: format!(
                    "this result was made by another configuration (arm fingerprint {} vs {want}, data {} vs {}); use a fresh --out, or delete the stale results",
                    r.fingerprint, r.data_fingerprint, fixed.fingerprint
                ),
            });
        }
        finished.insert((j.arm.name.as_str(), j.seed));
    }
    let mut todo: Vec<Job<'_>> = mine
        .iter()
        .filter(|j| !finished.contains(&(j.arm.name.as_str(), j.seed)))
        .copied()
        .collect();
    // Seed by seed (arms by name within a seed), whatever the shard's
    // dealing: an interrupted run leaves whole seeds, which the paired
    // tests can use, and the arms sharing a seed's pretraining
    // (RUNS/cache/pretrain) run close together.
    todo.sort_by(|a, b| a.seed.cmp(&b.seed).then(a.arm.name.cmp(&b.arm.name)));
    // The report reads the configuration from here; written only once no
    // finished result contradicts it, and every shard writes the same bytes.
    dataset::write_json(&runs.join("experiment.json"), cfg)?;
    let skipped = mine.len() - todo.len();
    on_event(Event::Planned {
        todo: todo.len(),
        skipped,
    });
    // Shared labels before the workers start, so two workers never build
    // the same folder at once (they would agree, but it wastes time).
    let mut labelers: Vec<_> = todo
        .iter()
        .filter_map(|j| j.arm.kind.pool_labeler())
        .collect();
    labelers.sort_by_key(|m| m.name());
    labelers.dedup();
    for m in labelers {
        data::ensure_labels(runs, &fixed.pool, m)?;
    }

    let ctx = JobContext {
        cfg,
        runs,
        pool: &fixed.pool,
        test: &fixed.test,
        real: fixed.real.as_ref(),
        data_fingerprint: &fixed.fingerprint,
    };
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let ran = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(todo.len()) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(j) = todo.get(k) else { break };
                    let (arm, seed) = (j.arm.name.as_str(), j.seed);
                    let outcome = job::run_job(&ctx, j.arm, seed, &|stage| {
                        on_event(Event::Stage { arm, seed, stage })
                    })
                    .and_then(|r| {
                        job::write_result(&job::result_path(runs, arm, seed), &r)?;
                        if !opts.keep_work {
                            let w = job::work_dir(runs, arm, seed);
                            std::fs::remove_dir_all(&w).map_err(io_err(&w))?;
                        }
                        Ok(r)
                    });
                    match outcome {
                        Ok(r) => {
                            ran.fetch_add(1, Ordering::SeqCst);
                            on_event(Event::Finished(&r));
                        }
                        Err(error) => {
                            on_event(Event::Failed {
                                arm,
                                seed,
                                error: &error,
                            });
                            if let Ok(mut f) = failures.lock() {
                                f.push(format!(
                                    "{arm} seed {seed}: {}",
                                    super::error_chain(&error)
                                ));
                            }
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_default();
    if !failures.is_empty() {
        return Err(ExperimentError::JobsFailed(failures));
    }
    Ok(RunSummary {
        total: all.len(),
        in_shard: mine.len(),
        skipped,
        ran: ran.into_inner(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

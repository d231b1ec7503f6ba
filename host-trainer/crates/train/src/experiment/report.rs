//! `experiment report`: per-arm statistics, the configured comparisons,
//! `report.md`, `results.csv` and the plots.
//!
//! Statistics (all from [`crate::stats`], checked against scipy there):
//! - per arm and metric: mean ± sample sd and the 95% t interval of the mean;
//! - per comparison (the configured metric, difference a − b): Student's
//!   pooled-variance t-test (the paper's), Welch's test and the paired test
//!   over the seeds both arms finished (seed `s` gives both arms the same
//!   reviewer, annotator and initial weights), each two-sided;
//! - Holm's adjustment across all comparisons, separately for each test,
//!   since Student, Welch and paired are alternative analyses of the same
//!   comparisons, not further hypotheses;
//! - Cohen's d over the pooled sd, and the runs per arm a two-sided Student
//!   test needs to detect that d at α = 0.05 with power 0.8 (exact
//!   noncentral t, [`stats::runs_for_power`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::config::{ArmKind, ExperimentConfig, Metric};
use super::job::{self, JobResult};
use super::{ExperimentError, io_err, plot};
use crate::stats::{self, Alternative, Design, MeanCi, TTest};
use sonomask_data::dataset;

/// Results of an experiment as found in RUNS.
pub struct Loaded {
    pub cfg: ExperimentConfig,
    /// Sorted by arm name, then seed.
    pub results: Vec<JobResult>,
    /// Jobs of the configuration without a result yet.
    pub missing: Vec<(String, u64)>,
}

/// Reads `RUNS/experiment.json` and every result of its jobs. Results from
/// another configuration or other data are an error: pooling them would
/// make the statistics meaningless.
pub fn load(runs: &Path) -> Result<Loaded, ExperimentError> {
    let cfg_path = runs.join("experiment.json");
    if !cfg_path.is_file() {
        return Err(ExperimentError::NoResults(format!(
            "{}: no experiment here (no experiment.json); run `sonomask experiment run --out {}` first",
            runs.display(),
            runs.display()
        )));
    }
    let text = std::fs::read_to_string(&cfg_path).map_err(io_err(&cfg_path))?;
    let cfg: ExperimentConfig =
        serde_json::from_str(&text).map_err(|e| ExperimentError::Config {
            path: cfg_path.clone(),
            message: e.to_string(),
        })?;
    cfg.validate().map_err(|e| ExperimentError::Config {
        path: cfg_path.clone(),
        message: e.to_string(),
    })?;
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for j in super::shard::jobs(&cfg) {
        let path = job::result_path(runs, &j.arm.name, j.seed);
        if !path.exists() {
            missing.push((j.arm.name.clone(), j.seed));
            continue;
        }
        let r = job::read_result(&path)?;
        if r.arm != j.arm.name || r.seed != j.seed {
            return Err(ExperimentError::BadResult {
                path,
                message: format!("holds arm {} seed {}", r.arm, r.seed),
            });
        }
        if r.fingerprint != cfg.fingerprint(j.arm) {
            return Err(ExperimentError::Conflict {
                path,
                message: "made by another configuration of this arm than experiment.json; rerun it or delete the stale result".into(),
            });
        }
        results.push(r);
    }
    if let Some(first) = results.first()
        && let Some(other) = results
            .iter()
            .find(|r| r.data_fingerprint != first.data_fingerprint)
    {
        return Err(ExperimentError::Conflict {
            path: job::result_path(runs, &other.arm, other.seed),
            message: format!(
                "made from other data ({}) than {} seed {} ({}); every shard must use identical RUNS/data",
                other.data_fingerprint, first.arm, first.seed, first.data_fingerprint
            ),
        });
    }
    if results.is_empty() {
        return Err(ExperimentError::NoResults(format!(
            "{}: no finished jobs yet; run `sonomask experiment run`",
            runs.display()
        )));
    }
    Ok(Loaded {
        cfg,
        results,
        missing,
    })
}

/// Which test set a figure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestSet {
    /// The synthetic test set (`[data] test_clips`).
    Synthetic,
    /// The real test set (`[data] real`).
    Real,
}

impl TestSet {
    fn metrics(self, r: &JobResult) -> Option<&job::Metrics> {
        match self {
            TestSet::Synthetic => Some(&r.metrics),
            TestSet::Real => r.real.as_ref(),
        }
    }

    /// Prefix of its `results.csv` columns and plot files.
    pub fn prefix(self) -> &'static str {
        match self {
            TestSet::Synthetic => "",
            TestSet::Real => "real_",
        }
    }

    fn label(self) -> &'static str {
        match self {
            TestSet::Synthetic => "synthetic test set",
            TestSet::Real => "real test set",
        }
    }
}

/// One arm's statistics.
#[derive(Clone, Debug, Serialize)]
pub struct ArmStats {
    pub arm: String,
    pub kind: ArmKind,
    pub n: usize,
    /// Per metric (in [`Metric::ALL`] order): the values by seed and their summary.
    pub metrics: Vec<MetricStats>,
    /// The same on the real test set, over the runs that scored one; empty
    /// when none did.
    pub real: Vec<MetricStats>,
    pub mean_checks: f64,
    pub mean_check_seconds: f64,
    pub mean_drawings: f64,
    pub mean_draw_seconds: f64,
    pub human_seconds: Option<MeanCi>,
    pub mean_human_seconds: f64,
    pub mean_wall_seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricStats {
    pub metric: Metric,
    pub seeds: Vec<u64>,
    pub values: Vec<f64>,
    /// `None` below two runs.
    pub summary: Option<MeanCi>,
    pub mean: f64,
}

impl ArmStats {
    pub fn metric(&self, m: Metric) -> &MetricStats {
        // Every ArmStats holds all of Metric::ALL, in order.
        &self.metrics[Metric::ALL.iter().position(|x| *x == m).unwrap_or(0)]
    }

    /// `m` on `set`; `None` for the real set when no run scored it.
    pub fn metric_in(&self, set: TestSet, m: Metric) -> Option<&MetricStats> {
        let v = match set {
            TestSet::Synthetic => &self.metrics,
            TestSet::Real => &self.real,
        };
        v.get(Metric::ALL.iter().position(|x| *x == m).unwrap_or(0))
    }
}

/// Per metric, the values of the runs that scored `set`.
fn metric_stats(rs: &[&JobResult], set: TestSet) -> Vec<MetricStats> {
    let scored: Vec<(u64, &job::Metrics)> = rs
        .iter()
        .filter_map(|r| set.metrics(r).map(|m| (r.seed, m)))
        .collect();
    if scored.is_empty() && set == TestSet::Real {
        return Vec::new();
    }
    Metric::ALL
        .iter()
        .map(|&m| {
            let values: Vec<f64> = scored.iter().map(|(_, x)| x.get(m)).collect();
            let mean = if values.is_empty() {
                f64::NAN
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            };
            MetricStats {
                metric: m,
                seeds: scored.iter().map(|(s, _)| *s).collect(),
                summary: stats::mean_ci95(&values),
                mean,
                values,
            }
        })
        .collect()
}

/// One comparison's tests.
#[derive(Clone, Debug, Serialize)]
pub struct ComparisonStats {
    pub a: String,
    pub b: String,
    pub set: TestSet,
    pub metric: Metric,
    pub student: Result<TTest, String>,
    pub welch: Result<TTest, String>,
    /// Over the seeds both arms finished.
    pub paired: Result<TTest, String>,
    pub student_holm: Option<f64>,
    pub welch_holm: Option<f64>,
    pub paired_holm: Option<f64>,
    /// Runs per arm for power 0.8 at α = 0.05 given the observed Cohen's d.
    pub runs_for_power: Option<usize>,
}

/// Everything the report shows.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub experiment: String,
    pub total_jobs: usize,
    pub finished: usize,
    pub missing: Vec<(String, u64)>,
    pub data_fingerprint: String,
    /// In the configuration's order.
    pub arms: Vec<ArmStats>,
    /// On the synthetic test set, in the configuration's order; Holm's
    /// adjustment runs over these.
    pub comparisons: Vec<ComparisonStats>,
    /// The same comparisons on the real test set (empty without one), a
    /// family of their own for Holm's adjustment.
    pub real_comparisons: Vec<ComparisonStats>,
}

impl Report {
    /// Whether any run scored the real test set.
    pub fn has_real(&self) -> bool {
        self.arms.iter().any(|a| !a.real.is_empty())
    }
}

/// Computes the statistics of `loaded`.
pub fn analyse(loaded: &Loaded) -> Report {
    let cfg = &loaded.cfg;
    let mut by_arm: BTreeMap<&str, Vec<&JobResult>> = BTreeMap::new();
    for r in &loaded.results {
        by_arm.entry(r.arm.as_str()).or_default().push(r);
    }
    let arms: Vec<ArmStats> = cfg
        .arms
        .iter()
        .map(|a| {
            let rs = by_arm.get(a.name.as_str()).cloned().unwrap_or_default();
            let n = rs.len();
            let mean = |f: &dyn Fn(&JobResult) -> f64| {
                if n == 0 {
                    f64::NAN
                } else {
                    rs.iter().map(|r| f(r)).sum::<f64>() / n as f64
                }
            };
            let human: Vec<f64> = rs.iter().map(|r| r.human.seconds()).collect();
            ArmStats {
                arm: a.name.clone(),
                kind: a.kind.clone(),
                n,
                metrics: metric_stats(&rs, TestSet::Synthetic),
                real: metric_stats(&rs, TestSet::Real),
                mean_checks: mean(&|r| r.human.checks as f64),
                mean_check_seconds: mean(&|r| r.human.check_seconds),
                mean_drawings: mean(&|r| r.human.drawings as f64),
                mean_draw_seconds: mean(&|r| r.human.draw_seconds),
                human_seconds: stats::mean_ci95(&human),
                mean_human_seconds: mean(&|r| r.human.seconds()),
                mean_wall_seconds: mean(&|r| r.wall_s),
            }
        })
        .collect();
    let comparisons = compare(cfg, &arms, TestSet::Synthetic);
    let real_comparisons = compare(cfg, &arms, TestSet::Real);
    Report {
        experiment: cfg.name.clone(),
        total_jobs: cfg.arms.len() * cfg.seeds.len(),
        finished: loaded.results.len(),
        missing: loaded.missing.clone(),
        data_fingerprint: loaded
            .results
            .first()
            .map(|r| r.data_fingerprint.clone())
            .unwrap_or_default(),
        arms,
        comparisons,
        real_comparisons,
    }
}

/// The configured comparisons on `set`, Holm-adjusted among themselves;
/// empty when an arm has no figures there.
fn compare(cfg: &ExperimentConfig, arms: &[ArmStats], set: TestSet) -> Vec<ComparisonStats> {
    let find = |name: &str| arms.iter().find(|a| a.arm == name);
    let mut comparisons: Vec<ComparisonStats> = cfg
        .comparisons
        .iter()
        // Validation guarantees both arms exist; filter_map keeps it panic-free.
        .filter_map(|c| {
            let (a, b) = (find(&c.a)?, find(&c.b)?);
            let (ma, mb) = (a.metric_in(set, cfg.metric)?, b.metric_in(set, cfg.metric)?);
            let test = |x: &[f64], y: &[f64], d| {
                stats::ttest(x, y, d, Alternative::TwoSided).map_err(|e| e.to_string())
            };
            let (pa, pb) = paired_by_seed(ma, mb);
            let student = test(&ma.values, &mb.values, Design::Student);
            let runs_for_power = student
                .as_ref()
                .ok()
                .and_then(|t| stats::runs_for_power(t.cohens_d, 0.05, 0.8));
            Some(ComparisonStats {
                a: c.a.clone(),
                b: c.b.clone(),
                set,
                metric: cfg.metric,
                welch: test(&ma.values, &mb.values, Design::Welch),
                paired: test(&pa, &pb, Design::Paired),
                student,
                student_holm: None,
                welch_holm: None,
                paired_holm: None,
                runs_for_power,
            })
        })
        .collect();
    type Pick = fn(&mut ComparisonStats) -> (&Result<TTest, String>, &mut Option<f64>);
    let picks: [Pick; 3] = [
        |c| (&c.student, &mut c.student_holm),
        |c| (&c.welch, &mut c.welch_holm),
        |c| (&c.paired, &mut c.paired_holm),
    ];
    for pick in picks {
        let raw: Vec<f64> = comparisons
            .iter_mut()
            .map(|c| pick(c).0.as_ref().map_or(f64::NAN, |t| t.p))
            .collect();
        for (c, adj) in comparisons.iter_mut().zip(stats::holm(&raw)) {
            *pick(c).1 = adj.is_finite().then_some(adj);
        }
    }
    comparisons
}

/// The values of both arms at the seeds both finished, in seed order.
fn paired_by_seed(a: &MetricStats, b: &MetricStats) -> (Vec<f64>, Vec<f64>) {
    let bs: BTreeMap<u64, f64> = b
        .seeds
        .iter()
        .copied()
        .zip(b.values.iter().copied())
        .collect();
    a.seeds
        .iter()
        .zip(&a.values)
        .filter_map(|(s, va)| bs.get(s).map(|vb| (*va, *vb)))
        .unzip()
}

/// The `results.csv` header.
pub const CSV_HEADER: &str =
    "arm,seed,pixel_accuracy,dice,iou,phi_leak,signal_loss,seconds,human_seconds";

/// One row per run, sorted by arm name then seed. Numbers are printed in
/// Rust's shortest round-trip form, so equal results give equal bytes; only
/// `seconds` (wall clock) differs between two runs of the same job. When
/// any run scored the real test set, a `real_<metric>` column per metric
/// follows (empty for a run without).
pub fn results_csv(results: &[JobResult]) -> String {
    let mut rows: Vec<&JobResult> = results.iter().collect();
    rows.sort_by(|a, b| a.arm.cmp(&b.arm).then(a.seed.cmp(&b.seed)));
    let real = rows.iter().any(|r| r.real.is_some());
    let mut s = String::from(CSV_HEADER);
    if real {
        for m in Metric::ALL {
            let _ = write!(s, ",real_{}", m.key());
        }
    }
    s.push('\n');
    for r in rows {
        let _ = write!(s, "{},{}", r.arm, r.seed);
        for m in Metric::ALL {
            let _ = write!(s, ",{}", r.metrics.get(m));
        }
        let _ = write!(s, ",{},{}", r.wall_s, r.human.seconds());
        if real {
            for m in Metric::ALL {
                match &r.real {
                    Some(x) => {
                        let _ = write!(s, ",{}", x.get(m));
                    }
                    None => s.push(','),
                }
            }
        }
        s.push('\n');
    }
    s
}

/// Files the report wrote.
#[derive(Clone, Debug)]
pub struct Written {
    pub report_md: PathBuf,
    pub results_csv: PathBuf,
    pub plots: Vec<PathBuf>,
}

/// Writes `report.md`, `results.csv` and `plots/` under `out`.
pub fn write(loaded: &Loaded, report: &Report, out: &Path) -> Result<Written, ExperimentError> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let results_csv = out.join("results.csv");
    dataset::write_atomic(&results_csv, results_csv_text(loaded).as_bytes())?;
    let plots_dir = out.join("plots");
    let mut plots = Vec::new();
    for set in sets(report) {
        for m in Metric::ALL {
            let series: Vec<(&str, &[f64])> = report
                .arms
                .iter()
                .map(|a| {
                    let v = a.metric_in(set, m).map_or(&[][..], |x| x.values.as_slice());
                    (a.arm.as_str(), v)
                })
                .collect();
            let base = plots_dir.join(format!("{}{}", set.prefix(), m.key()));
            plots.extend(plot::box_strip(&base, m, set.label(), &series)?);
        }
    }
    let points: Vec<plot::EffortPoint<'_>> = report
        .arms
        .iter()
        .filter(|a| a.n > 0)
        .map(|a| {
            let ms = a.metric(loaded.cfg.metric);
            plot::EffortPoint {
                arm: &a.arm,
                human_minutes: a.mean_human_seconds / 60.0,
                mean: ms.mean,
                sd: ms.summary.map_or(0.0, |s| s.sd),
            }
        })
        .collect();
    plots.extend(plot::effort(
        &plots_dir.join("effort"),
        loaded.cfg.metric,
        &points,
    )?);
    let report_md = out.join("report.md");
    dataset::write_atomic(&report_md, markdown(loaded, report).as_bytes())?;
    Ok(Written {
        report_md,
        results_csv,
        plots,
    })
}

/// The test sets the report has figures for.
fn sets(r: &Report) -> Vec<TestSet> {
    if r.has_real() {
        vec![TestSet::Synthetic, TestSet::Real]
    } else {
        vec![TestSet::Synthetic]
    }
}

fn results_csv_text(loaded: &Loaded) -> String {
    results_csv(&loaded.results)
}

fn f4(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "–".into()
    }
}

/// A p-value: 4 decimals, or scientific below 0.001.
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p < 1e-3 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn mean_sd(s: &MetricStats) -> String {
    match s.summary {
        Some(m) => format!("{} ± {}", f4(m.mean), f4(m.sd)),
        None => f4(s.mean),
    }
}

fn ci(s: &MetricStats) -> String {
    match s.summary {
        Some(m) => format!("[{}, {}]", f4(m.ci95[0]), f4(m.ci95[1])),
        None => "–".into(),
    }
}

fn p_cell(t: &Result<TTest, String>, holm: Option<f64>) -> String {
    match t {
        Ok(t) => format!("{} ({})", fmt_p(t.p), holm.map_or("–".to_string(), fmt_p)),
        Err(e) => format!("– ({e})"),
    }
}

fn kind_text(k: &ArmKind) -> String {
    match k {
        ArmKind::Weak { labeler } => format!("{labeler} labels, no model"),
        ArmKind::Trained {
            labeler,
            checked,
            refine,
        } => format!(
            "trained on {} {labeler} labels{}",
            if *checked { "accepted" } else { "all" },
            if *refine {
                ", refined on the drawn set"
            } else {
                ""
            }
        ),
        ArmKind::HqOnly => "trained on the drawn set only".into(),
    }
}

/// `report.md`.
pub fn markdown(loaded: &Loaded, r: &Report) -> String {
    let cfg = &loaded.cfg;
    let mut s = String::new();
    let _ = writeln!(s, "# Experiment `{}`\n", r.experiment);
    let _ = writeln!(
        s,
        "{} of {} jobs finished ({} arms × {} seeds); test set: {} synthetic clips, pool: {} clips, {} frames each; data fingerprint `{}`; device `{}`.\n",
        r.finished,
        r.total_jobs,
        cfg.arms.len(),
        cfg.seeds.len(),
        cfg.data.test_clips,
        cfg.data.pool_clips,
        cfg.data.frames,
        r.data_fingerprint,
        cfg.device
    );
    if let Some(real) = &cfg.data.real {
        let clips = loaded
            .results
            .iter()
            .find_map(|x| x.real.as_ref().map(|m| m.test_clips))
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "Real test set: `{real}` ({clips} clips with human-drawn sectors, never trained on), scored like the synthetic one (the float network's map and the fit, as `sonomask predict` does).\n"
        );
    }
    if !r.missing.is_empty() {
        let list: Vec<String> = r
            .missing
            .iter()
            .take(20)
            .map(|(a, s)| format!("{a}/{s}"))
            .collect();
        let _ = writeln!(
            s,
            "**Incomplete:** {} jobs have no result yet ({}{}). The statistics below use the finished ones.\n",
            r.missing.len(),
            list.join(", "),
            if r.missing.len() > 20 { ", …" } else { "" }
        );
    }
    let _ = writeln!(s, "## Arms\n");
    let _ = writeln!(s, "| arm | what it is |\n|---|---|");
    for a in &r.arms {
        let _ = writeln!(s, "| `{}` | {} |", a.arm, kind_text(&a.kind));
    }
    for set in sets(r) {
        metrics_table(&mut s, r, set);
    }
    for set in sets(r) {
        let cs = match set {
            TestSet::Synthetic => &r.comparisons,
            TestSet::Real => &r.real_comparisons,
        };
        comparisons_table(&mut s, cfg, cs, set);
    }
    let _ = writeln!(
        s,
        "\n## Human effort against {}\n\nSimulated review: {:.1} s per check on average; simulated drawing: {:.0} s per clip on average (each drawn around the mean). Means over seeds.\n",
        cfg.metric.label(),
        cfg.oracle.seconds_per_check,
        cfg.oracle.seconds_per_mask
    );
    let _ = writeln!(
        s,
        "| arm | checks | accepted | check s | drawings | drawing s | simulated human min | {} |\n|---|---:|---:|---:|---:|---:|---:|---:|",
        cfg.metric.label()
    );
    let mean_accepted = |arm: &str| {
        let rs: Vec<_> = loaded.results.iter().filter(|x| x.arm == arm).collect();
        rs.iter().map(|x| x.human.accepted as f64).sum::<f64>() / rs.len().max(1) as f64
    };
    for a in &r.arms {
        let _ = writeln!(
            s,
            "| `{}` | {:.1} | {:.1} | {:.0} | {:.1} | {:.0} | {:.1} | {} |",
            a.arm,
            a.mean_checks,
            mean_accepted(&a.arm),
            a.mean_check_seconds,
            a.mean_drawings,
            a.mean_draw_seconds,
            a.mean_human_seconds / 60.0,
            mean_sd(a.metric(cfg.metric))
        );
    }
    let _ = writeln!(
        s,
        "\n![human effort against {}](plots/effort.png)\n",
        cfg.metric.label()
    );
    let _ = writeln!(s, "## Plots\n");
    let _ = writeln!(
        s,
        "One box-and-strip plot per metric (`plots/<metric>.png` and `.svg`): per arm, the box spans the quartiles with the median as a thick line, whiskers reach the furthest run within 1.5 × IQR, and every dot is one seed's run.\n"
    );
    for set in sets(r) {
        for m in Metric::ALL {
            let _ = writeln!(
                s,
                "![{} on the {}](plots/{}{}.png)\n",
                m.label(),
                set.label(),
                set.prefix(),
                m.key()
            );
        }
    }
    let _ = writeln!(
        s,
        "## How to read this\n\n- Every (arm, seed) is one independent job; the seed drives the simulated reviewer, the simulated annotator and the network's initialisation, shuffling and augmentation, and is shared across arms, which pairs the runs by seed.\n- Weak-label arms have no random choices: their runs are identical across seeds (sd 0).\n- `results.csv` has one row per run; rows are identical whether the experiment ran in one process or in shards, except the wall-clock `seconds` column.\n- Wall s: a job whose pretraining another arm of the same seed already trained (`RUNS/cache/pretrain`) does not include it; its result file marks that training run `shared`.\n- Power: exact noncentral-t power of the two-sided Student test, integrated numerically (statrs has no noncentral t), solved for the smallest n per arm."
    );
    s
}

/// Per arm: each metric's mean ± sd and 95% interval on `set`.
fn metrics_table(s: &mut String, r: &Report, set: TestSet) {
    let what = match set {
        TestSet::Synthetic => "Test-set metrics per arm".to_string(),
        TestSet::Real => "Real test set: metrics per arm".to_string(),
    };
    let _ = writeln!(
        s,
        "\n## {what}\n\nmean ± sd over seeds, 95% t confidence interval of the mean below; PHI leak and signal loss: lower is better.\n"
    );
    let _ = write!(s, "| arm | n |");
    for m in Metric::ALL {
        let _ = write!(s, " {} |", m.label());
    }
    let _ = writeln!(s, " simulated human s | wall s |");
    let _ = writeln!(
        s,
        "|---|---:|{}---:|---:|",
        "---:|".repeat(Metric::ALL.len())
    );
    for a in &r.arms {
        let n = a
            .metric_in(set, Metric::PixelAccuracy)
            .map_or(0, |m| m.values.len());
        let _ = write!(s, "| `{}` | {} |", a.arm, n);
        for m in Metric::ALL {
            match a.metric_in(set, m) {
                Some(ms) => {
                    let _ = write!(s, " {}<br>{} |", mean_sd(ms), ci(ms));
                }
                None => s.push_str(" – |"),
            }
        }
        let _ = writeln!(
            s,
            " {:.0} | {:.1} |",
            a.mean_human_seconds, a.mean_wall_seconds
        );
    }
}

/// The comparisons on `set` with every test, and the power line.
fn comparisons_table(s: &mut String, cfg: &ExperimentConfig, cs: &[ComparisonStats], set: TestSet) {
    if cs.is_empty() {
        return;
    }
    let title = match set {
        TestSet::Synthetic => format!("Comparisons ({})", cfg.metric.label()),
        TestSet::Real => format!("Comparisons on the real test set ({})", cfg.metric.label()),
    };
    let _ = writeln!(
        s,
        "\n## {title}\n\nDifference a − b with Student's 95% CI; two-sided p-values, Holm-adjusted across the {} comparisons in parentheses (separately per test{}); paired over the seeds both arms finished; Cohen's d over the pooled sd; runs per arm a Student test needs to detect that d at α = 0.05 with power 0.8.\n",
        cs.len(),
        if set == TestSet::Real {
            " and per test set"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "| a vs b | Δ mean [95% CI] | Student p (Holm) | Welch p (Holm) | paired p (Holm) | Cohen's d | runs/arm for power 0.8 |\n|---|---|---|---|---|---:|---:|"
    );
    for c in cs {
        let (delta, d) = match &c.student {
            Ok(t) => (
                format!("{:+.4} [{:+.4}, {:+.4}]", t.mean_diff, t.ci95[0], t.ci95[1]),
                format!("{:.2}", t.cohens_d),
            ),
            Err(_) => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            s,
            "| `{}` vs `{}` | {} | {} | {} | {} | {} | {} |",
            c.a,
            c.b,
            delta,
            p_cell(&c.student, c.student_holm),
            p_cell(&c.welch, c.welch_holm),
            p_cell(&c.paired, c.paired_holm),
            d,
            c.runs_for_power.map_or("–".into(), |n| n.to_string())
        );
    }
    let n = cs
        .iter()
        .flat_map(|c| [&c.student, &c.welch])
        .filter_map(|t| t.as_ref().ok())
        .map(|t| t.n_a.min(t.n_b))
        .min()
        .unwrap_or(0);
    let _ = writeln!(s, "\n{}", power_line(cs, n));
}

/// The power summary: the comparisons the current seed count cannot resolve.
fn power_line(cs: &[ComparisonStats], n: usize) -> String {
    let parts: Vec<String> = cs
        .iter()
        .map(|c| {
            let d = c.student.as_ref().map_or(f64::NAN, |t| t.cohens_d);
            match c.runs_for_power {
                Some(k) => format!("`{}` vs `{}` (d = {d:.2}): {k} runs per arm", c.a, c.b),
                None => format!("`{}` vs `{}`: no difference to detect", c.a, c.b),
            }
        })
        .collect();
    format!(
        "**Power:** to detect the observed differences at α = 0.05 with power 0.8 a Student test needs: {}. These comparisons have {n} runs per arm (the smallest arm).",
        parts.join("; ")
    )
}

/// A compact table for the terminal: the configured metric per arm and the
/// comparisons.
pub fn headline(loaded: &Loaded, r: &Report) -> String {
    let m = loaded.cfg.metric;
    let width = r.arms.iter().map(|a| a.arm.len()).max().unwrap_or(3).max(3);
    let mut s = String::new();
    let real = r.has_real();
    let _ = writeln!(
        s,
        "  {:<width$} {:>3}  {:>17}  {:>17}  {:>14}  {:>7}{}",
        "arm",
        "n",
        m.label(),
        "95% CI",
        "sim. human min",
        "wall s",
        if real {
            format!("  {:>17}", format!("real {}", m.label()))
        } else {
            String::new()
        }
    );
    for a in &r.arms {
        let ms = a.metric(m);
        let real_cell = match (real, a.metric_in(TestSet::Real, m)) {
            (false, _) => String::new(),
            (true, Some(x)) => format!("  {:>17}", mean_sd(x)),
            (true, None) => format!("  {:>17}", "–"),
        };
        let _ = writeln!(
            s,
            "  {:<width$} {:>3}  {:>17}  {:>17}  {:>14.1}  {:>7.1}{real_cell}",
            a.arm,
            a.n,
            mean_sd(ms),
            ci(ms),
            a.mean_human_seconds / 60.0,
            a.mean_wall_seconds
        );
    }
    for c in r.comparisons.iter().chain(&r.real_comparisons) {
        let on = if c.set == TestSet::Real {
            " (real)"
        } else {
            ""
        };
        match &c.student {
            Ok(t) => {
                let _ = writeln!(
                    s,
                    "  {} vs {}{on}: Δ {:+.4}, Student p {} (Holm {}), Welch p {}, paired p {}, d = {:.2}, runs/arm for power 0.8: {}",
                    c.a,
                    c.b,
                    t.mean_diff,
                    fmt_p(t.p),
                    c.student_holm.map_or("–".into(), fmt_p),
                    c.welch.as_ref().map_or("–".into(), |w| fmt_p(w.p)),
                    c.paired.as_ref().map_or("–".into(), |w| fmt_p(w.p)),
                    t.cohens_d,
                    c.runs_for_power.map_or("–".into(), |n| n.to_string())
                );
            }
            Err(e) => {
                let _ = writeln!(s, "  {} vs {}{on}: no test ({e})", c.a, c.b);
            }
        }
    }
    s
}

/// Loads RUNS, analyses and writes everything under `out`.
pub fn report(runs: &Path, out: &Path) -> Result<(Loaded, Report, Written), ExperimentError> {
    let loaded = load(runs)?;
    let report = analyse(&loaded);
    let written = write(&loaded, &report, out)?;
    Ok((loaded, report, written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::config::parse;
    use crate::experiment::job::{HumanEffort, Metrics};

    fn result(cfg: &ExperimentConfig, arm: &str, seed: u64, acc: f64) -> JobResult {
        let a = cfg.arm(arm).unwrap();
        JobResult {
            format: job::FORMAT.into(),
            version: job::VERSION,
            experiment: cfg.name.clone(),
            arm: arm.into(),
            kind: a.kind.clone(),
            seed,
            fingerprint: cfg.fingerprint(a),
            data_fingerprint: "d".into(),
            device: "flex".into(),
            sonomask_version: "0".into(),
            metrics: Metrics {
                test_clips: 1,
                pixel_accuracy: acc,
                dice: acc,
                iou: acc,
                phi_leak: 1.0 - acc,
                signal_loss: 0.0,
                boundary_px: 0.0,
            },
            real: None,
            wall_s: 1.5,
            human: HumanEffort {
                checks: 10,
                accepted: 8,
                check_seconds: 20.0,
                drawings: 2,
                draw_seconds: 60.0,
            },
            training: vec![],
        }
    }

    const CFG: &str = r#"
name = "t"
seeds = 4
[data]
seed = 1
pool_clips = 3
test_clips = 1
[oracle]
drawn = 2
[[arm]]
name = "a"
kind = "weak"
labeler = "threshold"
[[arm]]
name = "b"
kind = "weak"
labeler = "temporal"
[[arm]]
name = "c"
kind = "hq-only"
[[comparison]]
a = "a"
b = "b"
[[comparison]]
a = "c"
b = "b"
"#;

    #[test]
    fn comparisons_pair_by_seed_and_holm_adjust() {
        let cfg = parse(CFG).unwrap();
        let (xa, xb, xc) = (
            [0.90, 0.92, 0.91, 0.95],
            [0.80, 0.83, 0.80, 0.85],
            [0.81, 0.84, 0.80],
        );
        let mut results = Vec::new();
        for (i, s) in (1..=4).enumerate() {
            results.push(result(&cfg, "a", s, xa[i]));
            results.push(result(&cfg, "b", s, xb[i]));
        }
        // Arm c misses seed 2: the paired test uses seeds 1, 3, 4.
        for (s, v) in [(1, xc[0]), (3, xc[1]), (4, xc[2])] {
            results.push(result(&cfg, "c", s, v));
        }
        let loaded = Loaded {
            cfg: cfg.clone(),
            results,
            missing: vec![("c".into(), 2)],
        };
        let r = analyse(&loaded);
        assert_eq!(r.arms[2].n, 3);
        let ab = &r.comparisons[0];
        let want = stats::ttest(&xa, &xb, Design::Paired, Alternative::TwoSided).unwrap();
        assert_eq!(ab.paired.as_ref().unwrap().p, want.p);
        let cb = &r.comparisons[1];
        let paired_cb = stats::ttest(
            &xc,
            &[xb[0], xb[2], xb[3]],
            Design::Paired,
            Alternative::TwoSided,
        )
        .unwrap();
        assert_eq!(cb.paired.as_ref().unwrap().p, paired_cb.p);
        let raw = [
            ab.student.as_ref().unwrap().p,
            cb.student.as_ref().unwrap().p,
        ];
        let adj = stats::holm(&raw);
        assert_eq!(
            [ab.student_holm.unwrap(), cb.student_holm.unwrap()],
            [adj[0], adj[1]]
        );
        assert!(ab.student_holm.unwrap() >= ab.student.as_ref().unwrap().p);
        assert!(ab.runs_for_power.is_some());
        assert_eq!(r.arms[0].mean_human_seconds, 80.0);

        let csv = results_csv(&loaded.results);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 1 + 11);
        assert_eq!(lines[1], "a,1,0.9,0.9,0.9,0.09999999999999998,0,1.5,80");
        assert!(lines[9].starts_with("c,1,"));

        let md = markdown(&loaded, &r);
        assert!(
            md.contains("**Incomplete:** 1 jobs have no result yet (c/2)"),
            "{md}"
        );
        let head = headline(&loaded, &r);
        assert!(head.contains("a vs b: Δ +0.1000"), "{head}");
    }

    #[test]
    fn real_test_set_gets_columns_plots_and_its_own_comparisons() {
        let cfg = parse(CFG).unwrap();
        let mut results = Vec::new();
        for s in 1..=4u64 {
            for (arm, syn, real) in [("a", 0.9, 0.80), ("b", 0.8, 0.85), ("c", 0.85, 0.70)] {
                let mut r = result(&cfg, arm, s, syn + 0.01 * s as f64);
                let mut m = r.metrics.clone();
                m.pixel_accuracy = real - 0.005 * s as f64 * if arm == "b" { 1.0 } else { -1.0 };
                r.real = Some(m);
                results.push(r);
            }
        }
        // One run without a real score (made before the set existed).
        results[0].real = None;
        let loaded = Loaded {
            cfg,
            results,
            missing: vec![],
        };
        let r = analyse(&loaded);
        assert!(r.has_real());
        assert_eq!(r.arms[0].real[0].values.len(), 3, "arm a: seeds 2-4");
        assert_eq!(r.real_comparisons.len(), 2);
        let ab = &r.real_comparisons[0];
        assert_eq!(ab.set, TestSet::Real);
        // On the synthetic set a beats b; on the real one b beats a.
        assert!(r.comparisons[0].student.as_ref().unwrap().mean_diff > 0.0);
        assert!(ab.student.as_ref().unwrap().mean_diff < 0.0);
        // Holm runs within each set's family.
        let raw: Vec<f64> = r
            .real_comparisons
            .iter()
            .map(|c| c.student.as_ref().unwrap().p)
            .collect();
        assert_eq!(ab.student_holm.unwrap(), stats::holm(&raw)[0]);

        let csv = results_csv(&loaded.results);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].ends_with(",human_seconds,real_pixel_accuracy,real_dice,real_iou,real_phi_leak,real_signal_loss"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("a,1,") && lines[1].ends_with(",,,,,"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2].split(',').count(), 14, "{}", lines[2]);

        let md = markdown(&loaded, &r);
        assert!(md.contains("## Real test set: metrics per arm"), "{md}");
        assert!(md.contains("## Comparisons on the real test set"), "{md}");
        assert!(md.contains("plots/real_pixel_accuracy.png"), "{md}");
        let head = headline(&loaded, &r);
        assert!(head.contains("a vs b (real): Δ -"), "{head}");

        let out = tempfile::tempdir().unwrap();
        let w = write(&loaded, &r, out.path()).unwrap();
        assert!(
            w.plots
                .iter()
                .any(|p| p.ends_with("plots/real_pixel_accuracy.png")),
            "{:?}",
            w.plots
        );
    }
}

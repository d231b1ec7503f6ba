//! The experiment file (`experiments/*.toml`), parsed and validated into an
//! [`ExperimentConfig`] before any work starts.
//!
//! ```toml
//! name = "paper"
//! seeds = 10                 # seeds 1..=10, or a list: [3, 5, 8]
//! metric = "pixel_accuracy"  # what the comparisons test (default)
//! device = "flex"            # flex (CPU), cuda, tch
//!
//! [data]                     # the fixed pool and test set (synthetic)
//! seed = 7                   # test set: test_seed, default seed + 1000
//! pool_clips = 60
//! test_clips = 20
//! frames = 8
//! test_frames = 16           # optional: frames per test clip (default: frames)
//! size = "320x240"           # optional: fixed frame size
//!
//! [oracle]                   # simulated reviewer and annotator
//! drawn = 10                 # clips the annotator draws
//!
//! [training]
//! pretrain_epochs = 8
//! refine_epochs = 10
//!
//! [[arm]]
//! name = "threshold"
//! kind = "weak"              # weak | trained | hq-only
//! labeler = "threshold"
//!
//! [[arm]]
//! name = "checked-threshold+refine"
//! kind = "trained"
//! labeler = "threshold"
//! checked = true
//! refine = true
//!
//! [[comparison]]
//! a = "checked-threshold+refine"
//! b = "threshold"
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ExperimentError;
use crate::DeviceChoice;
use crate::checkpoint::fnv1a64;
use crate::training::TrainingConfig;
use sonomask_data::synth::{self, Layout, SynthConfig};
use sonomask_data::weak::Method;
use sonomask_human::oracle::{AnnotateParams, CheckParams};

/// A validated experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    pub name: String,
    /// Sorted, unique.
    pub seeds: Vec<u64>,
    pub device: DeviceChoice,
    /// The metric the comparisons test.
    pub metric: Metric,
    pub data: DataConfig,
    pub oracle: OracleConfig,
    pub training: TrainingSection,
    /// In the file's order (tables and plots use it).
    pub arms: Vec<Arm>,
    pub comparisons: Vec<Comparison>,
}

/// A metric of the held-out test set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    PixelAccuracy,
    Dice,
    Iou,
    PhiLeak,
    SignalLoss,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::PixelAccuracy,
        Metric::Dice,
        Metric::Iou,
        Metric::PhiLeak,
        Metric::SignalLoss,
    ];

    /// Column name in `results.csv` and file name of its plot.
    pub fn key(self) -> &'static str {
        match self {
            Metric::PixelAccuracy => "pixel_accuracy",
            Metric::Dice => "dice",
            Metric::Iou => "iou",
            Metric::PhiLeak => "phi_leak",
            Metric::SignalLoss => "signal_loss",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Metric::PixelAccuracy => "pixel accuracy",
            Metric::Dice => "Dice",
            Metric::Iou => "IoU",
            Metric::PhiLeak => "PHI leak",
            Metric::SignalLoss => "signal loss",
        }
    }

    /// PHI leak and signal loss are errors: lower is better.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::PhiLeak | Metric::SignalLoss)
    }
}

/// The fixed datasets: the same for every job of the experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub seed: u64,
    #[serde(default)]
    pub test_seed: Option<u64>,
    pub pool_clips: usize,
    pub test_clips: usize,
    #[serde(default = "default_frames")]
    pub frames: usize,
    /// Frames per test clip; absent: `frames`. The shipped models' test set
    /// (`synth --clips 40 --seed 1001`) has 16 frames while their pool has
    /// 8: set it to score on exactly that set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_frames: Option<usize>,
    /// `WxH`; absent: per-clip realistic sizes.
    #[serde(default)]
    pub size: Option<String>,
    /// Absent: all layouts.
    #[serde(default)]
    pub layouts: Option<Vec<Layout>>,
    /// A real test set scored by every job next to the synthetic one: a
    /// folder with `files/` (DICOM, PNG, JPEG) and `labels/` (the sector
    /// JSON `sonomask annotate` writes), like `datasets/real-dev`. As
    /// written in the file (relative to the experiment file's folder), so
    /// the fingerprints are the same in every checkout; [`load`] resolves it
    /// into [`DataConfig::real_root`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real: Option<String>,
    /// `real` resolved against the experiment file's folder; not part of
    /// `experiment.json` (the report only needs the results).
    #[serde(skip)]
    pub real_root: Option<std::path::PathBuf>,
}

fn default_frames() -> usize {
    8
}

impl DataConfig {
    fn synth(&self, seed: u64, clips: usize, frames: usize) -> SynthConfig {
        SynthConfig {
            seed,
            clips,
            frames,
            size: self.size.as_deref().and_then(|s| synth::parse_size(s).ok()),
            layouts: self.layouts.clone().unwrap_or_else(|| Layout::ALL.to_vec()),
        }
    }

    /// The unlabelled pool every arm learns from.
    pub fn pool(&self) -> SynthConfig {
        self.synth(self.seed, self.pool_clips, self.frames)
    }

    /// The held-out test set every arm is scored on.
    pub fn test(&self) -> SynthConfig {
        self.synth(
            self.test_seed.unwrap_or(self.seed.wrapping_add(1000)),
            self.test_clips,
            self.test_frames.unwrap_or(self.frames),
        )
    }
}

/// The simulated reviewer and annotator (see [`sonomask_human::oracle`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OracleConfig {
    pub accept_dice: f64,
    pub error_rate: f64,
    pub seconds_per_check: f64,
    /// Clips the annotator draws (`refine` and `hq-only` arms).
    pub drawn: usize,
    pub edge_noise_px: f64,
    pub seconds_per_mask: f64,
}

impl Default for OracleConfig {
    fn default() -> Self {
        let (c, a) = (CheckParams::default(), AnnotateParams::default());
        Self {
            accept_dice: c.accept_dice,
            error_rate: c.error_rate,
            seconds_per_check: c.seconds_per_check,
            drawn: a.clips,
            edge_noise_px: a.edge_noise_px,
            seconds_per_mask: a.seconds_per_mask,
        }
    }
}

impl OracleConfig {
    pub fn check(&self, seed: u64) -> CheckParams {
        CheckParams {
            accept_dice: self.accept_dice,
            error_rate: self.error_rate,
            seconds_per_check: self.seconds_per_check,
            seed,
            reviewer: "oracle".into(),
        }
    }

    pub fn annotate(&self, seed: u64) -> AnnotateParams {
        AnnotateParams {
            clips: self.drawn,
            edge_noise_px: self.edge_noise_px,
            seconds_per_mask: self.seconds_per_mask,
            seed,
            prefer: BTreeSet::new(),
        }
    }
}

/// Training settings shared by all arms (see [`TrainingConfig`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSection {
    /// Epochs on weak labels.
    pub pretrain_epochs: usize,
    /// Epochs on the drawn set, starting from the pretrained weights.
    pub refine_epochs: usize,
    /// Epochs of the `hq-only` arm (fresh weights, drawn set only);
    /// default: `refine_epochs`.
    pub hq_epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Frames taken per clip; `None`: the trainer's automatic choice.
    pub frames_per_clip: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTraining {
    pretrain_epochs: Option<usize>,
    refine_epochs: Option<usize>,
    hq_epochs: Option<usize>,
    patience: Option<usize>,
    batch_size: Option<usize>,
    learning_rate: Option<f64>,
    frames_per_clip: Option<usize>,
}

impl RawTraining {
    fn resolve(self) -> TrainingSection {
        let d = TrainingConfig::new();
        let refine = self.refine_epochs.unwrap_or(25);
        TrainingSection {
            pretrain_epochs: self.pretrain_epochs.unwrap_or(12),
            refine_epochs: refine,
            hq_epochs: self.hq_epochs.unwrap_or(refine),
            patience: self.patience.unwrap_or(d.patience),
            batch_size: self.batch_size.unwrap_or(d.batch_size),
            learning_rate: self.learning_rate.unwrap_or(d.learning_rate),
            frames_per_clip: self.frames_per_clip,
        }
    }
}

impl TrainingSection {
    /// The trainer's configuration for `epochs` epochs and `seed` (weights
    /// initialisation, validation split, shuffling, augmentation).
    pub fn config(&self, epochs: usize, seed: u64) -> TrainingConfig {
        TrainingConfig::new()
            .with_num_epochs(epochs)
            .with_seed(seed)
            .with_patience(self.patience)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.learning_rate)
            .with_frames_per_clip(self.frames_per_clip)
    }
}

/// One arm: a way of producing keep masks for the test set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    pub name: String,
    #[serde(flatten)]
    pub kind: ArmKind,
}

/// What an arm does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ArmKind {
    /// A weak labeler's masks scored directly, no model (deterministic: the
    /// seed changes nothing).
    Weak { labeler: Method },
    /// A network pretrained on the labeler's masks of the pool: all of them,
    /// or (`checked`) only those the simulated reviewer accepted; with
    /// `refine`, then fine-tuned on a drawn set (rejected clips drawn first
    /// when checked).
    Trained {
        labeler: Method,
        checked: bool,
        refine: bool,
    },
    /// A network trained from fresh weights on the drawn set alone.
    HqOnly,
}

impl ArmKind {
    /// The labeler whose pool labels the arm trains on.
    pub fn pool_labeler(&self) -> Option<Method> {
        match self {
            ArmKind::Trained { labeler, .. } => Some(*labeler),
            _ => None,
        }
    }
}

/// One comparison the report tests: `a` against `b` (difference a − b).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub a: String,
    pub b: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: String,
    seeds: toml::Value,
    device: Option<String>,
    metric: Option<Metric>,
    data: DataConfig,
    #[serde(default)]
    oracle: OracleConfig,
    #[serde(default)]
    training: RawTraining,
    #[serde(rename = "arm")]
    arms: Vec<RawArm>,
    #[serde(rename = "comparison", default)]
    comparisons: Vec<Comparison>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArm {
    name: String,
    kind: String,
    labeler: Option<Method>,
    checked: Option<bool>,
    refine: Option<bool>,
}

/// Most seeds an experiment may list (a typo guard: 1e9 jobs is a mistake).
pub const MAX_SEEDS: u64 = 10_000;

/// Reads and validates an experiment file.
pub fn load(path: &Path) -> Result<ExperimentConfig, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(super::io_err(path))?;
    let mut cfg = parse(&text).map_err(|e| ExperimentError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(real) = &cfg.data.real {
        let base = path.parent().unwrap_or(Path::new("."));
        let root = base.join(real);
        for sub in ["files", "labels"] {
            if !root.join(sub).is_dir() {
                return Err(ExperimentError::Config {
                    path: path.to_path_buf(),
                    message: format!(
                        "[data] real = {real:?}: {} is not a folder (a real test set holds files/ and labels/)",
                        root.join(sub).display()
                    ),
                });
            }
        }
        cfg.data.real_root = Some(root);
    }
    Ok(cfg)
}

/// What is wrong with an experiment file, by the part of it that is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{0}")]
    Toml(String),
    #[error("seeds: {0}")]
    Seeds(String),
    #[error("{0}")]
    Device(String),
    #[error("arm {arm:?}: {problem}")]
    Arm { arm: String, problem: String },
    #[error("{what} {name:?}: use 1 to 64 of A-Z a-z 0-9 . _ + - (not starting with '.')")]
    Name { what: &'static str, name: String },
    #[error("list at least one [[arm]]")]
    NoArms,
    /// A value outside its range in `[data]`, `[oracle]` or `[training]`.
    #[error("{0}")]
    Range(String),
    #[error("comparison {a} vs {b}: {problem}")]
    Comparison {
        a: String,
        b: String,
        problem: String,
    },
}

/// Parses and validates the TOML text of an experiment.
pub fn parse(text: &str) -> Result<ExperimentConfig, ConfigError> {
    let raw: RawConfig = toml::from_str(text)
        .map_err(|e| ConfigError::Toml(e.to_string().trim_end().to_string()))?;
    let seeds = parse_seeds(&raw.seeds)?;
    let device = match raw.device.as_deref() {
        None => DeviceChoice::Flex,
        Some(d) => d.parse().map_err(ConfigError::Device)?,
    };
    let arms = raw
        .arms
        .into_iter()
        .map(RawArm::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = ExperimentConfig {
        name: raw.name,
        seeds,
        device,
        metric: raw.metric.unwrap_or(Metric::PixelAccuracy),
        data: raw.data,
        oracle: raw.oracle,
        training: raw.training.resolve(),
        arms,
        comparisons: raw.comparisons,
    };
    cfg.validate()?;
    Ok(cfg)
}

fn parse_seeds(v: &toml::Value) -> Result<Vec<u64>, ConfigError> {
    let bad = || {
        ConfigError::Seeds(
            "give a count (seeds = 10 means 1..=10) or a list of seeds (seeds = [3, 5])".into(),
        )
    };
    let mut seeds: Vec<u64> = match v {
        toml::Value::Integer(n) => {
            let n = u64::try_from(*n).map_err(|_| bad())?;
            (1..=n).collect()
        }
        toml::Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_integer()
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(bad)
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad()),
    };
    let n = seeds.len();
    seeds.sort_unstable();
    seeds.dedup();
    if seeds.len() != n {
        return Err(ConfigError::Seeds("a seed is listed twice".into()));
    }
    if seeds.is_empty() || seeds.len() as u64 > MAX_SEEDS {
        return Err(ConfigError::Seeds(format!("need 1 to {MAX_SEEDS} seeds")));
    }
    Ok(seeds)
}

impl RawArm {
    fn resolve(self) -> Result<Arm, ConfigError> {
        let name = self.name;
        let ctx = |m: &str| ConfigError::Arm {
            arm: name.clone(),
            problem: m.to_string(),
        };
        let kind = match self.kind.as_str() {
            "weak" | "trained" => {
                let labeler = self
                    .labeler
                    .ok_or_else(|| ctx("needs labeler = \"threshold\" or \"temporal\""))?;
                if self.kind == "weak" {
                    if self.checked.is_some() || self.refine.is_some() {
                        return Err(ctx(
                            "a weak arm scores labels directly; checked/refine need kind = \"trained\"",
                        ));
                    }
                    ArmKind::Weak { labeler }
                } else {
                    ArmKind::Trained {
                        labeler,
                        checked: self.checked.unwrap_or(false),
                        refine: self.refine.unwrap_or(false),
                    }
                }
            }
            "hq-only" => {
                if self.labeler.is_some() || self.checked.is_some() || self.refine.is_some() {
                    return Err(ctx(
                        "an hq-only arm trains on drawn labels alone; labeler/checked/refine do not apply",
                    ));
                }
                ArmKind::HqOnly
            }
            other => {
                return Err(ctx(&format!(
                    "unknown kind {other:?} (weak, trained, hq-only)"
                )));
            }
        };
        Ok(Arm { name, kind })
    }
}

/// Names used as folder and file names and CSV fields: `[A-Za-z0-9._+-]`,
/// not starting with a dot, at most 64 characters.
pub fn validate_name(what: &'static str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Name {
            what,
            name: name.to_string(),
        })
    }
}

impl ExperimentConfig {
    /// Checks everything a job relies on, so a bad file fails before work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let range = |m: &str| Err(ConfigError::Range(m.to_string()));
        validate_name("name", &self.name)?;
        let d = &self.data;
        if d.pool_clips == 0 || d.test_clips == 0 || d.frames == 0 || d.test_frames == Some(0) {
            return range(
                "data: pool_clips, test_clips, frames and test_frames must be at least 1",
            );
        }
        if let Some(s) = &d.size {
            synth::parse_size(s).map_err(|e| ConfigError::Range(format!("data.size: {e}")))?;
        }
        if d.layouts.as_ref().is_some_and(Vec::is_empty) {
            return range("data.layouts: list at least one layout (or leave it out)");
        }
        let o = &self.oracle;
        if !(0.0..=1.0).contains(&o.accept_dice) || !(0.0..=1.0).contains(&o.error_rate) {
            return range("oracle: accept_dice and error_rate must be within [0, 1]");
        }
        let non_negative = |x: f64| x.is_finite() && x >= 0.0;
        if ![o.seconds_per_check, o.seconds_per_mask, o.edge_noise_px]
            .into_iter()
            .all(non_negative)
        {
            return range(
                "oracle: seconds_per_check, seconds_per_mask and edge_noise_px must be ≥ 0",
            );
        }
        let draws = self.arms.iter().any(|a| {
            matches!(
                a.kind,
                ArmKind::HqOnly | ArmKind::Trained { refine: true, .. }
            )
        });
        if draws && (o.drawn == 0 || o.drawn > d.pool_clips) {
            return Err(ConfigError::Range(format!(
                "oracle.drawn must be within 1..={} (the pool's clips)",
                d.pool_clips
            )));
        }
        let t = &self.training;
        if t.pretrain_epochs == 0 || t.refine_epochs == 0 || t.hq_epochs == 0 {
            return range("training: epochs must be at least 1");
        }
        if t.batch_size < 2 {
            return range("training.batch_size must be at least 2 (BatchNorm)");
        }
        if t.frames_per_clip == Some(0) {
            return range("training.frames_per_clip must be at least 1");
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return range("training.learning_rate must be > 0");
        }
        if self.arms.is_empty() {
            return Err(ConfigError::NoArms);
        }
        let mut names = BTreeSet::new();
        for a in &self.arms {
            validate_name("arm", &a.name)?;
            if !names.insert(a.name.as_str()) {
                return Err(ConfigError::Arm {
                    arm: a.name.clone(),
                    problem: "defined twice".into(),
                });
            }
        }
        let mut pairs = BTreeSet::new();
        for c in &self.comparisons {
            let problem = |p: String| ConfigError::Comparison {
                a: c.a.clone(),
                b: c.b.clone(),
                problem: p,
            };
            for n in [&c.a, &c.b] {
                if !names.contains(n.as_str()) {
                    return Err(problem(format!("no arm {n:?}")));
                }
            }
            if c.a == c.b {
                return Err(problem("an arm against itself".into()));
            }
            if !pairs.insert((c.a.as_str(), c.b.as_str())) {
                return Err(problem("listed twice".into()));
            }
        }
        Ok(())
    }

    pub fn arm(&self, name: &str) -> Option<&Arm> {
        self.arms.iter().find(|a| a.name == name)
    }

    /// A hash of everything that shapes `arm`'s results: data, oracle,
    /// training, device and the arm itself (not the seeds list, the
    /// comparisons or the name, so adding seeds or comparisons keeps
    /// finished jobs valid). Stored in each result; a mismatch means the
    /// result came from another configuration.
    pub fn fingerprint(&self, arm: &Arm) -> String {
        let spec = serde_json::json!({
            "data": self.data,
            "oracle": self.oracle,
            "training": self.training,
            "device": self.device,
            "arm": arm,
            "sonomask": env!("CARGO_PKG_VERSION"),
        });
        format!("{:016x}", fnv1a64(spec.to_string().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
seeds = 3
[data]
seed = 1
pool_clips = 4
test_clips = 2
frames = 2
size = "160x120"
[oracle]
drawn = 2
[training]
pretrain_epochs = 1
[[arm]]
name = "threshold"
kind = "weak"
labeler = "threshold"
[[arm]]
name = "m+refine"
kind = "trained"
labeler = "threshold"
checked = true
refine = true
[[arm]]
name = "hq"
kind = "hq-only"
[[comparison]]
a = "m+refine"
b = "threshold"
"#;

    #[test]
    fn parses_and_resolves_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.seeds, vec![1, 2, 3]);
        assert_eq!(c.device, DeviceChoice::Flex);
        assert_eq!(c.metric, Metric::PixelAccuracy);
        assert_eq!(c.training.pretrain_epochs, 1);
        assert_eq!(c.training.refine_epochs, 25);
        assert_eq!(c.training.hq_epochs, 25);
        assert_eq!(c.oracle.seconds_per_mask, 30.0);
        assert_eq!(
            c.arms[1].kind,
            ArmKind::Trained {
                labeler: Method::Threshold,
                checked: true,
                refine: true
            }
        );
        assert_eq!(c.data.test().seed, 1001);
        assert_eq!(c.data.pool().size, Some((160, 120)));
        // The resolved config survives experiment.json.
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<ExperimentConfig>(&json).unwrap(), c);
    }

    /// The shipped experiment files parse and say what issue #5 asks for.
    #[test]
    fn shipped_experiments_are_valid() {
        let paper = parse(include_str!("../../../../../experiments/paper.toml")).unwrap();
        let names: Vec<&str> = paper.arms.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "threshold",
                "temporal",
                "weak-threshold",
                "checked-threshold",
                "checked-threshold+refine",
                "hq-only",
                "temporal-trained",
                "temporal+refine"
            ]
        );
        assert!(paper.seeds.len() >= 10);
        let method = "checked-threshold+refine";
        for b in [
            "threshold",
            "checked-threshold",
            "hq-only",
            "temporal-trained",
        ] {
            assert!(
                paper.comparisons.iter().any(|c| c.a == method && c.b == b),
                "{b}"
            );
        }
        let quick = parse(include_str!("../../../../../experiments/quick.toml")).unwrap();
        assert_eq!(quick.arms.len(), 2);
        let demo = parse(include_str!("../../../../../experiments/demo.toml")).unwrap();
        assert_eq!(
            (demo.name.as_str(), demo.arms.len(), demo.seeds.len()),
            ("demo", 2, 5)
        );
    }

    #[test]
    fn fingerprint_ignores_seeds_and_comparisons_only() {
        let c = parse(GOOD).unwrap();
        let arm = &c.arms[1];
        let mut more = c.clone();
        more.seeds.push(9);
        more.comparisons.clear();
        assert_eq!(c.fingerprint(arm), more.fingerprint(arm));
        let mut other = c.clone();
        other.training.pretrain_epochs = 2;
        assert_ne!(c.fingerprint(arm), other.fingerprint(arm));
        assert_ne!(c.fingerprint(arm), c.fingerprint(&c.arms[0]));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "kind = \"weak\"",
                "kind = \"magic\"",
                "unknown kind \"magic\"",
            ),
            ("seeds = 3", "seeds = 0", "seeds: need 1"),
            ("seeds = 3", "seeds = [1, 1]", "listed twice"),
            ("seeds = 3", "seeds = \"x\"", "seeds: give a count"),
            ("b = \"threshold\"", "b = \"nope\"", "no arm \"nope\""),
            ("size = \"160x120\"", "size = \"1x1\"", "data.size"),
            ("drawn = 2", "drawn = 9", "oracle.drawn"),
            ("name = \"hq\"", "name = \"threshold\"", "defined twice"),
            ("name = \"hq\"", "name = \"a/b\"", "arm \"a/b\""),
            ("pretrain_epochs = 1", "pretrain_epochs = 0", "epochs"),
            ("pretrain_epochs = 1", "pretrain_epoch = 1", "unknown field"),
            (
                "labeler = \"threshold\"\n[[arm]]\nname = \"m+refine\"",
                "labeler = \"otsu\"\n[[arm]]\nname = \"m+refine\"",
                "unknown variant",
            ),
            ("name = \"t\"", "name = ", "TOML"),
        ];
        for (from, to, want) in cases {
            assert!(GOOD.contains(from), "{from}");
            let text = GOOD.replacen(from, to, 1);
            let err = parse(&text).unwrap_err().to_string();
            assert!(
                err.contains(want) || (*want == "TOML" && err.contains("line")),
                "{to}: {err}"
            );
        }
        let weak_with_refine = GOOD.replacen(
            "labeler = \"threshold\"",
            "labeler = \"threshold\"\nrefine = true",
            1,
        );
        assert!(matches!(
            parse(&weak_with_refine),
            Err(ConfigError::Arm { problem, .. }) if problem.contains("weak arm")
        ));
    }
}

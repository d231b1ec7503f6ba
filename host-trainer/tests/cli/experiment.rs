//! `sonomask experiment run` / `report` as a user meets them: sharded and
//! unsharded runs agree, finished jobs are skipped, bad input fails with a
//! clear message and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

fn sonomask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(args)
        .output()
        .expect("run sonomask")
}

fn ok(args: &[&str]) -> String {
    let out = sonomask(args);
    assert!(
        out.status.success(),
        "sonomask {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = sonomask(args);
    assert!(
        !out.status.success(),
        "sonomask {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Three arms of every kind, two seeds, 1 epoch on a few small clips.
const TINY: &str = r#"
name = "tiny"
seeds = 2

[data]
seed = 5
pool_clips = 6
test_clips = 2
frames = 3
size = "160x120"

[oracle]
drawn = 3

[training]
pretrain_epochs = 1
refine_epochs = 1
hq_epochs = 1

[[arm]]
name = "threshold"
kind = "weak"
labeler = "threshold"

[[arm]]
name = "checked-threshold+refine"
kind = "trained"
labeler = "threshold"
checked = true
refine = true

[[arm]]
name = "hq-only"
kind = "hq-only"

[[comparison]]
a = "checked-threshold+refine"
b = "threshold"

[[comparison]]
a = "checked-threshold+refine"
b = "hq-only"
"#;

/// `results.csv` rows without the wall-clock `seconds` column, the one
/// value that legitimately differs between two runs of the same job.
fn rows_without_seconds(csv: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "arm",
            "seed",
            "pixel_accuracy",
            "dice",
            "iou",
            "phi_leak",
            "signal_loss",
            "seconds",
            "human_seconds"
        ]
    );
    let secs = header.iter().position(|h| *h == "seconds").unwrap();
    lines
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), header.len(), "{l}");
            assert!(f[secs].parse::<f64>().unwrap() >= 0.0);
            f.remove(secs);
            f.join(",")
        })
        .collect()
}

#[test]
fn shards_and_one_process_agree_and_reruns_skip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, TINY).unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));

    let out = ok(&["experiment", "run", "--config", p(&cfg), "--out", p(&one)]);
    assert!(out.contains("0 finished already, 6 to run"), "{out}");

    // The same experiment as two shards (the second with two parallel jobs).
    let s0 = ok(&[
        "experiment",
        "run",
        "--config",
        p(&cfg),
        "--out",
        p(&two),
        "--shard",
        "0/2",
    ]);
    assert!(s0.contains("ran 3"), "{s0}");
    // A report of a partial experiment works and says what is missing.
    let partial = dir.path().join("partial");
    let rep = ok(&[
        "experiment",
        "report",
        "--runs",
        p(&two),
        "--out",
        p(&partial),
    ]);
    assert!(rep.contains("3 of 6 jobs finished"), "{rep}");
    let md = std::fs::read_to_string(partial.join("report.md")).unwrap();
    assert!(md.contains("**Incomplete:** 3 jobs"), "{md}");
    let s1 = ok(&[
        "experiment",
        "run",
        "--config",
        p(&cfg),
        "--out",
        p(&two),
        "--shard",
        "1/2",
        "--jobs",
        "2",
    ]);
    assert!(s1.contains("ran 3"), "{s1}");

    let (rep_one, rep_two) = (dir.path().join("rep-one"), dir.path().join("rep-two"));
    let printed = ok(&[
        "experiment",
        "report",
        "--runs",
        p(&one),
        "--out",
        p(&rep_one),
    ]);
    ok(&[
        "experiment",
        "report",
        "--runs",
        p(&two),
        "--out",
        p(&rep_two),
    ]);
    let (a, b) = (
        rows_without_seconds(&rep_one.join("results.csv")),
        rows_without_seconds(&rep_two.join("results.csv")),
    );
    assert_eq!(a.len(), 6);
    assert_eq!(a, b, "sharded and unsharded runs must give the same rows");
    // Sorted by arm, then seed.
    let keys: Vec<(String, u64)> = a
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            (f[0].to_string(), f[1].parse().unwrap())
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The seed changes the trained arms' results; weak labels have no
    // random choice, so their rows agree but for the seed.
    let values = |row: &str| row.splitn(3, ',').nth(2).unwrap().to_string();
    assert!(a[0].starts_with("checked-threshold+refine,1,"), "{}", a[0]);
    assert_ne!(values(&a[0]), values(&a[1]));
    assert!(a[4].starts_with("threshold,1,"), "{}", a[4]);
    assert_eq!(values(&a[4]), values(&a[5]));
    // The headline table in the terminal and the report's parts.
    assert!(
        printed.contains("checked-threshold+refine vs threshold"),
        "{printed}"
    );
    let md = std::fs::read_to_string(rep_one.join("report.md")).unwrap();
    for want in [
        "Holm",
        "Welch",
        "paired",
        "Cohen's d",
        "**Power:**",
        "simulated human min",
    ] {
        assert!(md.contains(want), "report.md lacks {want}");
    }
    for m in [
        "pixel_accuracy",
        "dice",
        "iou",
        "phi_leak",
        "signal_loss",
        "effort",
    ] {
        for ext in ["svg", "png"] {
            let f = rep_one.join("plots").join(format!("{m}.{ext}"));
            assert!(f.metadata().unwrap().len() > 1000, "{}", f.display());
        }
    }
    // Work folders are removed once a result is written.
    let leftovers: Vec<_> = walk(&one.join("work"));
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A rerun skips every finished job and changes no result.
    let before = std::fs::read(one.join("results/hq-only/1.json")).unwrap();
    let again = ok(&["experiment", "run", "--config", p(&cfg), "--out", p(&one)]);
    assert!(again.contains("6 finished already, 0 to run"), "{again}");
    assert_eq!(
        before,
        std::fs::read(one.join("results/hq-only/1.json")).unwrap()
    );

    // More seeds later: only the new jobs run.
    let more = dir.path().join("more.toml");
    std::fs::write(&more, TINY.replace("seeds = 2", "seeds = 3")).unwrap();
    let grown = ok(&["experiment", "run", "--config", p(&more), "--out", p(&one)]);
    assert!(grown.contains("6 finished already, 3 to run"), "{grown}");

    // A changed training section on the same RUNS is refused, not mixed in.
    let changed = dir.path().join("changed.toml");
    std::fs::write(
        &changed,
        TINY.replace("pretrain_epochs = 1", "pretrain_epochs = 2"),
    )
    .unwrap();
    let err = fails(&[
        "experiment",
        "run",
        "--config",
        p(&changed),
        "--out",
        p(&one),
    ]);
    assert!(err.contains("another configuration"), "{err}");
}

/// Files under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let write = |name: &str, text: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        f
    };
    let good = write("good.toml", TINY);
    for (shard, want) in [
        ("3/2", "below the count"),
        ("0/0", "at least 1"),
        ("x", "I/N"),
    ] {
        let err = fails(&[
            "experiment",
            "run",
            "--config",
            p(&good),
            "--out",
            p(&runs),
            "--shard",
            shard,
        ]);
        assert!(err.contains(want), "--shard {shard}: {err}");
    }
    let err = fails(&[
        "experiment",
        "run",
        "--config",
        p(&good),
        "--out",
        p(&runs),
        "--jobs",
        "0",
    ]);
    assert!(err.contains("--jobs"), "{err}");

    let unknown = write(
        "unknown.toml",
        &TINY.replace("kind = \"hq-only\"", "kind = \"magic\""),
    );
    let err = fails(&[
        "experiment",
        "run",
        "--config",
        p(&unknown),
        "--out",
        p(&runs),
    ]);
    assert!(
        err.contains("arm \"hq-only\": unknown kind \"magic\""),
        "{err}"
    );

    let malformed = write("malformed.toml", "name = \"x\"\nseeds = [1, 2\n");
    let err = fails(&[
        "experiment",
        "run",
        "--config",
        p(&malformed),
        "--out",
        p(&runs),
    ]);
    assert!(
        err.contains("malformed.toml") && err.contains("line 2"),
        "{err}"
    );

    let missing = dir.path().join("nope.toml");
    let err = fails(&[
        "experiment",
        "run",
        "--config",
        p(&missing),
        "--out",
        p(&runs),
    ]);
    assert!(err.contains("nope.toml"), "{err}");

    // Nothing was created by the failed runs.
    assert!(!runs.exists());
    let err = fails(&[
        "experiment",
        "report",
        "--runs",
        p(&runs),
        "--out",
        p(&dir.path().join("r")),
    ]);
    assert!(err.contains("no experiment here"), "{err}");
}

/// A real test set (`[data] real`, relative to the experiment file) is
/// scored by every job next to the synthetic one, with its own columns and
/// comparisons; an arm that differs from another only after pretraining
/// reuses that arm's pretrained checkpoint, and gets exactly the result it
/// would have trained itself.
#[test]
fn real_test_set_columns_and_shared_pretraining() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/real-dev");
    let real = dir.path().join("real");
    for sub in ["files", "labels"] {
        std::fs::create_dir_all(real.join(sub)).unwrap();
    }
    for (file, label) in [
        (
            "skimage-echo-sector-X75Y75.png",
            "skimage-echo-sector-X75Y75.json",
        ),
        (
            "dltrackus-telemed-echowave-linear-screenshot.png",
            "dltrackus-telemed-echowave-linear-screenshot.json",
        ),
    ] {
        std::fs::copy(root.join("files").join(file), real.join("files").join(file)).unwrap();
        std::fs::copy(
            root.join("labels").join(label),
            real.join("labels").join(label),
        )
        .unwrap();
    }
    let arms = r#"
[[arm]]
name = "threshold"
kind = "weak"
labeler = "threshold"

[[arm]]
name = "checked-threshold"
kind = "trained"
labeler = "threshold"
checked = true

[[arm]]
name = "checked-threshold+refine"
kind = "trained"
labeler = "threshold"
checked = true
refine = true

[[comparison]]
a = "checked-threshold+refine"
b = "threshold"
"#;
    let head = TINY
        .split("[[arm]]")
        .next()
        .unwrap()
        .replace("size = \"160x120\"", "size = \"160x120\"\nreal = \"real\"");
    let cfg = dir.path().join("real.toml");
    std::fs::write(
        &cfg,
        format!("{head}{arms}").replace("seeds = 2", "seeds = 1"),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    ok(&["experiment", "run", "--config", p(&cfg), "--out", p(&runs)]);
    let shared: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs.join("results/checked-threshold+refine/1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(shared["training"][0]["shared"], true, "{shared}");
    assert_eq!(shared["real"]["test_clips"], 2, "{shared}");
    let own: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs.join("results/checked-threshold/1.json")).unwrap(),
    )
    .unwrap();
    assert!(own["training"][0].get("shared").is_none(), "{own}");

    // The refine arm alone, in fresh RUNS: nothing to share, same figures.
    let alone_cfg = dir.path().join("alone.toml");
    let alone_arms = arms
        .split("[[arm]]")
        .filter(|a| a.contains("+refine\"\nkind"))
        .map(|a| format!("[[arm]]{a}"))
        .collect::<String>();
    std::fs::write(
        &alone_cfg,
        format!(
            "{head}{}",
            alone_arms.split("[[comparison]]").next().unwrap()
        )
        .replace("seeds = 2", "seeds = 1"),
    )
    .unwrap();
    let alone = dir.path().join("alone");
    ok(&[
        "experiment",
        "run",
        "--config",
        p(&alone_cfg),
        "--out",
        p(&alone),
    ]);
    let own_refine: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(alone.join("results/checked-threshold+refine/1.json")).unwrap(),
    )
    .unwrap();
    assert!(own_refine["training"][0].get("shared").is_none());
    assert_eq!(own_refine["metrics"], shared["metrics"]);
    assert_eq!(own_refine["real"], shared["real"]);

    let rep = dir.path().join("rep");
    let printed = ok(&["experiment", "report", "--runs", p(&runs), "--out", p(&rep)]);
    assert!(printed.contains("real pixel accuracy"), "{printed}");
    let csv = std::fs::read_to_string(rep.join("results.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",real_signal_loss"), "{header}");
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 14, "{row}");
        let acc: f64 = f[9].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{row}");
    }
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains("## Real test set: metrics per arm"), "{md}");
    assert!(rep.join("plots/real_pixel_accuracy.png").is_file());

    // A real set without its labels is refused before any job runs.
    std::fs::remove_dir_all(real.join("labels")).unwrap();
    let err = fails(&[
        "experiment",
        "run",
        "--config",
        p(&cfg),
        "--out",
        p(&dir.path().join("x")),
    ]);
    assert!(
        err.contains("labels") && err.contains("not a folder"),
        "{err}"
    );
}

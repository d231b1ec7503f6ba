//! The job list and `--shard i/n`.
//!
//! Jobs are sorted by (arm name, seed) and job `k` of that list belongs to
//! shard `k mod n`. Round-robin rather than contiguous slices, because arms
//! differ a lot in cost (a weak arm takes seconds, a refined one minutes):
//! dealing them out keeps shards about equally long. Shards are 0-based,
//! like Kubernetes' `JOB_COMPLETION_INDEX` and a Slurm array `--array=0-N-1`.

use std::str::FromStr;

use super::config::{Arm, ExperimentConfig};

/// One (arm, seed) job.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
    pub arm: &'a Arm,
    pub seed: u64,
}

/// Every job of `cfg`, sorted by arm name, then seed.
pub fn jobs(cfg: &ExperimentConfig) -> Vec<Job<'_>> {
    let mut arms: Vec<&Arm> = cfg.arms.iter().collect();
    arms.sort_by(|a, b| a.name.cmp(&b.name));
    arms.into_iter()
        .flat_map(|arm| cfg.seeds.iter().map(move |&seed| Job { arm, seed }))
        .collect()
}

/// `--shard i/n`: this process runs every n-th job starting at i.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole job list.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// The jobs of this shard, in list order.
    pub fn select<'a>(&self, jobs: &[Job<'a>]) -> Vec<Job<'a>> {
        jobs.iter()
            .enumerate()
            .filter(|(k, _)| k % self.count == self.index)
            .map(|(_, j)| *j)
            .collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4 (shards are 0-based)"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|e| format!("{s:?}: {v:?} is not a count: {e}"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if count == 0 {
            return Err(format!("{s:?}: the shard count must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: the index must be below the count (shards are 0-based: 0/{count} … {}/{count})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::config::{ArmKind, parse};

    #[test]
    fn parses_and_rejects() {
        assert_eq!("1/4".parse(), Ok(Shard { index: 1, count: 4 }));
        assert_eq!("0/1".parse(), Ok(Shard::ALL));
        for bad in ["3/2", "2/2", "0/0", "1", "a/2", "-1/2", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("3/2".parse::<Shard>().unwrap_err().contains("0-based"));
    }

    #[test]
    fn shards_partition_the_sorted_job_list() {
        let cfg = parse(
            r#"
name = "x"
seeds = [5, 2, 9]
[data]
seed = 1
pool_clips = 3
test_clips = 1
[[arm]]
name = "zeta"
kind = "weak"
labeler = "threshold"
[[arm]]
name = "alpha"
kind = "weak"
labeler = "temporal"
"#,
        )
        .unwrap();
        let all = jobs(&cfg);
        let names: Vec<_> = all
            .iter()
            .map(|j| format!("{}/{}", j.arm.name, j.seed))
            .collect();
        assert_eq!(
            names,
            [
                "alpha/2", "alpha/5", "alpha/9", "zeta/2", "zeta/5", "zeta/9"
            ]
        );
        assert!(matches!(all[0].arm.kind, ArmKind::Weak { .. }));
        for n in 1..=7 {
            let mut seen: Vec<String> = (0..n)
                .flat_map(|i| Shard { index: i, count: n }.select(&all))
                .map(|j| format!("{}/{}", j.arm.name, j.seed))
                .collect();
            seen.sort();
            let mut want = names.clone();
            want.sort();
            assert_eq!(seen, want, "{n} shards cover every job once");
        }
        let s0: Vec<u64> = Shard { index: 0, count: 2 }
            .select(&all)
            .iter()
            .map(|j| j.seed)
            .collect();
        assert_eq!(s0, [2, 9, 5]);
    }
}

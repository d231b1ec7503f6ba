//! Student's t-tests for comparing repeated runs, as the paper did, and
//! the variants its design calls for: Welch's test when the arms' variances
//! differ, the paired test when the arms share seeds. Conventions follow
//! `scipy.stats.ttest_ind` / `ttest_rel` (the difference is `a − b`), and
//! the tests check against values scipy printed.
//!
//! p-values come from the t distribution's survival function (statrs), not
//! `1 − cdf`, so a p of 1e-90 keeps its digits.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Which t-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Two independent samples, pooled variance (Student; the paper's test).
    Student,
    /// Two independent samples, separate variances (Welch–Satterthwaite df).
    Welch,
    /// Paired samples (e.g. the same seeds in both arms): a one-sample test
    /// of the differences, df = n − 1.
    Paired,
}

/// The alternative hypothesis about `mean(a) − mean(b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    TwoSided,
    /// `mean(a) < mean(b)`.
    Less,
    /// `mean(a) > mean(b)`.
    Greater,
}

/// Why a test cannot be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StatsError {
    #[error("sample {0} needs at least 2 values, has {1}")]
    TooFew(&'static str, usize),
    #[error("sample {0} holds a value that is not a finite number")]
    NotFinite(&'static str),
    #[error("a paired test needs samples of equal length ({0} vs {1})")]
    Unpaired(usize, usize),
    #[error("zero variance: the t statistic is undefined")]
    ZeroVariance,
}

/// A test's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TTest {
    pub design: Design,
    pub alternative: Alternative,
    pub n_a: usize,
    pub n_b: usize,
    pub mean_a: f64,
    pub mean_b: f64,
    /// `mean(a) − mean(b)` (the mean of the differences when paired).
    pub mean_diff: f64,
    pub t: f64,
    pub df: f64,
    pub p: f64,
    /// Two-sided 95% confidence interval of `mean_diff`.
    pub ci95: [f64; 2],
    /// Cohen's d: the difference over the pooled standard deviation
    /// (independent designs) or over the differences' standard deviation
    /// (paired, d_z).
    pub cohens_d: f64,
}

/// Mean and unbiased variance.
fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v)
}

fn validate(x: &[f64], name: &'static str) -> Result<(), StatsError> {
    if x.len() < 2 {
        return Err(StatsError::TooFew(name, x.len()));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::NotFinite(name));
    }
    Ok(())
}

/// Runs the test on samples `a` and `b`.
pub fn ttest(
    a: &[f64],
    b: &[f64],
    design: Design,
    alternative: Alternative,
) -> Result<TTest, StatsError> {
    validate(a, "a")?;
    validate(b, "b")?;
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (diff, se, df, sd) = match design {
        Design::Student => {
            let pooled = ((na - 1.0) * va + (nb - 1.0) * vb) / (na + nb - 2.0);
            let se = (pooled * (1.0 / na + 1.0 / nb)).sqrt();
            (ma - mb, se, na + nb - 2.0, pooled.sqrt())
        }
        Design::Welch => {
            let (qa, qb) = (va / na, vb / nb);
            let df = (qa + qb).powi(2) / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0));
            let pooled = ((na - 1.0) * va + (nb - 1.0) * vb) / (na + nb - 2.0);
            ((ma - mb), (qa + qb).sqrt(), df, pooled.sqrt())
        }
        Design::Paired => {
            if a.len() != b.len() {
                return Err(StatsError::Unpaired(a.len(), b.len()));
            }
            let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
            let (md, vd) = mean_var(&d);
            (md, (vd / na).sqrt(), na - 1.0, vd.sqrt())
        }
    };
    if !(se > 0.0 && se.is_finite()) {
        return Err(StatsError::ZeroVariance);
    }
    let t = diff / se;
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|_| StatsError::ZeroVariance)?;
    let p = match alternative {
        Alternative::TwoSided => (2.0 * dist.sf(t.abs())).min(1.0),
        Alternative::Greater => dist.sf(t),
        Alternative::Less => dist.sf(-t),
    };
    let q = t_quantile(&dist, 0.975);
    Ok(TTest {
        design,
        alternative,
        n_a: a.len(),
        n_b: b.len(),
        mean_a: ma,
        mean_b: mb,
        mean_diff: diff,
        t,
        df,
        p,
        ci95: [diff - q * se, diff + q * se],
        cohens_d: if sd > 0.0 { diff / sd } else { f64::NAN },
    })
}

/// The `prob` quantile (0.5 < prob < 1) of `dist`: statrs's inverse, then
/// Newton steps on the cdf so the interval matches scipy's to ~1e-12.
fn t_quantile(dist: &StudentsT, prob: f64) -> f64 {
    use statrs::distribution::Continuous;
    let mut x = dist.inverse_cdf(prob);
    for _ in 0..8 {
        let f = dist.sf(x) - (1.0 - prob);
        let step = f / dist.pdf(x);
        if !step.is_finite() {
            break;
        }
        x += step;
        if step.abs() < 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// Runs per arm needed to detect a difference of `effect` (Cohen's d) with
/// a two-sided two-sample Student test at level `alpha` and the given
/// power: the smallest n with noncentral power ≥ target, using the normal
/// approximation of the noncentral t (adequate for planning).
pub fn runs_for_power(effect: f64, alpha: f64, power: f64) -> Option<usize> {
    if !(effect.is_finite() && effect != 0.0) {
        return None;
    }
    let norm = statrs::distribution::Normal::new(0.0, 1.0).ok()?;
    for n in 2..100_000usize {
        let df = 2.0 * n as f64 - 2.0;
        let dist = StudentsT::new(0.0, 1.0, df).ok()?;
        let crit = t_quantile(&dist, 1.0 - alpha / 2.0);
        let ncp = effect.abs() * (n as f64 / 2.0).sqrt();
        let achieved = norm.sf(crit - ncp) + norm.cdf(-crit - ncp);
        if achieved >= power {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
    }

    /// Reference values printed by scipy 1.17.1 (`scipy.stats.ttest_ind`,
    /// `ttest_ind(..., equal_var=False)`, `ttest_rel`, and
    /// `.confidence_interval(0.95)`).
    #[test]
    fn matches_scipy() {
        let a = [0.981, 0.984, 0.979, 0.986, 0.983];
        let b = [0.962, 0.958, 0.966, 0.960, 0.971];
        for (design, alt, t, df, p, lo, hi) in REFERENCE {
            let r = ttest(&a, &b, *design, *alt).unwrap();
            assert!(close(r.t, *t, 1e-9), "{design:?} {alt:?} t {} vs {t}", r.t);
            assert!(close(r.df, *df, 1e-9), "{design:?} df {} vs {df}", r.df);
            assert!(close(r.p, *p, 1e-9), "{design:?} {alt:?} p {} vs {p}", r.p);
            assert!(
                close(r.ci95[0], *lo, 1e-9),
                "{design:?} ci lo {} vs {lo}",
                r.ci95[0]
            );
            assert!(
                close(r.ci95[1], *hi, 1e-9),
                "{design:?} ci hi {} vs {hi}",
                r.ci95[1]
            );
        }
    }

    type Row = (Design, Alternative, f64, f64, f64, f64, f64);
    const REFERENCE: &[Row] = &include!("stats_reference.in");

    /// A huge effect: p near 1e-90 must keep its digits (sf, not 1 − cdf).
    #[test]
    fn tiny_p_values_keep_their_digits() {
        let (a, b, p_ref) = TINY;
        let r = ttest(&a, &b, Design::Student, Alternative::TwoSided).unwrap();
        assert!(close(r.p, p_ref, 1e-9), "p {} vs {p_ref}", r.p);
        assert!(r.p < 1e-85);
    }

    const TINY: ([f64; 40], [f64; 40], f64) = include!("stats_tiny.in");

    /// Samples of size 2, the smallest allowed.
    #[test]
    fn size_two_samples() {
        let r = ttest(
            &[1.0, 2.0],
            &[3.0, 5.0],
            Design::Student,
            Alternative::TwoSided,
        )
        .unwrap();
        // scipy: t = -2.23606797749979, p = 0.1548457452714834
        assert!(close(r.t, -2.236_067_977_499_79, 1e-9));
        assert!(close(r.p, 0.154_845_745_271_483_4, 1e-9));
        let r = ttest(
            &[1.0, 2.0],
            &[3.0, 5.0],
            Design::Paired,
            Alternative::TwoSided,
        )
        .unwrap();
        // scipy: t = -5.0, p = 0.1256659163780024
        assert!(close(r.t, -5.0, 1e-9));
        assert!(close(r.p, 0.125_665_916_378_002_4, 1e-9));
    }

    #[test]
    fn invalid_input_is_an_error() {
        let two = [1.0, 2.0];
        assert_eq!(
            ttest(&[1.0], &two, Design::Student, Alternative::TwoSided),
            Err(StatsError::TooFew("a", 1))
        );
        assert_eq!(
            ttest(&two, &[f64::NAN, 1.0], Design::Welch, Alternative::TwoSided),
            Err(StatsError::NotFinite("b"))
        );
        assert_eq!(
            ttest(
                &two,
                &[1.0, 2.0, 3.0],
                Design::Paired,
                Alternative::TwoSided
            ),
            Err(StatsError::Unpaired(2, 3))
        );
        assert_eq!(
            ttest(
                &[1.0, 1.0],
                &[1.0, 1.0],
                Design::Student,
                Alternative::TwoSided
            ),
            Err(StatsError::ZeroVariance)
        );
    }

    #[test]
    fn power_grows_with_smaller_effects() {
        let big = runs_for_power(1.5, 0.05, 0.8).unwrap();
        let small = runs_for_power(0.5, 0.05, 0.8).unwrap();
        // Textbook (G*Power): d = 0.5 needs 64 per group, d = 1.5 needs 9.
        assert!((63..=65).contains(&small), "{small}");
        assert!((8..=10).contains(&big), "{big}");
    }
}

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

/// Power of a two-sided two-sample Student test with `n` runs per arm at
/// level `alpha` when the true difference is `effect` (Cohen's d).
///
/// Exact: the statistic follows a noncentral t with df = 2n − 2 and
/// noncentrality δ = d·√(n/2), i.e. T = (Z + δ)/S with S = √(χ²_df / df),
/// so P(|T| > c) = E_S[Φ(δ − cS) + Φ(−δ − cS)]. statrs has no noncentral t,
/// so the expectation is integrated numerically over the density of S
/// (Simpson's rule, 2000 panels over ±12 of S's standard deviations around
/// 1); agrees with `scipy.stats.nct` to ~1e-9 (see the tests).
pub fn power_two_sample(effect: f64, n: usize, alpha: f64) -> Option<f64> {
    use statrs::distribution::{ChiSquared, Continuous, Normal};
    if n < 2 || !effect.is_finite() || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let df = 2.0 * n as f64 - 2.0;
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    let c = t_quantile(&t, 1.0 - alpha / 2.0);
    let delta = effect.abs() * (n as f64 / 2.0).sqrt();
    let chi = ChiSquared::new(df).ok()?;
    let norm = Normal::new(0.0, 1.0).ok()?;
    // S = sqrt(V/df) has density f_V(df·s²)·2·df·s; its sd is ≈ 1/√(2df).
    let sd = (1.0 / (2.0 * df)).sqrt();
    let (lo, hi) = ((1.0 - 12.0 * sd).max(0.0), 1.0 + 12.0 * sd);
    let f = |s: f64| {
        if s <= 0.0 {
            return 0.0;
        }
        let dens = (chi.ln_pdf(df * s * s)).exp() * 2.0 * df * s;
        dens * (norm.cdf(delta - c * s) + norm.cdf(-delta - c * s))
    };
    const PANELS: usize = 2000;
    let h = (hi - lo) / PANELS as f64;
    let mut sum = f(lo) + f(hi);
    for k in 1..PANELS {
        sum += f(lo + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    Some((sum * h / 3.0).clamp(0.0, 1.0))
}

/// Runs per arm needed to detect a difference of `effect` (Cohen's d) with
/// a two-sided two-sample Student test at level `alpha` and the given
/// power: the smallest n whose exact noncentral-t power
/// ([`power_two_sample`]) reaches the target, found by bisection (power
/// grows with n). `None` for no effect or beyond a million runs.
pub fn runs_for_power(effect: f64, alpha: f64, power: f64) -> Option<usize> {
    let has_effect = effect.is_finite() && effect != 0.0;
    let valid_power = power > 0.0 && power < 1.0;
    if !has_effect || !valid_power {
        return None;
    }
    let reaches = |n: usize| power_two_sample(effect, n, alpha).is_some_and(|p| p >= power);
    let (mut lo, mut hi) = (2usize, 1_000_000usize);
    if reaches(lo) {
        return Some(lo);
    }
    if !reaches(hi) {
        return None;
    }
    // Invariant: lo does not reach the target, hi does.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Mean, sample standard deviation and the two-sided 95% t confidence
/// interval of the mean. `None` for fewer than two values or any value that
/// is not finite; the interval collapses to the mean when all values agree.
pub fn mean_ci95(x: &[f64]) -> Option<MeanCi> {
    validate(x, "x").ok()?;
    let (m, v) = mean_var(x);
    let sd = v.sqrt();
    let dist = StudentsT::new(0.0, 1.0, x.len() as f64 - 1.0).ok()?;
    let half = t_quantile(&dist, 0.975) * sd / (x.len() as f64).sqrt();
    Some(MeanCi {
        mean: m,
        sd,
        ci95: [m - half, m + half],
    })
}

/// See [`mean_ci95`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeanCi {
    pub mean: f64,
    pub sd: f64,
    pub ci95: [f64; 2],
}

/// Holm's step-down adjustment of p-values for multiple comparisons
/// (controls the family-wise error rate): sort ascending, multiply the k-th
/// smallest by (m − k), enforce monotonicity, cap at 1 (the definition
/// `statsmodels`' `multipletests(p, method="holm")` implements).
/// Non-finite inputs stay as they are and do not count towards m.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = idx.len();
    let mut out = p.to_vec();
    let mut running = 0.0f64;
    for (k, &i) in idx.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
    }

    /// Reference values printed by scipy 1.17.1 (`scipy.stats.ttest_ind`,
    /// `ttest_ind(..., equal_var=False)`, `ttest_rel`, and
    /// `.confidence_interval(0.95)`); `scripts/gen_stats_reference.py`
    /// regenerates `stats_reference.in` and `stats_tiny.in`.
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

    /// Power and sample sizes from `scipy.stats.nct` (scipy 1.17.1):
    /// power = nct.sf(c, df, δ) + nct.cdf(−c, df, δ), c = t.ppf(0.975, df).
    #[test]
    fn power_matches_scipy_noncentral_t() {
        for (d, n, want) in [
            (0.5, 10, 0.1850956562911663),
            (1.5, 5, 0.549385597762396),
            (3.0, 2, 0.38740012852597105),
            (0.2, 100, 0.2906458716590867),
            (2.0, 3, 0.462640811891307),
            (0.5, 64, 0.8014595579222541),
            (0.2, 394, 0.8005931284024348),
        ] {
            let got = power_two_sample(d, n, 0.05).unwrap();
            assert!(close(got, want, 1e-8), "d {d} n {n}: {got} vs {want}");
        }
        // Smallest n with power ≥ 0.8, found by stepping n in scipy.
        for (d, n) in [
            (0.2, 394),
            (0.5, 64),
            (0.8, 26),
            (1.0, 17),
            (1.5, 9),
            (2.0, 6),
            (3.0, 4),
            (5.0, 3),
            (-0.5, 64),
            (0.05, 6281),
        ] {
            assert_eq!(runs_for_power(d, 0.05, 0.8), Some(n), "d = {d}");
        }
        assert_eq!(runs_for_power(0.0, 0.05, 0.8), None);
        assert_eq!(runs_for_power(f64::NAN, 0.05, 0.8), None);
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03,
        // 0.06, 0.04 → running max 0.02, 0.03, 0.06, 0.06.
        let got = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, w, 1e-12), "{got:?}");
        }
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        let with_nan = holm(&[0.01, f64::NAN, 0.02]);
        assert!(with_nan[1].is_nan());
        assert!(close(with_nan[0], 0.02, 1e-12) && close(with_nan[2], 0.02, 1e-12));
    }

    #[test]
    fn mean_ci_matches_scipy() {
        // scipy.stats.t.interval(0.95, 4, loc=mean, scale=sem)
        let r = mean_ci95(&[0.981, 0.984, 0.979, 0.986, 0.983]).unwrap();
        assert!(close(r.mean, 0.9826, 1e-12));
        assert!(close(r.ci95[0], CI_LO, 1e-9), "{:?}", r.ci95);
        assert!(close(r.ci95[1], CI_HI, 1e-9), "{:?}", r.ci95);
        assert!(mean_ci95(&[1.0]).is_none());
        let flat = mean_ci95(&[2.0, 2.0]).unwrap();
        assert_eq!(flat.ci95, [2.0, 2.0]);
    }

    const CI_LO: f64 = 0.9792452086150732;
    const CI_HI: f64 = 0.9859547913849266;

    #[test]
    fn power_grows_with_smaller_effects() {
        let big = runs_for_power(1.5, 0.05, 0.8).unwrap();
        let small = runs_for_power(0.5, 0.05, 0.8).unwrap();
        // Textbook (G*Power): d = 0.5 needs 64 per group, d = 1.5 needs 9.
        assert!((63..=65).contains(&small), "{small}");
        assert!((8..=10).contains(&big), "{big}");
    }
}

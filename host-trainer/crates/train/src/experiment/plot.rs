//! The report's figures, each as SVG and PNG (plotters): a box-and-strip
//! plot per metric and human effort against accuracy.
//!
//! Text goes through plotters' `ab_glyph` backend with DejaVu Sans embedded
//! in the binary (the `dejavu` crate): the default `ttf` backend needs the
//! system's fontconfig and fonts, which a fresh machine may lack. The PNG
//! is drawn into a memory buffer and encoded with `image`, the codec the
//! rest of sonomask uses.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ExperimentError;
use super::config::Metric;
use sonomask_data::dataset;

const FONT: &str = "sans-serif";

/// Tableau 10: distinct, and readable on white (plotters' Palette99 starts
/// with a pale yellow).
const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

fn pick(i: usize) -> RGBAColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b).to_rgba()
}

/// Registers the embedded font once.
fn font_ready() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the embedded DejaVu Sans font did not load".to_string())
        })
        .clone()
}

/// Linear-interpolation quantile (numpy's default) of sorted `v`.
pub fn quantile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Box of a box plot: quartiles, median, whiskers at the furthest values
/// within 1.5 × IQR of the box (Tukey).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxStats {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub low: f64,
    pub high: f64,
}

impl BoxStats {
    pub fn new(values: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let (q1, median, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
        let iqr = q3 - q1;
        let (lf, hf) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let low = v.iter().copied().find(|&x| x >= lf).unwrap_or(q1);
        let high = v.iter().rev().copied().find(|&x| x <= hf).unwrap_or(q3);
        Some(Self {
            q1,
            median,
            q3,
            low,
            high,
        })
    }
}

/// Value range with 6% padding (a flat range gets a small width).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.06
    } else {
        (hi.abs() * 0.01).max(1e-3)
    };
    (lo - pad, hi + pad)
}

/// Deterministic vertical jitter of the k-th run: spread over ±0.22 of a
/// row by the golden ratio, so dots of equal value stay visible.
fn jitter(k: usize) -> f64 {
    ((k as f64 * 0.618_033_988_75).fract() - 0.5) * 0.44
}

fn plot_err(path: &Path) -> impl Fn(String) -> ExperimentError + '_ {
    move |message| ExperimentError::Plot {
        path: path.to_path_buf(),
        message,
    }
}

/// Draws a figure on an SVG canvas (the same closure body serves both backends).
type DrawSvg<'a> = dyn Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String> + 'a;
/// Draws a figure on a bitmap canvas.
type DrawPng<'a> = dyn Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String> + 'a;

/// Draws with `draw` into `BASE.svg` and `BASE.png` (`w × h` px) and
/// returns both paths.
fn render(
    base: &Path,
    (w, h): (u32, u32),
    draw: &DrawSvg<'_>,
    draw_png: &DrawPng<'_>,
) -> Result<Vec<PathBuf>, ExperimentError> {
    let svg_path = base.with_extension("svg");
    let png_path = base.with_extension("png");
    font_ready().map_err(plot_err(&svg_path))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root).map_err(plot_err(&svg_path))?;
        root.present()
            .map_err(|e| plot_err(&svg_path)(e.to_string()))?;
    }
    dataset::write_atomic(&svg_path, svg.as_bytes())?;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw_png(&root).map_err(plot_err(&png_path))?;
        root.present()
            .map_err(|e| plot_err(&png_path)(e.to_string()))?;
    }
    let img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| plot_err(&png_path)("bitmap size mismatch".into()))?;
    dataset::write_png(&png_path, &img)?;
    Ok(vec![svg_path, png_path])
}

fn e2s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A horizontal box-and-strip plot of `metric`: one row per arm (in the
/// given order, first on top), box = quartiles, thick line = median,
/// whiskers = Tukey, dots = runs. Writes `BASE.svg` and `BASE.png`.
pub fn box_strip(
    base: &Path,
    metric: Metric,
    set: &str,
    arms: &[(&str, &[f64])],
) -> Result<Vec<PathBuf>, ExperimentError> {
    let n = arms.len().max(1);
    let label_w = arms.iter().map(|(a, _)| a.len()).max().unwrap_or(4) as u32 * 8 + 24;
    let size = (960, 110 + 44 * n as u32);
    let runs = arms.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let caption = format!(
        "{} on the {set} ({} runs per arm; {} is better)",
        metric.label(),
        runs,
        if metric.higher_is_better() {
            "higher"
        } else {
            "lower"
        }
    );
    fn draw<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        arms: &[(&str, &[f64])],
        caption: &str,
        label_w: u32,
        metric: Metric,
    ) -> Result<(), String> {
        let n = arms.len().max(1);
        root.fill(&WHITE).map_err(e2s)?;
        let (x0, x1) = padded(arms.iter().flat_map(|(_, v)| v.iter().copied()));
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x0..x1, -0.5f64..(n as f64 - 0.5))
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_desc(metric.label())
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(e2s)?;
        for (i, (name, values)) in arms.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let color = pick(i);
            // The arm's name, right-aligned left of the plot.
            let (px, py) = chart.backend_coord(&(x0, y));
            let style = TextStyle::from((FONT, 14).into_font()).color(&BLACK).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                ),
            );
            root.draw_text(name, &style, (px - 8, py)).map_err(e2s)?;
            if let Some(b) = BoxStats::new(values) {
                let stroke = color.stroke_width(2);
                chart
                    .draw_series([
                        Rectangle::new(
                            [(b.q1, y - 0.28), (b.q3, y + 0.28)],
                            color.mix(0.18).filled(),
                        ),
                        Rectangle::new([(b.q1, y - 0.28), (b.q3, y + 0.28)], stroke),
                    ])
                    .map_err(e2s)?;
                chart
                    .draw_series([
                        PathElement::new(
                            vec![(b.median, y - 0.28), (b.median, y + 0.28)],
                            color.stroke_width(4),
                        ),
                        PathElement::new(vec![(b.low, y), (b.q1, y)], stroke),
                        PathElement::new(vec![(b.q3, y), (b.high, y)], stroke),
                        PathElement::new(vec![(b.low, y - 0.14), (b.low, y + 0.14)], stroke),
                        PathElement::new(vec![(b.high, y - 0.14), (b.high, y + 0.14)], stroke),
                    ])
                    .map_err(e2s)?;
            }
            chart
                .draw_series(
                    values.iter().enumerate().map(|(k, &v)| {
                        Circle::new((v, y + jitter(k)), 4, BLACK.mix(0.55).filled())
                    }),
                )
                .map_err(e2s)?;
        }
        Ok(())
    }
    render(
        base,
        size,
        &|r| draw(r, arms, &caption, label_w, metric),
        &|r| draw(r, arms, &caption, label_w, metric),
    )
}

/// One arm in the effort plot.
pub struct EffortPoint<'a> {
    pub arm: &'a str,
    pub human_minutes: f64,
    pub mean: f64,
    pub sd: f64,
}

/// Human effort (x, minutes per run) against the mean of `metric` (y, ± sd
/// bars), one labelled point per arm. Writes `BASE.svg` and `BASE.png`.
pub fn effort(
    base: &Path,
    metric: Metric,
    points: &[EffortPoint<'_>],
) -> Result<Vec<PathBuf>, ExperimentError> {
    let caption = format!(
        "Human effort against {} (mean ± sd per arm)",
        metric.label()
    );
    fn draw<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        points: &[EffortPoint<'_>],
        caption: &str,
        metric: Metric,
    ) -> Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let (y0, y1) = padded(points.iter().flat_map(|p| [p.mean - p.sd, p.mean + p.sd]));
        let xmax = points
            .iter()
            .map(|p| p.human_minutes)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let x1 = if xmax > 0.0 { xmax * 1.35 } else { 1.0 };
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.04 * x1..x1, y0..y1)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .x_desc("simulated human minutes per run (checks + drawings)")
            .y_desc(metric.label())
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(e2s)?;
        for (i, p) in points.iter().enumerate() {
            let color = pick(i);
            let (x, y) = (p.human_minutes, p.mean);
            chart
                .draw_series([PathElement::new(
                    vec![(x, y - p.sd), (x, y + p.sd)],
                    color.stroke_width(2),
                )])
                .map_err(e2s)?;
            chart
                .draw_series([Circle::new((x, y), 5, color.filled())])
                .map_err(e2s)?;
            // Labels alternate above and below so arms at equal effort
            // (all the unsupervised ones sit at 0) stay readable.
            let (px, py) = chart.backend_coord(&(x, y));
            let dy = if i % 2 == 0 { -10 } else { 10 };
            let style = TextStyle::from((FONT, 13).into_font()).color(&BLACK);
            root.draw_text(p.arm, &style, (px + 8, py + dy - 6))
                .map_err(e2s)?;
        }
        Ok(())
    }
    render(
        base,
        (960, 560),
        &|r| draw(r, points, &caption, metric),
        &|r| draw(r, points, &caption, metric),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_and_whiskers() {
        let b = BoxStats::new(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert_eq!((b.q1, b.median, b.q3), (2.0, 3.0, 4.0));
        assert_eq!((b.low, b.high), (1.0, 4.0), "100 is an outlier");
        assert!(BoxStats::new(&[]).is_none());
        assert_eq!(quantile(&[1.0, 2.0], 0.25), 1.25);
    }

    #[test]
    fn writes_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let a = [0.91, 0.92, 0.95];
        let b = [0.97, 0.975, 0.98];
        let files = box_strip(
            &dir.path().join("dice"),
            Metric::Dice,
            "test set",
            &[("threshold", &a), ("method", &b)],
        )
        .unwrap();
        assert_eq!(files.len(), 2);
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("threshold"),
            "labels are text in the SVG"
        );
        let png = image::open(&files[1]).unwrap().into_rgb8();
        assert_eq!(png.width(), 960);
        // Something besides white was drawn (boxes, dots, text).
        let dark = png
            .pixels()
            .filter(|p| p.0.iter().all(|&c| c < 100))
            .count();
        assert!(dark > 500, "{dark}");
        let pts = [EffortPoint {
            arm: "method",
            human_minutes: 3.0,
            mean: 0.97,
            sd: 0.01,
        }];
        assert_eq!(
            effort(&dir.path().join("effort"), Metric::Dice, &pts)
                .unwrap()
                .len(),
            2
        );
    }
}

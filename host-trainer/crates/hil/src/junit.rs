//! JUnit XML for CI: one `<testcase>` per frame, a `<failure>` when the
//! device disagreed with the reference, let unmasked pixels out, or did
//! not answer.

use std::fmt::Write as _;

use super::FrameRecord;

/// Escapes text for XML attributes and content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// The whole document for a suite named `suite`.
pub fn render(suite: &str, frames: &[FrameRecord]) -> String {
    let failures = frames.iter().filter(|f| f.failure().is_some()).count();
    let time: f64 = frames.iter().map(|f| f.latency_ms / 1000.0).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites><testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{time:.3}\">",
        escape(suite),
        frames.len()
    );
    for f in frames {
        let _ = write!(
            x,
            "  <testcase classname=\"{}\" name=\"{}/{:03}\" time=\"{:.3}\">",
            escape(suite),
            escape(&f.clip),
            f.index,
            f.latency_ms / 1000.0
        );
        if let Some(msg) = f.failure() {
            let _ = write!(x, "<failure message=\"{}\"/>", escape(&msg));
        }
        let mut out = format!("outcome: {}; kept pixels: {}", f.outcome, f.kept_pixels);
        if let Some(i) = &f.instructions {
            let _ = write!(
                out,
                "; instructions: preprocess {} inference {} fit {} masking {} total {}",
                i.preprocess, i.inference, i.fit, i.masking, i.total
            );
        }
        if let Some(t) = &f.truth {
            let _ = write!(out, "; dice {:.4} phi_leak {:.4}", t.dice, t.phi_leak);
        }
        let _ = writeln!(x, "<system-out>{}</system-out></testcase>", escape(&out));
    }
    x.push_str("</testsuite></testsuites>\n");
    x
}

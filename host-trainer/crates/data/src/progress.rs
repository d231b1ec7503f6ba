//! Progress bars that stay out of the way: drawn on stderr only when it is a
//! terminal, so piped `--json` output and test logs stay clean.

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Hides every bar and spinner created from now on (until called with
/// `false`). An experiment runs whole pipelines, several at once with
/// `--jobs`: their stage bars would overwrite each other and the
/// experiment's own bar, which is created before this is switched on.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::SeqCst);
}

fn hidden() -> bool {
    QUIET.load(Ordering::SeqCst) || !std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// A bar over `len` items with a label, hidden when stderr is not a terminal.
pub fn bar(len: u64, label: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if hidden() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());
    pb
}

/// Like [`bar`], with a message after the counts (loss, accuracy, …) set
/// through [`ProgressBar::set_message`].
pub fn bar_with_message(len: u64, label: &str) -> ProgressBar {
    let pb = bar(len, label);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// A spinner for work of unknown length; the message names the stage.
/// Hidden when stderr is not a terminal.
pub fn spinner(label: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if hidden() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} {spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_prefix(label.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_data::dataset::Dataset;
use sonomask_human::web::{self, Common, Token, review};

/// Review weak labels in the browser: one key per decision.
///
/// Starts a local web server and prints its URL (with a random session
/// token) on stdout; open it in a browser. The page shows one clip at a
/// time: its max projection with the candidate mask outlined, and beside it
/// the same picture with everything outside the mask dimmed.
///
/// Keys: a or → accept and next, r or ← reject and next, f flag for a second
/// look, u or Backspace undo, m max projection / first frame, ? help.
///
/// Every decision is appended to the JSONL journal (the format of `sonomask
/// check`; decision accept | reject | flag | undo) and fsynced before the
/// page shows the next clip. Restarting resumes at the first clip without a
/// standing decision. Stop the server with Ctrl-C.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// Folder of the masks to review (MASKDIR/<clip-id>.png).
    #[arg(long)]
    labels: PathBuf,
    /// Journal file to append to (created if missing).
    #[arg(long)]
    journal: PathBuf,
    /// Name of the label set in the journal (default: the MASKDIR folder name).
    #[arg(long)]
    labels_name: Option<String>,
    /// Who is reviewing (the journal's `reviewer`; default: $USER).
    #[arg(long)]
    reviewer: Option<String>,
    /// Address to listen on; port 0 picks a free one. Anything but loopback
    /// exposes the (token-guarded, unencrypted) page to the network.
    #[arg(long, default_value = web::DEFAULT_BIND)]
    bind: SocketAddr,
}

/// The person's name for the journal: explicit, else $USER, else `human`.
pub fn person(explicit: Option<String>) -> String {
    explicit
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "human".into())
}

/// Says where the page is and warns about a non-loopback address.
pub fn announce(what: &str, url: &str, bind: SocketAddr) {
    use std::io::Write;
    if !bind.ip().is_loopback() {
        eprintln!(
            "warning: listening on {bind}, not loopback: anyone who can reach it and sees the token can use the {what} (plain HTTP)"
        );
    }
    println!("{url}");
    // The URL is what a script waits for: flush it now, not at exit.
    let _ = std::io::stdout().flush();
    eprintln!("{what}: open the URL above in a browser; Ctrl-C stops the server");
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = Dataset::open(&args.data)?;
    let labels_name = super::check::labels_name(&args.labels, args.labels_name)?;
    let cfg = review::ReviewConfig {
        labels_dir: args.labels.clone(),
        labels_name,
        journal: args.journal.clone(),
        reviewer: person(args.reviewer),
    };
    let session = review::ReviewSession::open(&data, cfg)
        .with_context(|| format!("opening journal {}", args.journal.display()))?;
    let view = session.view(&data);
    let token = Token::random().context("no random source for the session token")?;
    let state = std::sync::Arc::new(review::ReviewState {
        common: Common::new(token.clone(), data),
        session: std::sync::Mutex::new(session),
    });
    let bound = web::bind(args.bind, review::router(state), &token)?;
    eprintln!(
        "reviewing {} ({} of {} clips decided) as {}, journal {}",
        view.labels,
        view.decided,
        view.total,
        view.reviewer,
        args.journal.display()
    );
    announce("review", bound.url(), args.bind);
    bound.serve()?;
    Ok(ExitCode::SUCCESS)
}

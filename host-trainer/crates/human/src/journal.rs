//! The review journal: one JSON object per line (JSONL), append-only, each
//! line fsynced before the next decision is taken. The simulated reviewer
//! (`sonomask check --oracle`) and the web review UI write the same format,
//! and training reads it to pick the weak labels a human accepted.
//!
//! ```json
//! {"clip":"clip0003","labels":"threshold","decision":"accept","reviewer":"oracle","seconds":2.0,"time":"2026-11-26T13:30:00.123Z"}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `clip` | clip id in the dataset |
//! | `labels` | which label set was checked (the label folder's name, e.g. `threshold`) |
//! | `decision` | `accept`, `reject`, `flag` (needs a second look) or `undo` (cancels this reviewer's latest standing decision on the clip); the drawing UI writes `draw` (an HQ label was drawn and saved; `labels` names the HQ folder) |
//! | `reviewer` | who decided (`oracle` for the simulated reviewer, a name in the UI) |
//! | `seconds` | time the decision (or the drawing) took |
//! | `time` | when, RFC 3339 UTC |
//! | `dice` | optional: the simulated reviewer's Dice against ground truth |
//! | `request` | optional: the web client's id for the request that wrote the line; a retried request with the same id is not written again |
//!
//! Nothing is ever rewritten: an undo is a new line. The standing decision
//! for a clip is its latest decision that no later `undo` cancelled.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a reviewer decided about one clip's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The label is good enough to train on.
    Accept,
    /// The label is wrong.
    Reject,
    /// Needs a second look (neither accepted nor rejected).
    Flag,
    /// Cancels this reviewer's latest standing decision on the clip.
    Undo,
    /// An annotator drew and saved an HQ label for the clip (the drawing UI;
    /// `seconds` is the time the drawing took).
    Draw,
}

impl Verdict {
    /// The journal spelling (`accept`, `reject`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Reject => "reject",
            Verdict::Flag => "flag",
            Verdict::Undo => "undo",
            Verdict::Draw => "draw",
        }
    }
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub clip: String,
    pub labels: String,
    pub decision: Verdict,
    pub reviewer: String,
    pub seconds: f64,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dice: Option<f64>,
    /// The id the web client gave the request that wrote this line. A
    /// client that lost the reply (the server died after the fsync) sends
    /// the request again with the same id; the server finds the id here and
    /// does not write it twice, which matters most for `undo`: written twice
    /// it would cancel a second decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// Errors reading or appending to a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a journal line: {message}")]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}: clip {clip:?} is not in the dataset")]
    UnknownClip {
        path: PathBuf,
        line: usize,
        clip: String,
    },
}

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads every line of a journal (a missing file is an empty journal). A
/// torn last line without its newline — the only thing a crash mid-write can
/// leave — is ignored (a last line that is a whole decision and lacks only
/// its newline is read, and [`Writer::open`] keeps it); any other bad line
/// is an error naming its number.
pub fn read(path: &Path) -> Result<Vec<Decision>, JournalError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    read_from(path, BufReader::new(file))
}

/// [`read`] on an open reader (`path` only names it in errors; the fuzz
/// target `journal_jsonl` feeds it bytes).
pub fn read_from(path: &Path, mut reader: impl BufRead) -> Result<Vec<Decision>, JournalError> {
    let mut out = Vec::new();
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        n += 1;
        let complete = line.ends_with('\n');
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Decision>(text) {
            Ok(d) => out.push(d),
            Err(_) if !complete => break,
            Err(e) => {
                return Err(JournalError::BadLine {
                    path: path.to_path_buf(),
                    line: n,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Checks that every decision names a clip for which `known` is true.
pub fn check_clips(
    path: &Path,
    decisions: &[Decision],
    known: impl Fn(&str) -> bool,
) -> Result<(), JournalError> {
    for (i, d) in decisions.iter().enumerate() {
        if !known(&d.clip) {
            return Err(JournalError::UnknownClip {
                path: path.to_path_buf(),
                line: i + 1,
                clip: d.clip.clone(),
            });
        }
    }
    Ok(())
}

/// The standing decision per clip for one label set: replay in order; an
/// `undo` removes the reviewer's latest standing decision on that clip.
pub fn standing(decisions: &[Decision], labels: &str) -> HashMap<String, Verdict> {
    standing_where(decisions, |l| l == labels)
}

/// [`standing`] for the label sets `is_label_set` accepts.
pub fn standing_where(
    decisions: &[Decision],
    is_label_set: impl Fn(&str) -> bool,
) -> HashMap<String, Verdict> {
    let mut stacks: HashMap<&str, Vec<(&str, Verdict)>> = HashMap::new();
    for d in decisions.iter().filter(|d| is_label_set(&d.labels)) {
        let stack = stacks.entry(&d.clip).or_default();
        if d.decision == Verdict::Undo {
            if let Some(pos) = stack.iter().rposition(|(r, _)| *r == d.reviewer) {
                stack.remove(pos);
            }
        } else {
            stack.push((&d.reviewer, d.decision));
        }
    }
    stacks
        .into_iter()
        .filter_map(|(clip, stack)| stack.last().map(|&(_, v)| (clip.to_string(), v)))
        .collect()
}

/// The clip whose decision the next `undo` by `reviewer` on label set
/// `labels` would cancel: that reviewer's most recent decision no `undo` has
/// cancelled yet (replaying undos the way [`standing`] does). Lets the
/// review UI undo across restarts.
pub fn undo_target(decisions: &[Decision], labels: &str, reviewer: &str) -> Option<String> {
    let mut stack: Vec<&str> = Vec::new();
    for d in decisions
        .iter()
        .filter(|d| d.labels == labels && d.reviewer == reviewer)
    {
        if d.decision == Verdict::Undo {
            if let Some(pos) = stack.iter().rposition(|c| *c == d.clip) {
                stack.remove(pos);
            }
        } else {
            stack.push(&d.clip);
        }
    }
    stack.last().map(|c| c.to_string())
}

/// The journal replayed one line at a time: [`standing`] and
/// [`undo_target`] kept up to date as lines are appended, so a server that
/// writes one line per request does not replay the whole journal per
/// request. Replaying it made each review decision slower the longer the
/// journal (4 clients on loopback, test profile: about 170 decisions/s at
/// 27,000 lines; with this, 2,300/s averaged over 30,000). Feed it the lines
/// of one label set; clips and reviewers are numbered, so it holds a few
/// bytes per standing decision, not the lines.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    clip_ids: HashMap<String, u32>,
    clip_names: Vec<String>,
    reviewer_ids: HashMap<String, u32>,
    /// Per clip: its standing decisions (reviewer, verdict), oldest first.
    by_clip: Vec<Vec<(u32, Verdict)>>,
    /// Per reviewer: the clips of their standing decisions, oldest first.
    by_reviewer: Vec<Vec<u32>>,
}

impl Replay {
    /// Replays `decisions` (all of one label set) in order.
    pub fn new<'a>(decisions: impl IntoIterator<Item = &'a Decision>) -> Self {
        let mut r = Self::default();
        for d in decisions {
            r.apply(d);
        }
        r
    }

    fn clip_id(&mut self, clip: &str) -> usize {
        if let Some(&i) = self.clip_ids.get(clip) {
            return i as usize;
        }
        let i = self.clip_names.len();
        self.clip_ids.insert(clip.to_string(), i as u32);
        self.clip_names.push(clip.to_string());
        self.by_clip.push(Vec::new());
        i
    }

    fn reviewer_id(&mut self, reviewer: &str) -> usize {
        if let Some(&i) = self.reviewer_ids.get(reviewer) {
            return i as usize;
        }
        let i = self.by_reviewer.len();
        self.reviewer_ids.insert(reviewer.to_string(), i as u32);
        self.by_reviewer.push(Vec::new());
        i
    }

    /// Applies the next line: a decision joins the clip's and the
    /// reviewer's stacks; an `undo` removes that reviewer's latest standing
    /// decision on the clip from both (the rules of [`standing`]).
    pub fn apply(&mut self, d: &Decision) {
        let c = self.clip_id(&d.clip);
        let r = self.reviewer_id(&d.reviewer);
        if d.decision == Verdict::Undo {
            let stack = &mut self.by_clip[c];
            if let Some(pos) = stack.iter().rposition(|&(who, _)| who as usize == r) {
                stack.remove(pos);
                let mine = &mut self.by_reviewer[r];
                if let Some(pos) = mine.iter().rposition(|&x| x as usize == c) {
                    mine.remove(pos);
                }
            }
        } else {
            self.by_clip[c].push((r as u32, d.decision));
            self.by_reviewer[r].push(c as u32);
        }
    }

    /// The standing decision on `clip`, as [`standing`] gives it.
    pub fn standing(&self, clip: &str) -> Option<Verdict> {
        let &c = self.clip_ids.get(clip)?;
        self.by_clip[c as usize].last().map(|&(_, v)| v)
    }

    /// Every clip's standing decision, as [`standing`] gives them.
    pub fn standing_all(&self) -> HashMap<String, Verdict> {
        self.clip_names
            .iter()
            .zip(&self.by_clip)
            .filter_map(|(clip, stack)| stack.last().map(|&(_, v)| (clip.clone(), v)))
            .collect()
    }

    /// The clip the next `undo` by `reviewer` cancels, as [`undo_target`]
    /// gives it.
    pub fn undo_target(&self, reviewer: &str) -> Option<&str> {
        let &r = self.reviewer_ids.get(reviewer)?;
        let &c = self.by_reviewer[r as usize].last()?;
        Some(&self.clip_names[c as usize])
    }
}

/// Clips whose standing decision is `accept`, sorted.
pub fn accepted(
    decisions: &[Decision],
    is_label_set: impl Fn(&str) -> bool,
) -> std::collections::BTreeSet<String> {
    standing_where(decisions, is_label_set)
        .into_iter()
        .filter(|(_, v)| *v == Verdict::Accept)
        .map(|(c, _)| c)
        .collect()
}

/// Whether a journal's `labels` value names the mask folder `mask_dir`: the
/// folder's own name (what `sonomask check` writes), or a path to the same
/// folder (a relative one is tried against the journal's folder, then the
/// working directory).
pub fn names_mask_dir(labels: &str, mask_dir: &Path, journal: &Path) -> bool {
    let Ok(want) = std::fs::canonicalize(mask_dir) else {
        return Path::new(labels) == mask_dir;
    };
    let given = Path::new(labels);
    if given.components().count() == 1
        && !given.is_absolute()
        && want.file_name() == Some(given.as_os_str())
    {
        return true;
    }
    let mut candidates = Vec::new();
    if given.is_relative()
        && let Some(dir) = journal.parent()
    {
        candidates.push(dir.join(given));
    }
    candidates.push(given.to_path_buf());
    candidates
        .iter()
        .any(|c| std::fs::canonicalize(c).is_ok_and(|c| c == want))
}

/// What follows a journal's last newline, judged the way [`read_from`]
/// judges a last line.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    /// Nothing (or an empty file).
    Clean,
    /// A whole decision without its newline: [`read_from`] keeps it.
    Unterminated,
    /// Anything else: [`read_from`] ignores it; the first `keep` bytes are
    /// the complete lines.
    Torn { keep: usize },
}

impl Tail {
    fn of(bytes: &[u8]) -> Self {
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Tail::Clean;
        }
        let keep = bytes.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let whole = std::str::from_utf8(&bytes[keep..])
            .map(str::trim)
            .is_ok_and(|t| !t.is_empty() && serde_json::from_str::<Decision>(t).is_ok());
        if whole {
            Tail::Unterminated
        } else {
            Tail::Torn { keep }
        }
    }
}

/// An open journal that appends one fsynced line per decision.
pub struct Writer {
    path: PathBuf,
    file: File,
}

impl Writer {
    /// Opens (creating if needed) for appending. If a crash left a torn last
    /// line (bytes after the last newline), they are cut off first: that
    /// record was never completely written, so no decision shown as saved is
    /// lost, and the next record starts on a clean line. A last line that
    /// is a whole decision and lacks only its newline (the crash came
    /// between the two, or a person edited the file) is kept and given its
    /// newline instead: [`read`] counts it, so cutting it would drop a
    /// decision the caller has just read (and whose request id it trusts).
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tail = std::fs::read(path).map_or(Tail::Clean, |b| Tail::of(&b));
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        match tail {
            Tail::Clean => {}
            Tail::Unterminated => {
                file.write_all(b"\n").map_err(io)?;
                file.sync_data().map_err(io)?;
            }
            Tail::Torn { keep } => {
                file.set_len(keep as u64).map_err(io)?;
                file.sync_data().map_err(io)?;
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one decision and fsyncs it before returning.
    pub fn append(&mut self, d: &Decision) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(d).map_err(|e| JournalError::BadLine {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(clip: &str, v: Verdict, reviewer: &str) -> Decision {
        Decision {
            clip: clip.into(),
            labels: "threshold".into(),
            decision: v,
            reviewer: reviewer.into(),
            seconds: 1.0,
            time: now_rfc3339(),
            dice: None,
            request: None,
        }
    }

    #[test]
    fn latest_standing_decision_wins_and_undo_cancels() {
        use Verdict::*;
        let log = vec![
            d("a", Accept, "r1"),
            d("b", Reject, "r1"),
            d("b", Undo, "r1"),
            d("c", Reject, "r1"),
            d("c", Accept, "r1"),
            d("e", Accept, "r1"),
            d("e", Flag, "r2"),
            d("e", Undo, "r1"),
            d("f", Undo, "r1"),
        ];
        let s = standing(&log, "threshold");
        assert_eq!(s.get("a"), Some(&Accept));
        assert_eq!(s.get("b"), None, "undone");
        assert_eq!(s.get("c"), Some(&Accept));
        assert_eq!(
            s.get("e"),
            Some(&Flag),
            "r1's accept undone, r2's flag stands"
        );
        assert_eq!(s.get("f"), None);
        assert!(standing(&log, "other").is_empty());
    }

    #[test]
    fn undo_target_walks_back_through_this_reviewers_decisions() {
        use Verdict::*;
        let mut log = vec![
            d("a", Accept, "r1"),
            d("b", Reject, "r1"),
            d("c", Flag, "r2"),
        ];
        assert_eq!(undo_target(&log, "threshold", "r1").as_deref(), Some("b"));
        assert_eq!(undo_target(&log, "threshold", "r2").as_deref(), Some("c"));
        assert_eq!(undo_target(&log, "other", "r1"), None);
        log.push(d("b", Undo, "r1"));
        assert_eq!(undo_target(&log, "threshold", "r1").as_deref(), Some("a"));
        log.push(d("a", Undo, "r1"));
        assert_eq!(undo_target(&log, "threshold", "r1"), None);
        // What it names is exactly what `standing` lets an undo cancel.
        log.push(d("a", Reject, "r1"));
        log.push(d("a", Accept, "r1"));
        log.push(d("a", Undo, "r1"));
        assert_eq!(standing(&log, "threshold").get("a"), Some(&Reject));
        assert_eq!(undo_target(&log, "threshold", "r1").as_deref(), Some("a"));
    }

    #[test]
    fn replay_line_by_line_agrees_with_replaying_the_whole_journal() {
        // A seeded mix of reviewers, clips, re-decisions and undos (also
        // undos of clips a reviewer never decided).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let verdicts = [
            Verdict::Accept,
            Verdict::Reject,
            Verdict::Flag,
            Verdict::Undo,
            Verdict::Undo,
        ];
        let mut log = Vec::new();
        let mut replay = Replay::default();
        for _ in 0..3000 {
            let line = d(
                &format!("c{}", next(12)),
                verdicts[next(5) as usize],
                ["r1", "r2", "r3"][next(3) as usize],
            );
            replay.apply(&line);
            log.push(line);
            let whole = standing(&log, "threshold");
            assert_eq!(replay.standing_all(), whole);
            for c in 0..12 {
                let clip = format!("c{c}");
                assert_eq!(replay.standing(&clip), whole.get(&clip).copied());
            }
            for r in ["r1", "r2", "r3", "nobody"] {
                assert_eq!(
                    replay.undo_target(r),
                    undo_target(&log, "threshold", r).as_deref(),
                    "{r} after {} lines",
                    log.len()
                );
            }
        }
        assert_eq!(Replay::new(&log).standing_all(), replay.standing_all());
    }

    #[test]
    fn append_then_read_and_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut w = Writer::open(&path).unwrap();
        w.append(&d("a", Verdict::Accept, "r")).unwrap();
        w.append(&d("b", Verdict::Reject, "r")).unwrap();
        drop(w);
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"clip\":\"c\",\"lab").unwrap();
        drop(f);
        assert_eq!(read(&path).unwrap().len(), 2);
        let mut w = Writer::open(&path).unwrap();
        w.append(&d("c", Verdict::Accept, "r")).unwrap();
        let all = read(&path).unwrap();
        assert_eq!(
            all.iter().map(|d| d.clip.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    /// Found by the fuzz target `journal_jsonl`: a whole last decision
    /// without its newline was read (the review session counted it and
    /// trusted its request id) and then cut off by `Writer::open`, so the
    /// file lost a decision the session showed as standing.
    #[test]
    fn a_whole_last_line_without_its_newline_is_kept_by_reader_and_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let line = |d: &Decision| serde_json::to_string(d).unwrap();
        let a = d("a", Verdict::Accept, "r");
        let b = d("b", Verdict::Reject, "r");
        std::fs::write(&path, format!("{}\n{}", line(&a), line(&b))).unwrap();
        assert_eq!(read(&path).unwrap(), [a.clone(), b.clone()]);
        let mut w = Writer::open(&path).unwrap();
        let c = d("c", Verdict::Flag, "r");
        w.append(&c).unwrap();
        assert_eq!(read(&path).unwrap(), [a, b, c]);
        assert!(std::fs::read(&path).unwrap().ends_with(b"\n"));
        assert_eq!(Tail::of(b"x\n"), Tail::Clean);
        assert_eq!(Tail::of(b"x\n{\"clip\""), Tail::Torn { keep: 2 });
        assert_eq!(Tail::of(b"  "), Tail::Torn { keep: 0 });
    }

    #[test]
    fn unknown_clips_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "{\"nope\":1}\n").unwrap();
        assert!(matches!(
            read(&path),
            Err(JournalError::BadLine { line: 1, .. })
        ));
        let log = vec![d("a", Verdict::Accept, "r"), d("zz", Verdict::Accept, "r")];
        let err = check_clips(&path, &log, |c| c == "a").unwrap_err();
        assert!(
            matches!(err, JournalError::UnknownClip { line: 2, .. }),
            "{err}"
        );
        assert!(read(&dir.path().join("missing.jsonl")).unwrap().is_empty());
    }
}

//! `OUTDIR/review-queue.json`: the clips that failed closed (written fully
//! black), with the reason, ready for a person to look at with
//! `sonomask review`.
//!
//! The queue does not copy the unmasked frames into OUTDIR (OUTDIR is what
//! gets shared); it names the inputs, the clip id `sonomask ingest` will
//! give each when it is run on exactly these inputs in this order, and the
//! proposal that was rejected (`review/<clip-id>.png`, 255 = the fit's keep
//! mask, all black when nothing could be fitted). `commands` are the two
//! lines that open them in the review page.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use sonomask_data::ingest;

/// The queue file's format name.
pub const FORMAT: &str = "sonomask-review-queue";
/// The queue file's format version.
pub const VERSION: u32 = 1;

/// One clip to look at.
#[derive(Clone, Debug, Serialize)]
pub struct QueueItem {
    /// The input file.
    pub input: PathBuf,
    /// What OUTDIR holds for it (fully black).
    pub output: PathBuf,
    /// The clip id in the dataset the review command builds.
    pub clip: String,
    /// The rejected proposal (`OUTDIR/review/<clip>.png`).
    pub proposal: PathBuf,
    /// Why the mask was not trusted.
    pub reason: String,
}

/// The whole queue.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewQueue {
    pub format: String,
    pub version: u32,
    pub model: PathBuf,
    pub items: Vec<QueueItem>,
    /// Shell lines that open the queue in `sonomask review` (empty when
    /// nothing is queued).
    pub commands: Vec<String>,
}

/// Clip ids as `sonomask ingest` gives them to `inputs` in this order
/// (the file stem, cleaned; `-2`, `-3`, … on a repeat).
pub fn ingest_ids(inputs: &[PathBuf]) -> Vec<String> {
    let mut used = HashSet::new();
    inputs
        .iter()
        .map(|f| {
            let base = ingest::clip_id_for(f);
            let mut id = base.clone();
            let mut k = 1;
            while !used.insert(id.clone()) {
                k += 1;
                id = format!("{base}-{k}");
            }
            id
        })
        .collect()
}

fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Builds the queue for `failed` (input, output, reason) in run order;
/// proposals live in `out_dir/review/`.
pub fn build(model: &Path, out_dir: &Path, failed: &[(PathBuf, PathBuf, String)]) -> ReviewQueue {
    let inputs: Vec<PathBuf> = failed.iter().map(|(i, _, _)| i.clone()).collect();
    let ids = ingest_ids(&inputs);
    let review = out_dir.join("review");
    let items: Vec<QueueItem> = failed
        .iter()
        .zip(&ids)
        .map(|((input, output, reason), id)| QueueItem {
            input: input.clone(),
            output: output.clone(),
            clip: id.clone(),
            proposal: review.join(format!("{id}.png")),
            reason: reason.clone(),
        })
        .collect();
    let commands = if items.is_empty() {
        Vec::new()
    } else {
        let data = out_dir.join("review-data");
        let files: Vec<String> = inputs.iter().map(|p| quote(p)).collect();
        vec![
            format!(
                "sonomask ingest {} --out {} --force",
                files.join(" "),
                quote(&data)
            ),
            format!(
                "sonomask review --data {} --labels {} --journal {}",
                quote(&data),
                quote(&review),
                quote(&review.join("journal.jsonl"))
            ),
        ]
    };
    ReviewQueue {
        format: FORMAT.into(),
        version: VERSION,
        model: model.to_path_buf(),
        items,
        commands,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_ingest_and_commands_quote_paths() {
        let failed = vec![
            (
                PathBuf::from("a/x.dcm"),
                PathBuf::from("o/x.dcm"),
                "r1".into(),
            ),
            (
                PathBuf::from("b/x.dcm"),
                PathBuf::from("o/x-2.dcm"),
                "r2".into(),
            ),
            (
                PathBuf::from("my scan.png"),
                PathBuf::from("o/my_scan.png"),
                "r3".into(),
            ),
        ];
        let q = build(Path::new("m.snmk"), Path::new("o"), &failed);
        let ids: Vec<_> = q.items.iter().map(|i| i.clip.as_str()).collect();
        assert_eq!(ids, ["x", "x-2", "my_scan"]);
        assert_eq!(q.items[1].proposal, PathBuf::from("o/review/x-2.png"));
        assert!(q.commands[0].contains("'my scan.png'"), "{}", q.commands[0]);
        assert!(q.commands[1].starts_with("sonomask review --data o/review-data"));
        assert!(
            build(Path::new("m"), Path::new("o"), &[])
                .commands
                .is_empty()
        );
    }
}

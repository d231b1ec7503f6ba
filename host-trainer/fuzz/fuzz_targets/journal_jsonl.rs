//! Review journal bytes through the reader (`journal::read_from`, which
//! `journal::read` calls on the file) and the replay every consumer runs
//! on what it read (`standing`, `accepted`, `undo_target`,
//! `check_clips`); then the same bytes as a journal file that the writer
//! opens (cutting a torn tail) and appends one decision to.
//!
//! Must hold: no panic; a journal that reads is, after the writer opened it
//! and appended a decision, the same decisions plus that one (the writer
//! drops exactly the torn tail the reader ignores).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonomask_human::journal::{self, Decision};

fuzz_target!(|data: &[u8]| {
    let name = sonomask_host_fuzz::input_name("jsonl");
    let read = journal::read_from(&name, data);
    if let Ok(decisions) = &read {
        let labels: Vec<&str> = decisions.iter().map(|d| d.labels.as_str()).collect();
        for d in decisions.iter().take(8) {
            let _ = journal::standing(decisions, &d.labels);
            let _ = journal::undo_target(decisions, &d.labels, &d.reviewer);
        }
        let _ = journal::accepted(decisions, |l| labels.first() == Some(&l));
        let _ = journal::check_clips(&name, decisions, |c| !c.is_empty());
    }

    let dir = sonomask_host_fuzz::scratch_dir();
    let path = dir.path().join("journal.jsonl");
    std::fs::write(&path, data).expect("write the scratch journal");
    let from_file = journal::read(&path);
    assert_eq!(
        from_file.as_ref().map(Vec::len).ok(),
        read.as_ref().map(Vec::len).ok(),
        "read and read_from disagree"
    );
    let Ok(before) = read else {
        return;
    };
    let Ok(mut writer) = journal::Writer::open(&path) else {
        return;
    };
    // Built from JSON so optional fields added later need no change here.
    let added: Decision = serde_json::from_str(
        r#"{"clip":"fuzz","labels":"weak","decision":"accept","reviewer":"fuzzer","seconds":1.0,"time":"2026-12-07T14:00:00.000Z"}"#,
    )
    .expect("a valid journal line");
    writer
        .append(&added)
        .expect("append to the scratch journal");
    drop(writer);
    let after =
        journal::read(&path).unwrap_or_else(|e| panic!("journal unreadable after an append: {e}"));
    let mut want = before;
    want.push(added);
    assert_eq!(after.len(), want.len(), "decisions after an append");
    for (a, b) in after.iter().zip(&want) {
        assert_eq!(
            (&a.clip, &a.labels, a.decision, &a.reviewer),
            (&b.clip, &b.labels, b.decision, &b.reviewer),
            "a decision changed across open + append"
        );
    }
});

//! The web UI servers as separate processes over real sockets: loopback by
//! default, requests no browser would send, and `kill -9` in the middle of a
//! review losing no decision the page was told was saved.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{Server, http, p, tiny_dataset, wait_for};
use sonomask_human::journal::{self, Verdict};

#[test]
fn review_server_is_loopback_and_refuses_odd_requests() {
    let dir = tempfile::tempdir().unwrap();
    let (data, masks) = tiny_dataset(dir.path(), 3);
    let jpath = dir.path().join("j.jsonl");
    let srv = Server::start(&[
        "review",
        "--data",
        p(&data),
        "--labels",
        p(&masks),
        "--journal",
        p(&jpath),
    ]);
    assert!(
        srv.addr.starts_with("127.0.0.1:"),
        "default bind is loopback: {}",
        srv.url
    );
    assert_eq!(srv.token.len(), 64, "a 256-bit token");
    let tok = Some(srv.token.as_str());
    // Paths a browser would normalise; the server must not either serve a
    // file for them or fall over.
    for path in [
        "/../manifest.json",
        "/api/review/clips/../../manifest.json",
        "/api/review/clips/t000/../../../data/manifest.json",
        "/static/../../Cargo.toml",
        "//etc/passwd",
    ] {
        let r = http(&srv.addr, "GET", path, tok, None).unwrap();
        assert!((400..500).contains(&r.status), "{path}: {}", r.status);
        assert!(
            !r.body.contains("sonomask-dataset"),
            "{path} leaked the manifest"
        );
    }
    let r = http(
        &srv.addr,
        "GET",
        "/api/review/clips/..%2F..%2Fmanifest/frame.png",
        tok,
        None,
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    // Garbage on the socket, then a normal request still works.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&srv.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"\x00\x01GARBAGE / HTTP/9\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
    }
    let r = http(&srv.addr, "GET", "/api/review/state", None, None).unwrap();
    assert_eq!(r.status, 401);
    let r = http(&srv.addr, "GET", "/api/review/state", tok, None).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["current"]["id"], "t000");
}

#[test]
fn kill_9_mid_review_loses_no_saved_decision() {
    let dir = tempfile::tempdir().unwrap();
    let (data, masks) = tiny_dataset(dir.path(), 200);
    let jpath = dir.path().join("j.jsonl");
    let args = [
        "review",
        "--data",
        p(&data),
        "--labels",
        p(&masks),
        "--journal",
        p(&jpath),
        "--reviewer",
        "k9",
    ];
    let mut srv = Server::start(&args);
    let (addr, token) = (srv.addr.clone(), srv.token.clone());
    // A client deciding as fast as it can; it records a decision as saved
    // only when the whole 200 reply arrived, as the page does.
    let acked = Arc::new(AtomicUsize::new(0));
    let client = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            let mut saved: Vec<(String, Verdict)> = Vec::new();
            let state = http(&addr, "GET", "/api/review/state", Some(&token), None).unwrap();
            let mut current = state.json()["current"]["id"].as_str().unwrap().to_string();
            for k in 0.. {
                let verdict = [Verdict::Accept, Verdict::Reject, Verdict::Flag][k % 3];
                let body = format!(
                    r#"{{"clip":"{current}","decision":"{}","seconds":0.1}}"#,
                    verdict.as_str()
                );
                match http(
                    &addr,
                    "POST",
                    "/api/review/decide",
                    Some(&token),
                    Some(&body),
                ) {
                    Ok(r) if r.status == 200 => {
                        saved.push((current.clone(), verdict));
                        acked.fetch_add(1, Ordering::SeqCst);
                        match r.json()["current"]["id"].as_str() {
                            Some(next) => current = next.to_string(),
                            None => break,
                        }
                    }
                    // The server died mid-request: this one was never
                    // shown as saved.
                    _ => break,
                }
            }
            saved
        })
    };
    wait_for("25 saved decisions", Duration::from_secs(60), || {
        (acked.load(Ordering::SeqCst) >= 25).then_some(())
    });
    srv.kill9();
    let saved = client.join().unwrap();
    assert!(saved.len() >= 25 && saved.len() < 200, "{}", saved.len());
    let log = journal::read(&jpath).unwrap();
    let logged: Vec<(String, Verdict)> = log.iter().map(|d| (d.clip.clone(), d.decision)).collect();
    assert!(
        logged.len() == saved.len() || logged.len() == saved.len() + 1,
        "journal {} lines, {} saved",
        logged.len(),
        saved.len()
    );
    assert_eq!(
        &logged[..saved.len()],
        &saved[..],
        "every saved decision is in the journal, in order"
    );
    // A restart resumes at the first clip without a decision.
    let srv = Server::start(&args);
    let r = http(
        &srv.addr,
        "GET",
        "/api/review/state",
        Some(&srv.token),
        None,
    )
    .unwrap();
    let s = r.json();
    let decided = journal::standing(&log, "weak");
    let first_open = (0..200)
        .map(|i| format!("t{i:03}"))
        .find(|c| !decided.contains_key(c))
        .unwrap();
    assert_eq!(s["current"]["id"], first_open.as_str());
    assert_eq!(s["decided"].as_u64(), Some(decided.len() as u64));
}

#[test]
fn demo_prints_a_review_command_that_starts_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(["demo", "--out", p(&out), "--clips", "6", "--frames", "3"])
        // The closing repeated runs train 5 networks: CI runs them in the
        // small demo; this test is about the review command.
        .arg("--no-experiment")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8(run.stdout).unwrap();
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("sonomask review "))
        .unwrap_or_else(|| panic!("no review command in:\n{text}"));
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let srv = Server::start(&args);
    let r = http(
        &srv.addr,
        "GET",
        "/api/review/state",
        Some(&srv.token),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["total"], 6);
    assert_eq!(r.json()["labels"], "masks-temporal");
    assert!(
        text.lines()
            .any(|l| l.trim().starts_with("sonomask annotate ")),
        "{text}"
    );
}

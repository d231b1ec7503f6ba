//! Review server soak (issue 19): the real `sonomask review` binary on
//! loopback under a bounded load — several concurrent clients deciding and
//! undoing 10,000 times — while it is `kill -9`ed 20 times at seeded moments
//! and restarted on the same journal. What must hold throughout:
//!
//! - every acknowledged (200) decision and undo is in the journal, exactly
//!   once: clients retry a request whose reply never came with the same
//!   request id, and the server writes a request id at most once, so the
//!   journal's lines are exactly the acknowledged requests;
//! - the journal parses with the project's reader after every crash;
//! - requests without the token (401) or from another origin (403) are
//!   refused and never written;
//! - the server's memory stays flat (its resident size, sampled under load).
//!
//! It prints the decisions per second it held, the restart times and the
//! memory samples (`cargo test -p sonomask --test cli soak:: -- --nocapture`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::support::{Server, http_with, p, tiny_dataset};
use sonomask_human::journal::{self, Verdict};

/// Concurrent clients.
const CLIENTS: usize = 4;
/// Acknowledged journal writes (decisions and undos) over all clients.
const WRITES: usize = 10_000;
const _: () = assert!(
    WRITES.is_multiple_of(CLIENTS),
    "each client takes an equal share"
);
/// `kill -9`s under load.
const KILLS: usize = 20;
/// Clips in the dataset; clients re-decide them at random.
const CLIPS: usize = 200;
/// Every this many requests a client also sends one without the token and
/// one from a foreign origin.
const PROBE_EVERY: usize = 20;
/// The whole run's limit: far above the few tens of seconds it takes, only
/// so a wedged server fails the test instead of hanging it.
const LIMIT: Duration = Duration::from_secs(600);

/// splitmix64: a seeded generator for the clients' choices and the kill
/// moments (no extra dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Where the server listens now (a restart picks a new port and token).
#[derive(Clone)]
struct Live {
    addr: String,
    token: String,
    /// How many kills came before this server.
    generation: usize,
}

/// One request a client got a 200 for.
#[derive(Debug, Clone, PartialEq)]
struct Acked {
    clip: Option<String>,
    decision: Verdict,
    /// The server generation that answered.
    generation: usize,
}

/// What one client saw.
#[derive(Default)]
struct ClientLog {
    acked: HashMap<String, Acked>,
    /// Requests sent again after the connection failed (server killed).
    retries: usize,
    /// Undos answered 409 (nothing to undo): no line written.
    nothing_to_undo: usize,
    /// Requests without the token / from a foreign origin, all refused.
    unauthenticated: usize,
    cross_origin: usize,
}

/// The server's resident set size in KiB (`VmRSS` in /proc).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Sends `body` to `path` until some server answers it; a connection that
/// fails (the server was killed before or during the request) is retried
/// against whichever server is live by then. `headers` go on every try.
/// Gives the reply and the generation of the server that sent it.
fn until_answered(
    live: &RwLock<Live>,
    path: &str,
    token: bool,
    headers: &[(&str, &str)],
    body: &str,
    retries: &mut usize,
) -> (crate::support::Reply, usize) {
    let t0 = Instant::now();
    loop {
        let now = live.read().unwrap().clone();
        let tok = token.then_some(now.token.as_str());
        match http_with(&now.addr, "POST", path, tok, headers, Some(body)) {
            // A 403 with the token is a stale token only when a restart
            // replaced it meanwhile (the new server is on a new port, so
            // this needs the old port reused); anything else is an answer.
            Ok(r) if r.status == 403 && token && live.read().unwrap().token != now.token => {}
            Ok(r) => return (r, now.generation),
            Err(_) => {}
        }
        *retries += 1;
        assert!(t0.elapsed() < LIMIT, "no server answered {path} {body}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn client(
    c: usize,
    seed: u64,
    quota: usize,
    live: &RwLock<Live>,
    acked: &AtomicUsize,
) -> ClientLog {
    let mut rng = Rng(seed ^ (c as u64).wrapping_mul(0x1234_5678_9abc_def1));
    let mut log = ClientLog::default();
    let mut k = 0;
    while log.acked.len() < quota {
        k += 1;
        let request = format!("c{c}-{k}");
        let (path, body, want) = if rng.below(8) == 0 {
            (
                "/api/review/undo",
                format!(r#"{{"seconds":0.1,"request":"{request}"}}"#),
                Acked {
                    clip: None,
                    decision: Verdict::Undo,
                    generation: 0,
                },
            )
        } else {
            let clip = format!("t{:03}", rng.below(CLIPS as u64));
            let v = [Verdict::Accept, Verdict::Reject, Verdict::Flag][rng.below(3) as usize];
            (
                "/api/review/decide",
                format!(
                    r#"{{"clip":"{clip}","decision":"{}","seconds":0.1,"request":"{request}"}}"#,
                    v.as_str()
                ),
                Acked {
                    clip: Some(clip),
                    decision: v,
                    generation: 0,
                },
            )
        };
        let (r, generation) = until_answered(live, path, true, &[], &body, &mut log.retries);
        match r.status {
            200 => {
                log.acked.insert(request, Acked { generation, ..want });
                acked.fetch_add(1, Ordering::SeqCst);
            }
            409 if want.decision == Verdict::Undo => log.nothing_to_undo += 1,
            s => panic!("client {c}: {path} {body}: {s} {}", r.body),
        }
        if k % PROBE_EVERY == 0 {
            // The same kind of write without the token, then with the
            // token from a page on another origin: both refused, and the
            // final check finds neither request id in the journal.
            let body = |id: &str| {
                format!(r#"{{"clip":"t000","decision":"accept","seconds":0.1,"request":"{id}"}}"#)
            };
            let (r, _) = until_answered(
                live,
                "/api/review/decide",
                false,
                &[],
                &body(&format!("noauth-{c}-{k}")),
                &mut log.retries,
            );
            assert_eq!(r.status, 401, "no token: {}", r.body);
            log.unauthenticated += 1;
            let (r, _) = until_answered(
                live,
                "/api/review/decide",
                true,
                &[("Origin", "http://evil.example")],
                &body(&format!("evil-{c}-{k}")),
                &mut log.retries,
            );
            assert_eq!(r.status, 403, "cross-origin: {}", r.body);
            log.cross_origin += 1;
        }
    }
    log
}

#[test]
fn review_server_soak_with_kill_9_loses_and_duplicates_nothing() {
    let seed = 19;
    let dir = tempfile::tempdir().unwrap();
    let (data, masks) = tiny_dataset(dir.path(), CLIPS);
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
        "soak",
    ];
    let mut srv = Server::start(&args);
    let live = Arc::new(RwLock::new(Live {
        addr: srv.addr.clone(),
        token: srv.token.clone(),
        generation: 0,
    }));
    let acked = Arc::new(AtomicUsize::new(0));
    // The kill moments: after a seeded number of acknowledged writes, plus
    // a seeded delay of up to 10 ms so the kill lands mid-request. All in
    // the first 80%, so the last server takes 2,000 writes unkilled.
    let mut rng = Rng(seed);
    let mut kill_at: Vec<usize> = (0..KILLS)
        .map(|_| 100 + rng.below((WRITES * 8 / 10 - 100) as u64) as usize)
        .collect();
    kill_at.sort_unstable();

    let t0 = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (live, acked) = (live.clone(), acked.clone());
            let quota = WRITES / CLIENTS;
            std::thread::spawn(move || client(c, seed, quota, &live, &acked))
        })
        .collect();

    // The killer: kill -9 and restart at each moment; between kills, sample
    // the live server's memory every 50 ms, starting right after a restart. After each kill the journal
    // must parse; its length then is where the next generation's lines
    // begin.
    let mut restarts = Vec::new();
    let mut boundaries = vec![0];
    let mut torn = 0;
    // (server generation, acknowledged writes so far, VmRSS KiB, seconds)
    let mut rss: Vec<(usize, usize, u64, f64)> = Vec::new();
    let mut next_sample = Instant::now();
    let mut kills = 0;
    while !clients.iter().all(|h| h.is_finished()) {
        assert!(
            t0.elapsed() < LIMIT,
            "soak wedged at {} of {WRITES} writes",
            acked.load(Ordering::SeqCst)
        );
        if Instant::now() >= next_sample {
            if let Some(kib) = rss_kib(srv.child.id()) {
                let at = t0.elapsed().as_secs_f64();
                rss.push((kills, acked.load(Ordering::SeqCst), kib, at));
            }
            next_sample = Instant::now() + Duration::from_millis(50);
        }
        if kills < KILLS && acked.load(Ordering::SeqCst) >= kill_at[kills] {
            std::thread::sleep(Duration::from_micros(rng.below(10_000)));
            srv.kill9();
            kills += 1;
            let lines = journal::read(&jpath)
                .unwrap_or_else(|e| panic!("after kill {kills} the journal does not parse: {e}"));
            boundaries.push(lines.len());
            torn += usize::from(!std::fs::read(&jpath).unwrap().ends_with(b"\n"));
            let t = Instant::now();
            srv = Server::start(&args);
            restarts.push(t.elapsed());
            *live.write().unwrap() = Live {
                addr: srv.addr.clone(),
                token: srv.token.clone(),
                generation: kills,
            };
            next_sample = Instant::now();
            continue;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = t0.elapsed();
    if let Some(kib) = rss_kib(srv.child.id()) {
        rss.push((kills, WRITES, kib, wall.as_secs_f64()));
    }
    let logs: Vec<ClientLog> = clients.into_iter().map(|h| h.join().unwrap()).collect();
    // The final state as the last server sees it, then a last kill -9.
    let state = crate::support::http(
        &srv.addr,
        "GET",
        "/api/review/state",
        Some(&srv.token),
        None,
    )
    .unwrap()
    .json();
    srv.kill9();

    // Every acknowledged request is in the journal exactly once, with what
    // was asked; every line is an acknowledged request.
    let lines = journal::read(&jpath).expect("the journal parses after 21 kill -9s");
    let mut seen = HashSet::new();
    for d in &lines {
        let id = d
            .request
            .as_deref()
            .expect("every line carries its request id");
        assert!(seen.insert(id), "request {id} written twice");
    }
    let all: HashMap<&String, &Acked> = logs.iter().flat_map(|l| l.acked.iter()).collect();
    assert_eq!(all.len(), WRITES);
    // Requests a server acknowledged that an earlier, killed server had
    // written (its reply lost): the retries the request id kept single.
    let mut replayed = 0;
    for (i, d) in lines.iter().enumerate() {
        let id = d.request.as_deref().unwrap();
        let want = all
            .get(&id.to_string())
            .unwrap_or_else(|| panic!("journal line {id} was never acknowledged: {d:?}"));
        assert_eq!(want.decision, d.decision, "{id}");
        if let Some(clip) = &want.clip {
            assert_eq!(clip, &d.clip, "{id}");
        }
        replayed += usize::from(i < boundaries[want.generation]);
    }
    assert_eq!(lines.len(), WRITES, "no acknowledged write lost");
    // What the server counts is what the journal replays to.
    let standing = journal::standing(&lines, "weak");
    assert_eq!(state["decided"].as_u64(), Some(standing.len() as u64));
    let count = |v| standing.values().filter(|&&s| s == v).count() as u64;
    assert_eq!(state["accepted"].as_u64(), Some(count(Verdict::Accept)));
    assert_eq!(state["flagged"].as_u64(), Some(count(Verdict::Flag)));

    // Refused requests were refused throughout and never written.
    let unauth: usize = logs.iter().map(|l| l.unauthenticated).sum();
    let xorigin: usize = logs.iter().map(|l| l.cross_origin).sum();
    assert!(unauth >= WRITES / PROBE_EVERY && xorigin >= WRITES / PROBE_EVERY);
    assert_eq!(kills, KILLS);

    // Memory: the last server, which takes the last 20% unkilled, grows by
    // less than 8 MiB over its 2,000+ writes: it keeps a replay of the
    // journal (a few bytes per line) and the request ids (~100 bytes), not
    // the lines, so a leak of 4 KiB per request would show. No sample
    // anywhere exceeds the first (an idle server) by 32 MiB.
    let last: Vec<u64> = rss.iter().filter(|s| s.0 == KILLS).map(|s| s.2).collect();
    assert!(
        last.len() >= 2,
        "too few memory samples of the last server: {rss:?}"
    );
    let first = rss[0].2;
    let max = rss.iter().map(|s| s.2).max().unwrap();
    let undos = lines.iter().filter(|d| d.decision == Verdict::Undo).count();
    let retries: usize = logs.iter().map(|l| l.retries).sum();
    let nothing: usize = logs.iter().map(|l| l.nothing_to_undo).sum();
    let restart_ms: Vec<u128> = restarts.iter().map(|d| d.as_millis()).collect();
    eprintln!(
        "soak: {WRITES} acknowledged writes ({undos} undos, {nothing} undos with nothing to undo) \
         by {CLIENTS} clients in {:.1} s = {:.0} decisions/s held, {kills} kill -9s, \
         {retries} retried requests, {replayed} of them written before the kill and not again, \
         {torn} torn journal tails; restarts {restart_ms:?} ms (total {} ms); \
         {unauth} unauthenticated and {xorigin} cross-origin requests refused; \
         VmRSS first {first} KiB, max {max} KiB, last server {} -> {} KiB over {} samples",
        wall.as_secs_f64(),
        WRITES as f64 / wall.as_secs_f64(),
        restart_ms.iter().sum::<u128>(),
        last[0],
        last[last.len() - 1],
        last.len()
    );
    // Throughput as the journal grows, without the restarts: each server's
    // writes per second between its first and last memory sample.
    let rates: Vec<String> = (0..=KILLS)
        .filter_map(|g| {
            let mine: Vec<_> = rss.iter().filter(|s| s.0 == g).collect();
            let (a, b) = (mine.first()?, mine.last()?);
            (b.3 > a.3).then(|| {
                format!(
                    "{}..{}: {:.0}/s",
                    a.1,
                    b.1,
                    (b.1 - a.1) as f64 / (b.3 - a.3)
                )
            })
        })
        .collect();
    eprintln!("soak: throughput by journal size {rates:?}");
    assert!(
        last[last.len() - 1] < last[0] + 8 * 1024,
        "the last server grew from {} to {} KiB",
        last[0],
        last[last.len() - 1]
    );
    assert!(max < first + 32 * 1024, "VmRSS {first} -> max {max} KiB");
}

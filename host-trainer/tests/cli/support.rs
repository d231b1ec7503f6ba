//! Helpers shared by the web UI tests: the `sonomask` server as a child
//! process, a tiny HTTP/1.1 client over a plain socket (it sends requests a
//! browser would never send, such as un-normalised `..` paths), and small
//! datasets.

#![allow(dead_code)] // each test binary uses a subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use image::GrayImage;
use sonomask_data::dataset::{self, ClipData, FramesRef, Manifest};

/// A running `sonomask review`/`annotate`; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    /// The URL it printed, token included.
    pub url: String,
    /// `host:port`.
    pub addr: String,
    pub token: String,
}

impl Server {
    /// Starts `sonomask ARGS` and waits for the URL on its stdout.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonomask"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sonomask");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the URL");
        if line.trim().is_empty() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            let _ = child.kill();
            panic!("sonomask {args:?} printed no URL; stderr: {err}");
        }
        let url = line.trim().to_string();
        let rest = url.strip_prefix("http://").expect("an http URL");
        let (addr, query) = rest.split_once('/').unwrap();
        let token = query
            .strip_prefix("?token=")
            .expect("the URL carries the token")
            .to_string();
        Self {
            child,
            url: url.clone(),
            addr: addr.to_string(),
            token,
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One response: status and body.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one raw request (`Connection: close`) and reads the whole reply.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Reply> {
    http_with(addr, method, path, token, &[], body)
}

/// [`http`] with extra header lines (`("Origin", "http://evil.example")`).
pub fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("X-Sonomask-Token: {t}\r\n"));
    }
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    match body {
        Some(b) => req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => req.push_str("\r\n"),
    }
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP reply: {text:?}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head:?}")))?;
    Ok(Reply {
        status,
        body: body.to_string(),
    })
}

/// Polls `f` every 5 ms until it gives `Some`, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A dataset of `n` tiny grey clips (ids `t000`…) and a mask folder
/// `weak/` with a mask for each: cheap, for tests that never look at the
/// pictures.
pub fn tiny_dataset(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    let masks = dir.join("weak");
    std::fs::create_dir_all(&masks).unwrap();
    let frame = GrayImage::from_fn(32, 24, |x, y| image::Luma([((x * 5 + y * 3) % 200) as u8]));
    let mask = GrayImage::from_fn(32, 24, |x, _| image::Luma([if x > 4 { 255 } else { 0 }]));
    let mut entries = Vec::new();
    for i in 0..n {
        let id = format!("t{i:03}");
        entries.push(
            dataset::write_clip(
                &data,
                &ClipData {
                    id: &id,
                    frames: FramesRef::Gray(std::slice::from_ref(&frame)),
                    sector: None,
                    overlay: None,
                    meta: serde_json::json!({}),
                },
            )
            .unwrap(),
        );
        dataset::write_png(&masks.join(format!("{id}.png")), &mask).unwrap();
    }
    dataset::write_manifest(
        &data,
        &Manifest {
            format: dataset::FORMAT.into(),
            version: dataset::VERSION,
            created_by: "test".into(),
            config: serde_json::Value::Null,
            clips: entries,
        },
    )
    .unwrap();
    (data, masks)
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

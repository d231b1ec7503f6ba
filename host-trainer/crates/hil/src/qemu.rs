//! The QEMU board: `qemu-system-arm -machine mps2-an500 -cpu cortex-m7`
//! running the board image (`sonomask-mps2`), the model slot loaded at
//! the flash address, the wire protocol on UART0 (a TCP socket QEMU
//! connects to) or on two FIFOs through semihosting, `-icount shift=0`,
//! and the instruction-counting plugin (`firmware/qemu-plugin/`, built
//! with the C compiler for each run).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use sonomask_firmware::board::MODEL_SLOT_ADDR;

use super::link::Link;

/// The plugin's source, compiled for each run (Debian's QEMU ships none).
const PLUGIN_SOURCE: &str = include_str!("../../../../firmware/qemu-plugin/insn_count.c");

/// How the host talks to the board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QemuLink {
    /// UART0, the CMSDK UART (what a cart has). QEMU 7.2 delivers one
    /// received byte per main-loop iteration: about 15 kB/s here.
    Uart,
    /// Two FIFOs through semihosting file calls: the same protocol,
    /// chunks at a time.
    Semihosting,
}

/// How to run QEMU.
#[derive(Clone, Debug)]
pub struct QemuOptions {
    /// `qemu-system-arm`.
    pub qemu: PathBuf,
    /// The board image (ELF).
    pub firmware: PathBuf,
    pub link: QemuLink,
    /// Count instructions with the plugin (needs a C compiler).
    pub count_instructions: bool,
    /// `-icount shift=0`: deterministic virtual time.
    pub icount: bool,
}

/// Why QEMU could not be run.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "board image {0} not found; build it with `cargo mps2` (or `cargo build -p sonomask-firmware --target thumbv7em-none-eabihf --release`) or pass --firmware"
    )]
    NoFirmware(PathBuf),
    #[error(
        "building the instruction-counting plugin failed ({0}); install gcc or pass --no-count"
    )]
    Plugin(String),
    #[error("QEMU did not connect to the host within {0:?}{1}")]
    NoConnection(Duration, String),
    #[error("QEMU exited with {status}{log}")]
    Exit { status: ExitStatus, log: String },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> QemuError {
    let what = what.into();
    move |source| QemuError::Io { what, source }
}

/// Where the board image usually is: `$SONOMASK_FIRMWARE`, else the
/// thumbv7em release build in `$CARGO_TARGET_DIR`, `./target`, or beside
/// the running executable's target folder.
pub fn default_firmware() -> PathBuf {
    if let Some(p) = std::env::var_os("SONOMASK_FIRMWARE") {
        return PathBuf::from(p);
    }
    let rel = Path::new("thumbv7em-none-eabihf/release/sonomask-mps2");
    let mut candidates = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join(rel));
    }
    candidates.push(Path::new("target").join(rel));
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/sonomask or target/<profile>/deps/<test>
        for up in exe.ancestors().skip(2).take(2) {
            candidates.push(up.join(rel));
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// Instructions of one frame, per stage (from the plugin's marks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StageCounts {
    /// Luma thumbnail.
    pub preprocess: u64,
    /// Input quantisation, network, probability map.
    pub inference: u64,
    /// Fit, plausibility, consistency, blend.
    pub fit: u64,
    /// Spans and fill (or black-out).
    pub masking: u64,
    /// First mark to last.
    pub total: u64,
}

/// Groups the plugin's `mark <stage> <count>` lines into frames: a frame
/// starts at stage 1 and ends at stage 5; each stage lasts until the next
/// mark. Entry `k` is pipeline run `k + 1`.
pub fn stage_counts(marks: &[(u8, u64)]) -> Vec<StageCounts> {
    let mut frames = Vec::new();
    let mut cur: Vec<(u8, u64)> = Vec::new();
    for &(stage, count) in marks {
        if stage == 1 {
            cur.clear();
        }
        cur.push((stage, count));
        if stage == 5 {
            let mut s = StageCounts::default();
            for w in cur.windows(2) {
                let d = w[1].1.saturating_sub(w[0].1);
                match w[0].0 {
                    1 => s.preprocess += d,
                    2 => s.inference += d,
                    3 => s.fit += d,
                    4 => s.masking += d,
                    _ => {}
                }
            }
            s.total = count.saturating_sub(cur[0].1);
            frames.push(s);
            cur.clear();
        }
    }
    frames
}

/// Parses the plugin's output: marks in order and the total.
pub fn parse_marks(text: &str) -> (Vec<(u8, u64)>, Option<u64>) {
    let mut marks = Vec::new();
    let mut total = None;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match (w.next(), w.next(), w.next()) {
            (Some("mark"), Some(s), Some(c)) => {
                if let (Ok(s), Ok(c)) = (s.parse(), c.parse()) {
                    marks.push((s, c));
                }
            }
            (Some("total"), Some(c), None) => total = c.parse().ok(),
            _ => {}
        }
    }
    (marks, total)
}

/// What a finished QEMU run left.
#[derive(Clone, Debug)]
pub struct QemuRun {
    pub status: ExitStatus,
    /// Per pipeline run (index = run − 1), if counted.
    pub frames: Vec<StageCounts>,
    /// Instructions of the whole run (boot, I/O and idle polling included).
    pub total: Option<u64>,
}

/// A running board.
pub struct QemuSession {
    child: Child,
    dir: tempfile::TempDir,
    marks: Option<PathBuf>,
}

fn build_plugin(dir: &Path) -> Result<PathBuf, QemuError> {
    let src = dir.join("insn_count.c");
    let so = dir.join("insn_count.so");
    fs::write(&src, PLUGIN_SOURCE).map_err(io_err("writing the plugin source"))?;
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let out = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(&src)
        .output()
        .map_err(|e| QemuError::Plugin(format!("{}: {e}", cc.to_string_lossy())))?;
    if !out.status.success() {
        return Err(QemuError::Plugin(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(so)
}

impl QemuSession {
    /// Starts the board with `slot` (header and blob) at the model slot
    /// and returns it with the host's end of the link.
    pub fn start(opts: &QemuOptions, slot: &[u8]) -> Result<(Self, Link), QemuError> {
        if !opts.firmware.is_file() {
            return Err(QemuError::NoFirmware(opts.firmware.clone()));
        }
        let dir = tempfile::tempdir().map_err(io_err("creating a temporary folder"))?;
        let slot_path = dir.path().join("model.slot");
        fs::write(&slot_path, slot).map_err(io_err("writing the model slot"))?;
        let mut cmd = Command::new(&opts.qemu);
        cmd.args(["-machine", "mps2-an500", "-cpu", "cortex-m7"])
            .args(["-display", "none", "-monitor", "none"]);
        if opts.icount {
            cmd.args(["-icount", "shift=0"]);
        }
        let marks = if opts.count_instructions {
            let so = build_plugin(dir.path())?;
            let marks = dir.path().join("marks.txt");
            cmd.arg("-plugin")
                .arg(format!("{},out={}", so.display(), marks.display()));
            Some(marks)
        } else {
            None
        };
        cmd.arg("-device").arg(format!(
            "loader,file={},addr={MODEL_SLOT_ADDR:#x}",
            slot_path.display()
        ));
        let log = dir.path().join("qemu.log");
        let log_file = File::create(&log).map_err(io_err("creating the QEMU log"))?;
        let log_err = log_file
            .try_clone()
            .map_err(io_err("creating the QEMU log"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err));

        match opts.link {
            QemuLink::Uart => {
                let listener =
                    TcpListener::bind("127.0.0.1:0").map_err(io_err("listening for QEMU"))?;
                let port = listener
                    .local_addr()
                    .map_err(io_err("listening for QEMU"))?
                    .port();
                cmd.args(["-semihosting-config", "enable=on,target=native"])
                    .arg("-serial")
                    .arg(format!("tcp:127.0.0.1:{port}"))
                    .arg("-kernel")
                    .arg(&opts.firmware);
                let child = cmd
                    .spawn()
                    .map_err(io_err(format!("starting {}", opts.qemu.display())))?;
                let mut session = QemuSession { child, dir, marks };
                let stream = session.accept(&listener, Duration::from_secs(20))?;
                let _ = stream.set_nodelay(true);
                let reader = stream
                    .try_clone()
                    .map_err(io_err("cloning the UART socket"))?;
                Ok((session, Link::new(reader, stream)))
            }
            QemuLink::Semihosting => {
                let h2d = dir.path().join("h2d");
                let d2h = dir.path().join("d2h");
                for p in [&h2d, &d2h] {
                    let ok = Command::new("mkfifo")
                        .arg(p)
                        .status()
                        .map_err(io_err("running mkfifo"))?;
                    if !ok.success() {
                        return Err(QemuError::Io {
                            what: format!("mkfifo {}", p.display()),
                            source: io::Error::other("mkfifo failed"),
                        });
                    }
                }
                cmd.arg("-semihosting-config")
                    .arg(format!(
                        "enable=on,target=native,arg=sonomask-mps2,arg=link=semihosting,arg=in={},arg=out={}",
                        h2d.display(),
                        d2h.display()
                    ))
                    .args(["-serial", "null"])
                    .arg("-kernel")
                    .arg(&opts.firmware);
                let child = cmd
                    .spawn()
                    .map_err(io_err(format!("starting {}", opts.qemu.display())))?;
                let mut session = QemuSession { child, dir, marks };
                let (writer, reader) = session.open_fifos(&h2d, &d2h, Duration::from_secs(20))?;
                Ok((session, Link::new(reader, writer)))
            }
        }
    }

    fn log(&self) -> String {
        let text = fs::read_to_string(self.dir.path().join("qemu.log")).unwrap_or_default();
        let text = text.trim();
        if text.is_empty() {
            String::new()
        } else {
            format!("; QEMU said: {text}")
        }
    }

    fn exited(&mut self) -> Result<(), QemuError> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(QemuError::Exit {
                status,
                log: self.log(),
            }),
            _ => Ok(()),
        }
    }

    fn accept(&mut self, listener: &TcpListener, wait: Duration) -> Result<TcpStream, QemuError> {
        listener
            .set_nonblocking(true)
            .map_err(io_err("listening for QEMU"))?;
        let until = Instant::now() + wait;
        loop {
            match listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).map_err(io_err("UART socket"))?;
                    return Ok(s);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(io_err("accepting QEMU's UART connection")(e)),
            }
            self.exited()?;
            if Instant::now() > until {
                return Err(QemuError::NoConnection(wait, self.log()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Opens the host's ends of the FIFOs once the board has opened its
    /// own (each open blocks until both ends are there).
    fn open_fifos(
        &mut self,
        h2d: &Path,
        d2h: &Path,
        wait: Duration,
    ) -> Result<(File, File), QemuError> {
        let (tx, rx) = mpsc::channel();
        let (a, b) = (h2d.to_path_buf(), d2h.to_path_buf());
        let tx2 = tx.clone();
        thread::spawn(move || {
            let _ = tx.send((0, OpenOptions::new().write(true).open(&a)));
        });
        thread::spawn(move || {
            let _ = tx2.send((1, OpenOptions::new().read(true).open(&b)));
        });
        let until = Instant::now() + wait;
        let (mut writer, mut reader) = (None, None);
        while writer.is_none() || reader.is_none() {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok((0, f)) => writer = Some(f.map_err(io_err("opening the host→device FIFO"))?),
                Ok((_, f)) => reader = Some(f.map_err(io_err("opening the device→host FIFO"))?),
                Err(_) => {}
            }
            let dead = self.exited().err();
            if dead.is_some() || Instant::now() > until {
                // Release the blocked opens: a read-write open of a FIFO
                // never blocks and counts as both ends.
                let _ = OpenOptions::new().read(true).write(true).open(h2d);
                let _ = OpenOptions::new().read(true).write(true).open(d2h);
                return Err(dead.unwrap_or(QemuError::NoConnection(wait, self.log())));
            }
        }
        Ok((
            writer.unwrap_or_else(|| unreachable!()),
            reader.unwrap_or_else(|| unreachable!()),
        ))
    }

    /// Waits for QEMU to exit (after the device's shutdown), at most
    /// `wait`, then reads the plugin's counts.
    pub fn finish(mut self, wait: Duration) -> Result<QemuRun, QemuError> {
        let until = Instant::now() + wait;
        let status = loop {
            if let Some(s) = self.child.try_wait().map_err(io_err("waiting for QEMU"))? {
                break s;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                let s = self.child.wait().map_err(io_err("waiting for QEMU"))?;
                return Err(QemuError::Exit {
                    status: s,
                    log: format!("{} (killed after {wait:?})", self.log()),
                });
            }
            thread::sleep(Duration::from_millis(20));
        };
        if !status.success() {
            return Err(QemuError::Exit {
                status,
                log: self.log(),
            });
        }
        let (frames, total) = match &self.marks {
            Some(p) => {
                let text = fs::read_to_string(p).map_err(io_err("reading the plugin's counts"))?;
                let (marks, total) = parse_marks(&text);
                (stage_counts(&marks), total)
            }
            None => (Vec::new(), None),
        };
        Ok(QemuRun {
            status,
            frames,
            total,
        })
    }
}

impl Drop for QemuSession {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_group_into_frames_and_stages() {
        let text = "mark 1 100\nmark 2 150\nmark 3 1150\nmark 4 1400\nmark 5 1500\n\
                    mark 1 2000\nmark 4 2010\nmark 5 2300\nnoise\ntotal 9999\n";
        let (marks, total) = parse_marks(text);
        assert_eq!(total, Some(9999));
        let f = stage_counts(&marks);
        assert_eq!(
            f,
            [
                StageCounts {
                    preprocess: 50,
                    inference: 1000,
                    fit: 250,
                    masking: 100,
                    total: 1400
                },
                StageCounts {
                    preprocess: 10,
                    inference: 0,
                    fit: 0,
                    masking: 290,
                    total: 300
                },
            ]
        );
    }
}

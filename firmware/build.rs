//! Fixes the image's model-signing key (`SONOMASK_MODEL_PUBKEY`, see
//! `src/pubkey.rs`) and the fingerprint of the sources the pipeline is
//! built from (`SOURCE_FINGERPRINT`) for every target, and adds the board's
//! linker scripts to the board image only when building for the Cortex-M
//! target: host builds (tests, the simulated device) never see them.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

#[path = "src/pubkey/hex.rs"]
mod hex;

const KEY_VAR: &str = "SONOMASK_MODEL_PUBKEY";

/// The key `SONOMASK_MODEL_PUBKEY` names: 64 hex digits, or a key file
/// (absolute, or relative to the repository root). Any value that does not
/// give a valid ed25519 public key stops the build: a mistyped variable
/// must not produce an image that accepts unsigned models.
fn model_pubkey(manifest_dir: &Path) -> Option<[u8; 32]> {
    println!("cargo:rerun-if-env-changed={KEY_VAR}");
    let value = match env::var(KEY_VAR) {
        Ok(v) => v,
        Err(env::VarError::NotPresent) => return None,
        Err(env::VarError::NotUnicode(v)) => panic!("{KEY_VAR}={v:?} is not UTF-8"),
    };
    let text = if hex::parse_hex(&value).is_ok() {
        value.clone()
    } else {
        if value.trim().is_empty() {
            panic!("{KEY_VAR} is set but empty: unset it for an image without a key");
        }
        let path = Path::new(value.trim());
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            manifest_dir.join("..").join(path)
        };
        println!("cargo:rerun-if-changed={}", path.display());
        fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{KEY_VAR}={value}: neither 64 hex digits nor a readable key file ({}: {e})",
                path.display()
            )
        })
    };
    let key = hex::parse_hex(&text)
        .unwrap_or_else(|e| panic!("{KEY_VAR}={value}: not a public key ({e})"));
    if let Err(e) = ed25519_dalek::VerifyingKey::from_bytes(&key) {
        panic!("{KEY_VAR}={value}: not an ed25519 public key ({e})");
    }
    Some(key)
}

/// FNV-1a (64-bit) over every file under `dirs`, in sorted order of their
/// paths relative to `root`, each as its path, a NUL and its bytes: the
/// same sources give the same value on any machine and checkout.
fn source_fingerprint(root: &Path, dirs: &[&str]) -> u64 {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        let dir = root.join(d);
        println!("cargo:rerun-if-changed={}", dir.display());
        walk(&dir, &mut files);
    }
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap_or(&f);
            (rel.to_string_lossy().replace('\\', "/"), f)
        })
        .collect();
    named.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (rel, path) in &named {
        eat(rel.as_bytes());
        eat(&[0]);
        eat(&fs::read(path).expect("read a source file"));
    }
    h
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=src/pubkey/hex.rs");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let key = match model_pubkey(&manifest_dir) {
        Some(k) => format!("Some({k:?})"),
        None => "None".to_string(),
    };
    fs::write(out.join("model_pubkey.rs"), key).expect("write model_pubkey.rs");

    // The pipeline is this crate and sonomask-core: what the HIL rig's
    // reference and an image must share for their bytes to be compared.
    let root = manifest_dir.join("..");
    let fp = source_fingerprint(&root, &["shared/src", "firmware/src"]);
    fs::write(out.join("source_fingerprint.rs"), format!("{fp:#018x}"))
        .expect("write source_fingerprint.rs");

    let target = env::var("TARGET").unwrap_or_default();
    if !target.starts_with("thumb") {
        return;
    }
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}

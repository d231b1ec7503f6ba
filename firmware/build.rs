//! Fixes the image's model-signing key (`SONOMASK_MODEL_PUBKEY`, see
//! `src/pubkey.rs`) for every target, and adds the board's linker scripts
//! to the board image only when building for the Cortex-M target: host
//! builds (tests, the simulated device) never see them.

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

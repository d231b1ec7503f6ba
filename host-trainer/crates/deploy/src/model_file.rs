//! Host side of the `.snmk` model blob: signing keys and the inspection
//! report. The format itself, and its only decoder, live in
//! `sonomask_core::blob`, so what `sonomask inspect` accepts is exactly what
//! the cart accepts.
//!
//! Key files are one line of lowercase hex: `KEY` holds the 32-byte ed25519
//! secret seed (created with mode 0600), `KEY.pub` the 32-byte public key
//! that firmware is configured with.

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::Serialize;
use sonomask_core::blob::{self, BlobError, EncodeError, SIGNATURE_LEN, SignaturePolicy};
use sonomask_core::engine::{Model, Op, SignatureStatus};

/// Errors handling keys and blobs.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a key file ({message})")]
    BadKey { path: PathBuf, message: String },
    #[error("{path} exists; pass --force to replace it")]
    Exists { path: PathBuf },
    #[error("{path}: invalid model blob: {source}")]
    Blob {
        path: PathBuf,
        #[source]
        source: BlobError,
    },
    #[error("cannot gather randomness for a key: {0}")]
    Random(String),
    #[error("{path}: cannot sign: {source}")]
    Sign {
        path: PathBuf,
        #[source]
        source: EncodeError,
    },
    #[error("{path}: {message}")]
    Write { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelFileError + '_ {
    move |source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(path: &Path, text: &str) -> Result<[u8; 32], ModelFileError> {
    let bad = |message: &str| ModelFileError::BadKey {
        path: path.to_path_buf(),
        message: message.into(),
    };
    let t = text.trim();
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("expected 64 hex digits"));
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad("bad hex"))?;
    }
    Ok(out)
}

/// The public-key file beside a secret-key file: `KEY.pub`.
pub fn public_path(secret: &Path) -> PathBuf {
    let mut p = secret.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// Creates a new signing key from the operating system's randomness and
/// writes `path` (secret, mode 0600) and `path.pub`. Refuses to replace an
/// existing key unless `force`.
pub fn keygen(path: &Path, force: bool) -> Result<VerifyingKey, ModelFileError> {
    let public = public_path(path);
    for p in [path, public.as_path()] {
        if p.exists() && !force {
            return Err(ModelFileError::Exists {
                path: p.to_path_buf(),
            });
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| ModelFileError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    write_secret(path, &format!("{}\n", hex(&seed)))?;
    sonomask_data::dataset::write_atomic(
        &public,
        format!("{}\n", hex(key.verifying_key().as_bytes())).as_bytes(),
    )
    .map_err(|e| ModelFileError::BadKey {
        path: public.clone(),
        message: e.to_string(),
    })?;
    Ok(key.verifying_key())
}

/// Writes a secret atomically with owner-only permissions.
fn write_secret(path: &Path, text: &str) -> Result<(), ModelFileError> {
    sonomask_data::dataset::write_atomic_mode(path, text.as_bytes(), Some(0o600)).map_err(|e| {
        ModelFileError::BadKey {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// Reads a secret key file.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, ModelFileError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    Ok(SigningKey::from_bytes(&unhex32(path, &text)?))
}

/// The loader's policy for the CLI's `--pubkey KEY [--require-signature]`:
/// a key verifies a signed blob (and demands a signature when required);
/// without a key the signature is not checked.
pub fn signature_policy(key: Option<&VerifyingKey>, require: bool) -> SignaturePolicy<'_> {
    match (key, require) {
        (Some(k), true) => SignaturePolicy::Required(k),
        (Some(k), false) => SignaturePolicy::VerifyIfSigned(k),
        (None, _) => SignaturePolicy::Optional,
    }
}

/// Reads the public key file of a `--pubkey` option, when one is given.
pub fn read_verifying_key_if_given(
    path: Option<&Path>,
) -> Result<Option<VerifyingKey>, ModelFileError> {
    path.map(read_verifying_key).transpose()
}

/// Reads a public key file (`KEY.pub`).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, ModelFileError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    VerifyingKey::from_bytes(&unhex32(path, &text)?).map_err(|e| ModelFileError::BadKey {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Signs the blob `bytes` (read from `path`) with `key`, keeping its
/// payload byte for byte: no requantisation, so the weights and the
/// provenance hash stay the quantiser's. A signature already there is
/// replaced. Returns the signed blob, checked to verify with `key`.
pub fn sign_blob(path: &Path, bytes: &[u8], key: &SigningKey) -> Result<Vec<u8>, ModelFileError> {
    let mut buf = vec![0u8; bytes.len() + SIGNATURE_LEN];
    let n = blob::resign_into(bytes, key, &mut buf).map_err(|e| match e {
        EncodeError::Source(source) => ModelFileError::Blob {
            path: path.to_path_buf(),
            source,
        },
        source => ModelFileError::Sign {
            path: path.to_path_buf(),
            source,
        },
    })?;
    buf.truncate(n);
    Ok(buf)
}

/// Reads the blob `input`, signs it with the secret key file `key` and
/// writes it atomically to `out` (which may be `input`). Returns the
/// signed bytes.
pub fn sign_file(input: &Path, key: &Path, out: &Path) -> Result<Vec<u8>, ModelFileError> {
    let key = read_signing_key(key)?;
    let bytes = std::fs::read(input).map_err(io(input))?;
    let signed = sign_blob(input, &bytes, &key)?;
    sonomask_data::dataset::write_atomic(out, &signed).map_err(|e| ModelFileError::Write {
        path: out.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(signed)
}

/// One op as `inspect` reports it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OpReport {
    pub index: usize,
    pub op: String,
    /// `C×H×W` of its output.
    pub output: String,
    pub macs: u64,
    pub param_bytes: u64,
}

/// What `sonomask inspect` prints.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub file: String,
    pub file_bytes: u64,
    pub arch: String,
    pub format_version: String,
    pub input: String,
    pub output: String,
    pub input_scale: f32,
    pub input_zero_point: i8,
    pub output_scale: f32,
    pub output_zero_point: i8,
    pub arena_bytes: u64,
    pub declared_arena_bytes: u64,
    pub macs: u64,
    pub param_bytes: u64,
    pub provenance: String,
    pub crc: String,
    pub signature: String,
    pub ops: Vec<OpReport>,
}

fn shape_str(s: sonomask_core::Shape) -> String {
    format!("{}×{}×{}", s.c, s.h, s.w)
}

/// Loads a blob with the shared decoder (checking magic, version, CRC,
/// signature per `policy`, graph and arena) and describes it.
pub fn inspect(
    path: &Path,
    bytes: &[u8],
    policy: SignaturePolicy<'_>,
) -> Result<Report, ModelFileError> {
    let model = Model::from_bytes(bytes, policy).map_err(|source| ModelFileError::Blob {
        path: path.to_path_buf(),
        source,
    })?;
    let tensors = model.tensors();
    let mut ops = Vec::new();
    for (i, op) in model.ops().iter().enumerate() {
        let out = tensors[i + 1].shape;
        let (name, macs, params) = match op {
            Op::Conv2d(c) => {
                let k = u64::from(c.k);
                let macs = out.numel() * u64::from(c.in_c) * k * k;
                let params =
                    (c.weights.len() + c.bias.len() + c.multiplier.len() + c.shift.len()) as u64;
                (
                    format!(
                        "conv{}x{} s{} {}→{}{}",
                        c.k,
                        c.k,
                        c.stride,
                        c.in_c,
                        c.out_c,
                        if c.relu { " relu" } else { "" }
                    ),
                    macs,
                    params,
                )
            }
            Op::MaxPool2x2 { .. } => ("maxpool2x2".to_string(), 0, 0),
            Op::Upsample2x { .. } => ("upsample2x".to_string(), 0, 0),
            Op::Concat(_) => ("concat".to_string(), 0, 0),
            Op::Add(_) => ("add".to_string(), 0, 0),
        };
        ops.push(OpReport {
            index: i,
            op: name,
            output: shape_str(out),
            macs,
            param_bytes: params,
        });
    }
    let info = model.info();
    let crc_at = bytes.len().saturating_sub(8);
    let crc = bytes
        .get(crc_at..crc_at + 4)
        .map(|b| format!("{:08x} ok", u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .unwrap_or_default();
    Ok(Report {
        file: path.display().to_string(),
        file_bytes: bytes.len() as u64,
        arch: info.arch.to_string(),
        format_version: format!("{}.{}", info.format_major, info.format_minor),
        input: shape_str(model.input_shape()),
        output: shape_str(model.output_shape()),
        input_scale: model.input_quant().scale,
        input_zero_point: model.input_quant().zero_point,
        output_scale: model.output_quant().scale,
        output_zero_point: model.output_quant().zero_point,
        arena_bytes: model.arena_bytes() as u64,
        declared_arena_bytes: u64::from(info.declared_arena_bytes),
        macs: ops.iter().map(|o| o.macs).sum(),
        param_bytes: ops.iter().map(|o| o.param_bytes).sum(),
        provenance: hex(&info.provenance),
        crc,
        signature: match info.signature {
            SignatureStatus::Unsigned => "unsigned".into(),
            SignatureStatus::NotVerified => "signed (not verified: no --pubkey given)".into(),
            SignatureStatus::Verified => "signed, verified".into(),
        },
        ops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::blob::{ModelDesc, encode_into, sign_into};
    use sonomask_core::engine::Conv2d;
    use sonomask_core::{QuantParams, Shape};

    /// A one-op model: 3×3 conv 1→2 with ReLU on a 1×8×10 input.
    fn tiny_blob(key: Option<&SigningKey>) -> Vec<u8> {
        let q = QuantParams {
            scale: 1.0 / 255.0,
            zero_point: -128,
        };
        let weights = [1u8; 2 * 9];
        let bias = [0u8; 8];
        let mult = (1i32 << 30).to_le_bytes().repeat(2);
        let shift = [0u8; 2];
        let ops = [Op::Conv2d(Conv2d {
            input: 0,
            in_c: 1,
            out_c: 2,
            k: 3,
            stride: 1,
            relu: true,
            output: QuantParams {
                scale: 0.05,
                zero_point: -128,
            },
            weights: &weights,
            bias: &bias,
            multiplier: &mult,
            shift: &shift,
        })];
        let desc = ModelDesc {
            arch: "tiny",
            input_shape: Shape::new(1, 8, 10),
            input_quant: q,
            provenance: [7; 32],
            arena_bytes: None,
            ops: &ops,
        };
        let mut buf = vec![0u8; 4096];
        let n = match key {
            Some(k) => sign_into(&desc, k, &mut buf).unwrap(),
            None => encode_into(&desc, &mut buf).unwrap(),
        };
        buf.truncate(n);
        buf
    }

    #[test]
    fn sign_file_signs_in_place_and_rejects_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        let vk = keygen(&key, false).unwrap();
        let blob = dir.path().join("m.snmk");
        std::fs::write(&blob, tiny_blob(None)).unwrap();
        let signed = sign_file(&blob, &key, &blob).unwrap();
        assert_eq!(std::fs::read(&blob).unwrap(), signed);
        let r = inspect(&blob, &signed, SignaturePolicy::Required(&vk)).unwrap();
        assert_eq!(r.signature, "signed, verified");
        // The payload is untouched: same as signing at encode time.
        let sk = read_signing_key(&key).unwrap();
        assert_eq!(signed, tiny_blob(Some(&sk)));

        let mut corrupt = tiny_blob(None);
        corrupt[6] ^= 1;
        std::fs::write(&blob, &corrupt).unwrap();
        let out = dir.path().join("never.snmk");
        assert!(matches!(
            sign_file(&blob, &key, &out),
            Err(ModelFileError::Blob {
                source: BlobError::CrcMismatch,
                ..
            })
        ));
        assert!(!out.exists());
        assert!(matches!(
            sign_file(&dir.path().join("missing"), &key, &out),
            Err(ModelFileError::Io { .. })
        ));
        std::fs::write(dir.path().join("bad.key"), "not hex\n").unwrap();
        assert!(matches!(
            sign_file(&blob, &dir.path().join("bad.key"), &out),
            Err(ModelFileError::BadKey { .. })
        ));
    }

    #[test]
    fn inspect_reports_and_rejects_defects() {
        let p = Path::new("m.snmk");
        let r = inspect(p, &tiny_blob(None), SignaturePolicy::Optional).unwrap();
        assert_eq!(
            (r.arch.as_str(), r.input.as_str(), r.output.as_str()),
            ("tiny", "1×8×10", "2×8×10")
        );
        assert_eq!(r.macs, 2 * 8 * 10 * 9);
        assert_eq!(r.param_bytes, 18 + 8 + 8 + 2);
        assert_eq!(r.signature, "unsigned");
        assert_eq!(r.ops.len(), 1);

        let sk = SigningKey::from_bytes(&[3; 32]);
        let vk = sk.verifying_key();
        let signed = tiny_blob(Some(&sk));
        let r = inspect(p, &signed, SignaturePolicy::Required(&vk)).unwrap();
        assert_eq!(r.signature, "signed, verified");
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(inspect(p, &signed, SignaturePolicy::Required(&other)).is_err());
        assert!(inspect(p, &tiny_blob(None), SignaturePolicy::Required(&vk)).is_err());

        let mut flipped = signed.clone();
        flipped[20] ^= 0x10;
        let err = inspect(p, &flipped, SignaturePolicy::Optional).unwrap_err();
        assert!(err.to_string().contains("m.snmk"), "{err}");
        assert!(inspect(p, &signed[..signed.len() - 3], SignaturePolicy::Optional).is_err());
    }

    #[test]
    fn keys_round_trip_and_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("dev.key");
        let vk = keygen(&key, false).unwrap();
        assert_eq!(read_signing_key(&key).unwrap().verifying_key(), vk);
        assert_eq!(read_verifying_key(&public_path(&key)).unwrap(), vk);
        assert!(matches!(
            keygen(&key, false),
            Err(ModelFileError::Exists { .. })
        ));
        let vk2 = keygen(&key, true).unwrap();
        assert_ne!(vk, vk2, "a new key is random");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&key, "zz").unwrap();
        assert!(matches!(
            read_signing_key(&key),
            Err(ModelFileError::BadKey { .. })
        ));
    }
}

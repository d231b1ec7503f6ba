//! The shipped model blob, `models/default.snmk`: it loads cleanly with the
//! cart's decoder, has the sector net's shape, runs, and — the property the
//! blob format promises, here on a real 50 KiB blob rather than the tiny
//! ones of `sonomask-core`'s own tests — every truncation, sampled single-bit
//! flip and random rewrite is an error, never a panic.

use std::path::PathBuf;

use sonomask_core::blob::{BlobError, SignaturePolicy};
use sonomask_core::engine::{self, Model};
use sonomask_deploy::model_file;

fn default_blob() -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../models/default.snmk");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, bytes)
}

/// splitmix64, for sampling positions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn default_model_is_clean_and_runs() {
    let (path, bytes) = default_blob();
    let r = model_file::inspect(&path, &bytes, SignaturePolicy::Optional).unwrap();
    assert_eq!(
        (r.input.as_str(), r.output.as_str()),
        ("1×64×80", "1×64×80")
    );
    assert!(r.arch.starts_with("sectornet-64x80"), "{}", r.arch);
    assert!(r.macs <= 10_000_000 && r.param_bytes <= 64 * 1024, "{r:?}");
    assert_ne!(r.provenance, "0".repeat(64));

    let model = Model::from_bytes(&bytes, SignaturePolicy::Optional).unwrap();
    let mut input = vec![0i8; model.input_len()];
    let luma: Vec<u8> = (0..model.input_len())
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    model.quantize_input_u8(&luma, &mut input).unwrap();
    let mut arena = vec![0u8; model.arena_bytes()];
    let (mut fast, mut slow) = (vec![0i8; model.output_len()], vec![0i8; model.output_len()]);
    engine::run(&model, &input, &mut arena, &mut fast).unwrap();
    engine::run_reference(&model, &input, &mut arena, &mut slow).unwrap();
    assert_eq!(fast, slow);
}

#[test]
fn default_model_corruption_is_always_an_error() {
    let (_, blob) = default_blob();
    let load = |b: &[u8]| Model::from_bytes(b, SignaturePolicy::Optional).map(|_| ());
    let n = blob.len();
    let mut rng = Rng(0x5eed);

    // Truncations: every short prefix, every cut in the trailer, and a
    // sample of the rest.
    let mut cuts: Vec<usize> = (0..256).chain(n - 80..n).collect();
    cuts.extend((0..400).map(|_| rng.below(n)));
    for len in cuts {
        assert!(load(&blob[..len]).is_err(), "prefix of {len} bytes loaded");
    }

    // Single-bit flips: every bit of the header and trailer regions, and
    // 4000 sampled bits of the weights in between. Past magic and version
    // the CRC catches each one.
    let mut bits: Vec<(usize, u8)> = (0..64)
        .chain(n - 80..n)
        .flat_map(|b| (0..8).map(move |k| (b, k)))
        .collect();
    bits.extend((0..4000).map(|_| (rng.below(n), rng.below(8) as u8)));
    let mut bad = blob.clone();
    for (byte, bit) in bits {
        bad[byte] ^= 1 << bit;
        let r = load(&bad);
        assert!(r.is_err(), "flip of byte {byte} bit {bit} undetected");
        if (8..n - 4).contains(&byte) {
            assert_eq!(
                r.err(),
                Some(BlobError::CrcMismatch),
                "byte {byte} bit {bit}"
            );
        }
        bad[byte] ^= 1 << bit;
    }
    assert_eq!(bad, blob);

    // Random bytes of the same length, with and without the real magic.
    for i in 0..200 {
        let mut junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 {
            junk[..8].copy_from_slice(&blob[..8]);
        }
        assert!(load(&junk).is_err());
    }
}

#[test]
fn default_model_is_signed_with_the_development_key() {
    let (path, bytes) = default_blob();
    let key_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../keys/dev.key.pub");
    let key = model_file::read_verifying_key(&key_path).unwrap();
    let r = model_file::inspect(&path, &bytes, SignaturePolicy::Required(&key)).unwrap();
    assert_eq!(r.signature, "signed, verified");
}

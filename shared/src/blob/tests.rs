extern crate std;

use std::vec;
use std::vec::Vec;

use ed25519_dalek::Verifier;

use super::*;
use crate::engine::{MAX_OPS, run, run_reference};
use crate::testutil::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn desc<'a>(graph: &Graph, ops: &'a [Op<'a>]) -> ModelDesc<'a> {
    ModelDesc {
        arch: "unet3-test",
        input_shape: graph.input_shape,
        input_quant: graph.input_quant,
        provenance: [0xab; 32],
        arena_bytes: None,
        ops,
    }
}

fn encode(d: &ModelDesc<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; encoded_len(d, false).unwrap()];
    let n = encode_into(d, &mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len is exact");
    buf
}

fn sign(d: &ModelDesc<'_>, k: &SigningKey) -> Vec<u8> {
    let mut buf = vec![0u8; encoded_len(d, true).unwrap()];
    let n = sign_into(d, k, &mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len is exact");
    buf
}

/// The tiny U-Net the exhaustive tests use (a blob of about 1 KB).
fn tiny() -> Graph {
    small_unet(77, 8, 8, [2, 2, 2])
}

/// Rewrites the CRC after an edit, as a forger (or a test) would.
fn fix_crc(blob: &mut [u8]) {
    let n = blob.len();
    let crc = crc32(&blob[..n - 8]);
    blob[n - 8..n - 4].copy_from_slice(&crc.to_le_bytes());
}

/// Frames any payload by hand, following the documented layout (an
/// independent writer: if the layout drifted from the docs, tests using
/// it would fail).
fn frame(payload: &[u8], sig: Option<[u8; 64]>, flags: u8) -> Vec<u8> {
    let mut b = payload.to_vec();
    if let Some(s) = sig {
        b.extend_from_slice(&s);
    }
    b.push(flags);
    let crc = crc32(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b.extend_from_slice(b"SNMK");
    b
}

fn load(bytes: &[u8]) -> Result<Model<'_>, BlobError> {
    Model::from_bytes(bytes, SignaturePolicy::Optional)
}

fn outputs(model: &Model<'_>, input: &[i8]) -> Vec<i8> {
    let mut arena = vec![0u8; model.arena_bytes()];
    let mut out = vec![0; model.output_len()];
    run(model, input, &mut arena, &mut out).unwrap();
    out
}

#[test]
fn round_trip_every_op() {
    let graph = small_unet(5, 16, 20, [4, 8, 16]);
    let ops = graph.ops();
    // Every op kind and both kernel sizes and strides are in the graph.
    let has = |f: fn(&Op<'_>) -> bool| ops.iter().any(f);
    assert!(has(|o| matches!(o, Op::Conv2d(c) if c.k == 1)));
    assert!(has(
        |o| matches!(o, Op::Conv2d(c) if c.k == 3 && c.stride == 1)
    ));
    assert!(has(
        |o| matches!(o, Op::Conv2d(c) if c.k == 3 && c.stride == 2)
    ));
    assert!(has(|o| matches!(o, Op::MaxPool2x2 { .. })));
    assert!(has(|o| matches!(o, Op::Upsample2x { .. })));
    assert!(has(|o| matches!(o, Op::Concat(_))));
    assert!(has(|o| matches!(o, Op::Add(_))));

    let d = desc(&graph, &ops);
    let blob = encode(&d);
    let model = load(&blob).unwrap();
    assert_eq!(model.ops(), ops.as_slice());
    let built = graph.model();
    assert_eq!(model.tensors(), built.tensors());
    assert_eq!(model.plan(), built.plan());
    let info = model.info();
    assert_eq!(info.arch, "unet3-test");
    assert_eq!(
        (info.format_major, info.format_minor),
        (FORMAT_MAJOR, FORMAT_MINOR)
    );
    assert_eq!(info.provenance, [0xab; 32]);
    assert_eq!(info.declared_arena_bytes, built.plan().arena_bytes());
    assert_eq!(info.signature, SignatureStatus::Unsigned);
    assert_eq!(model.input_shape(), Shape::new(1, 16, 20));
    assert_eq!(model.output_shape(), Shape::new(1, 16, 20));

    // Zero-copy: the parameters point into the blob.
    let range = blob.as_ptr_range();
    for op in model.ops() {
        if let Op::Conv2d(c) = op {
            for s in [c.weights, c.bias, c.multiplier, c.shift] {
                assert!(range.contains(&s.as_ptr()));
            }
        }
    }

    let input = Rng::new(1).i8s(model.input_len());
    assert_eq!(outputs(&model, &input), outputs(&built, &input));
}

#[test]
fn layout_matches_the_documentation() {
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let k = key(3);
    for signed in [false, true] {
        let blob = if signed { sign(&d, &k) } else { encode(&d) };
        let n = blob.len();
        assert_eq!(&blob[..4], b"SNMK");
        assert_eq!(&blob[n - 4..], b"SNMK");
        assert_eq!(
            u32::from_le_bytes(blob[n - 8..n - 4].try_into().unwrap()),
            crc32(&blob[..n - 8])
        );
        assert_eq!(blob[n - 9], signed as u8);
        let payload_len = n - 9 - if signed { 64 } else { 0 };
        let payload = &blob[..payload_len];
        // The payload is the postcard header, nothing else.
        let model = graph.model();
        let header = HeaderOut {
            magic: MAGIC,
            format_major: FORMAT_MAJOR,
            format_minor: FORMAT_MINOR,
            arch: d.arch,
            input_shape: d.input_shape,
            output_shape: model.output_shape(),
            input_quant: d.input_quant,
            output_quant: model.output_quant(),
            arena_bytes: model.plan().arena_bytes(),
            provenance: d.provenance,
            ops: &ops,
        };
        let mut buf = vec![0u8; payload_len + 100];
        assert_eq!(postcard::to_slice(&header, &mut buf).unwrap(), payload);
        // Version right after the magic, as varints.
        assert_eq!(&payload[4..6], &[FORMAT_MAJOR as u8, FORMAT_MINOR as u8]);
        if signed {
            let sig = Signature::from_slice(&blob[payload_len..n - 9]).unwrap();
            k.verifying_key().verify(payload, &sig).unwrap();
            assert_eq!(frame(payload, Some(sig.to_bytes()), 1), blob);
        } else {
            assert_eq!(frame(payload, None, 0), blob);
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    for blob in [encode(&d), sign(&d, &key(1))] {
        for len in 0..blob.len() {
            let r = load(&blob[..len]);
            assert!(r.is_err(), "prefix of {len} of {} bytes loaded", blob.len());
            // Almost always recognised as such; a prefix that happens to
            // end in b"SNMK" fails its CRC instead.
            if len >= 8 && &blob[len - 4..len] != b"SNMK" {
                assert_eq!(r.err(), Some(BlobError::Truncated), "prefix {len}");
            }
        }
        assert!(load(&blob).is_ok());
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let k = key(2);
    let vk = k.verifying_key();
    let policies = [
        SignaturePolicy::Optional,
        SignaturePolicy::VerifyIfSigned(&vk),
        SignaturePolicy::Required(&vk),
    ];
    for blob in [encode(&d), sign(&d, &k)] {
        let mut bad = blob.clone();
        let mut flips = 0;
        for byte in 0..blob.len() {
            for bit in 0..8 {
                bad[byte] ^= 1 << bit;
                for policy in policies {
                    let r = Model::from_bytes(&bad, policy);
                    assert!(
                        r.is_err(),
                        "flip of byte {byte} bit {bit} undetected under {policy:?}"
                    );
                    // Past magic and version, the CRC catches it first.
                    if (8..blob.len() - 4).contains(&byte) {
                        assert_eq!(
                            r.err(),
                            Some(BlobError::CrcMismatch),
                            "byte {byte} bit {bit}"
                        );
                    }
                }
                bad[byte] ^= 1 << bit;
                flips += 1;
            }
        }
        assert_eq!(flips, 8 * blob.len());
    }
}

#[test]
fn signed_blob_verifies_and_tampering_fails() {
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let k = key(9);
    let vk = k.verifying_key();
    let other = key(10).verifying_key();
    let signed = sign(&d, &k);
    let unsigned = encode(&d);

    let m = Model::from_bytes(&signed, SignaturePolicy::Required(&vk)).unwrap();
    assert_eq!(m.info().signature, SignatureStatus::Verified);
    let m = Model::from_bytes(&signed, SignaturePolicy::VerifyIfSigned(&vk)).unwrap();
    assert_eq!(m.info().signature, SignatureStatus::Verified);
    let m = Model::from_bytes(&signed, SignaturePolicy::Optional).unwrap();
    assert_eq!(m.info().signature, SignatureStatus::NotVerified);

    // Wrong key.
    for policy in [
        SignaturePolicy::Required(&other),
        SignaturePolicy::VerifyIfSigned(&other),
    ] {
        assert_eq!(
            Model::from_bytes(&signed, policy).err(),
            Some(BlobError::SignatureInvalid)
        );
    }

    // Unsigned under Required: missing; under the others: fine.
    assert_eq!(
        Model::from_bytes(&unsigned, SignaturePolicy::Required(&vk)).err(),
        Some(BlobError::SignatureMissing)
    );
    let m = Model::from_bytes(&unsigned, SignaturePolicy::VerifyIfSigned(&vk)).unwrap();
    assert_eq!(m.info().signature, SignatureStatus::Unsigned);

    // Tampered payload (a weight byte) with the CRC fixed up: only the
    // signature can tell, and it does; Optional takes the forged model.
    let payload_len = signed.len() - 9 - 64;
    let mut tampered = signed.clone();
    tampered[payload_len / 2] ^= 0x01;
    fix_crc(&mut tampered);
    for policy in [
        SignaturePolicy::Required(&vk),
        SignaturePolicy::VerifyIfSigned(&vk),
    ] {
        assert_eq!(
            Model::from_bytes(&tampered, policy).err(),
            Some(BlobError::SignatureInvalid)
        );
    }
    // Tampered signature bytes, CRC fixed.
    let mut bad_sig = signed.clone();
    bad_sig[payload_len + 10] ^= 0x80;
    fix_crc(&mut bad_sig);
    assert_eq!(
        Model::from_bytes(&bad_sig, SignaturePolicy::Required(&vk)).err(),
        Some(BlobError::SignatureInvalid)
    );
    assert!(Model::from_bytes(&bad_sig, SignaturePolicy::Optional).is_ok());

    // Stripped signature (flag cleared, CRC redone): an unsigned blob.
    let stripped = frame(&signed[..payload_len], None, 0);
    assert_eq!(stripped, unsigned);
    assert_eq!(
        Model::from_bytes(&stripped, SignaturePolicy::Required(&vk)).err(),
        Some(BlobError::SignatureMissing)
    );
    // Flag set without a signature: the payload loses 64 bytes.
    let fake = frame(&unsigned[..unsigned.len() - 9], None, FLAG_SIGNED);
    assert!(Model::from_bytes(&fake, SignaturePolicy::Optional).is_err());
    assert!(Model::from_bytes(&fake, SignaturePolicy::Required(&vk)).is_err());
}

/// A header with every field valid for `graph`, for tests to spoil.
fn header_for<'d, 'a>(graph: &Graph, ops: &'d [Op<'a>]) -> HeaderOut<'d, 'a> {
    let model = graph.model();
    HeaderOut {
        magic: MAGIC,
        format_major: FORMAT_MAJOR,
        format_minor: FORMAT_MINOR,
        arch: "t",
        input_shape: graph.input_shape,
        output_shape: model.output_shape(),
        input_quant: graph.input_quant,
        output_quant: model.output_quant(),
        arena_bytes: model.plan().arena_bytes(),
        provenance: [0; 32],
        ops,
    }
}

fn raw(h: &HeaderOut<'_, '_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let n = write_raw(h, None, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn header_defects_are_typed_errors() {
    let graph = tiny();
    let ops = graph.ops();
    let good = header_for(&graph, &ops);
    assert!(load(&raw(&good)).is_ok());

    let newer_minor = HeaderOut {
        format_minor: FORMAT_MINOR + 7,
        ..header_for(&graph, &ops)
    };
    assert_eq!(
        load(&raw(&newer_minor)).unwrap().info().format_minor,
        FORMAT_MINOR + 7
    );

    let cases: [(HeaderOut<'_, '_>, BlobError); 9] = [
        (
            HeaderOut {
                format_major: FORMAT_MAJOR + 1,
                ..header_for(&graph, &ops)
            },
            BlobError::UnsupportedVersion,
        ),
        (
            HeaderOut {
                format_major: 0,
                ..header_for(&graph, &ops)
            },
            BlobError::UnsupportedVersion,
        ),
        (
            HeaderOut {
                magic: *b"SNMQ",
                ..header_for(&graph, &ops)
            },
            BlobError::BadMagic,
        ),
        (
            HeaderOut {
                output_shape: Shape::new(2, 8, 8),
                ..header_for(&graph, &ops)
            },
            BlobError::ShapeMismatch,
        ),
        (
            HeaderOut {
                output_quant: QuantParams::new(0.5, 0),
                ..header_for(&graph, &ops)
            },
            BlobError::QuantMismatch,
        ),
        (
            HeaderOut {
                arena_bytes: good.arena_bytes - 1,
                ..header_for(&graph, &ops)
            },
            BlobError::ArenaMismatch,
        ),
        (
            HeaderOut {
                arch: "a-name-that-is-longer-than-32-bytes",
                ..header_for(&graph, &ops)
            },
            BlobError::Malformed,
        ),
        (
            HeaderOut {
                input_shape: Shape::new(3, 8, 8),
                ..header_for(&graph, &ops)
            },
            BlobError::ShapeMismatch,
        ),
        (
            HeaderOut {
                ops: &ops[..0],
                ..header_for(&graph, &ops)
            },
            BlobError::InvalidGraph(GraphError::TooManyOps),
        ),
    ];
    for (i, (h, want)) in cases.iter().enumerate() {
        assert_eq!(load(&raw(h)).err(), Some(*want), "case {i}");
    }

    // An op the engine does not support.
    let mut bad_ops = ops.clone();
    if let Op::Conv2d(c) = &mut bad_ops[0] {
        c.k = 5;
    }
    let h = header_for(&graph, &ops);
    let h = HeaderOut { ops: &bad_ops, ..h };
    assert_eq!(
        load(&raw(&h)).err(),
        Some(BlobError::InvalidGraph(GraphError::Unsupported))
    );

    // More ops than a model may have: postcard's bounded vector refuses.
    let many = vec![Op::Upsample2x { input: 0 }; MAX_OPS + 1];
    let h = HeaderOut {
        ops: &many,
        ..header_for(&graph, &ops)
    };
    assert_eq!(load(&raw(&h)).err(), Some(BlobError::Malformed));

    // Payload with a byte left over, unknown flag bits.
    let blob = raw(&good);
    let payload = &blob[..blob.len() - 9];
    let mut longer = payload.to_vec();
    longer.push(0);
    assert_eq!(
        load(&frame(&longer, None, 0)).err(),
        Some(BlobError::Malformed)
    );
    assert_eq!(
        load(&frame(payload, None, 0x02)).err(),
        Some(BlobError::Malformed)
    );
    assert_eq!(
        load(&frame(&payload[..payload.len() - 1], None, 0)).err(),
        Some(BlobError::Malformed)
    );

    // The front and the back.
    assert_eq!(load(b"").err(), Some(BlobError::Truncated));
    assert_eq!(load(b"SN").err(), Some(BlobError::Truncated));
    assert_eq!(load(b"XY").err(), Some(BlobError::BadMagic));
    assert_eq!(load(b"SNMK").err(), Some(BlobError::Truncated));
    assert_eq!(
        load(b"PK\x03\x04 a zip file, not a model").err(),
        Some(BlobError::BadMagic)
    );
    let mut no_end = blob.clone();
    no_end.truncate(blob.len() - 1);
    no_end.push(b'X');
    assert_eq!(load(&no_end).err(), Some(BlobError::Truncated));
}

#[test]
fn encode_errors_are_typed() {
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let n = encoded_len(&d, false).unwrap();
    let mut buf = vec![0u8; n];
    for len in 0..n {
        assert_eq!(
            encode_into(&d, &mut buf[..len]),
            Err(EncodeError::BufferTooSmall),
            "len {len}"
        );
    }
    let k = key(4);
    let ns = encoded_len(&d, true).unwrap();
    assert_eq!(ns, n + 64);
    let mut buf = vec![0u8; ns];
    for len in [0, 10, n - 1, n, ns - 9, ns - 1] {
        assert_eq!(
            sign_into(&d, &k, &mut buf[..len]),
            Err(EncodeError::BufferTooSmall),
            "len {len}"
        );
    }
    let long = ModelDesc {
        arch: "x".repeat(33).leak(),
        ..d
    };
    assert_eq!(encode_into(&long, &mut buf), Err(EncodeError::BadArch));
    let planned = graph.model().plan().arena_bytes();
    let small = ModelDesc {
        arena_bytes: Some(planned - 1),
        ..d
    };
    assert_eq!(
        encode_into(&small, &mut buf),
        Err(EncodeError::ArenaTooSmall)
    );
    let empty = ModelDesc { ops: &[], ..d };
    assert_eq!(
        encode_into(&empty, &mut buf),
        Err(EncodeError::InvalidGraph(GraphError::TooManyOps))
    );

    // A larger declared arena is kept.
    let roomy = ModelDesc {
        arena_bytes: Some(planned + 1000),
        ..d
    };
    let blob = encode(&roomy);
    let m = load(&blob).unwrap();
    assert_eq!(m.info().declared_arena_bytes, planned + 1000);
    assert_eq!(m.arena_bytes(), planned as usize);
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng::new(0x6a7b);
    let graph = tiny();
    let ops = graph.ops();
    let blob = encode(&desc(&graph, &ops));
    let mut arena = vec![0u8; 1 << 16];
    let mut io = vec![0i8; 1 << 12];

    // Plain noise, of every short length and some longer.
    for i in 0..3000 {
        let n = if i < 300 { i % 40 } else { rng.usize(0, 3000) };
        let mut bytes = rng.bytes(n);
        let _ = fuzzing::decode_and_run(&bytes, &mut arena, &mut io);
        // Noise behind a valid magic and version.
        if n >= 6 {
            bytes[..6].copy_from_slice(&blob[..6]);
            let _ = fuzzing::decode_and_run(&bytes, &mut arena, &mut io);
            // ... and with a valid trailer, so postcard and validation see it.
            let framed = frame(&bytes, None, 0);
            assert!(
                load(&framed).is_err() || fuzzing::decode_and_run(&framed, &mut arena, &mut io)
            );
        }
    }

    // A valid blob with a few bytes of its payload changed and the CRC
    // fixed: reaches postcard, validation, planning and, when it still
    // loads, both kernel sets (which must agree).
    let payload_len = blob.len() - 9;
    let mut loaded = 0;
    for _ in 0..4000 {
        let mut bad = blob.clone();
        for _ in 0..rng.usize(1, 4) {
            let at = rng.usize(6, payload_len - 1);
            bad[at] = match rng.range(0, 3) {
                0 => rng.next_u64() as u8,
                1 => bad[at] ^ (1 << rng.range(0, 7)),
                2 => bad[at].wrapping_add(1),
                _ => bad[at].wrapping_sub(1),
            };
        }
        fix_crc(&mut bad);
        loaded += fuzzing::decode_and_run(&bad, &mut arena, &mut io) as usize;
    }
    // Most edits land in weights and still load: the run path was exercised.
    assert!(loaded > 1000, "only {loaded} mutated blobs loaded");
}

#[test]
fn fuzz_target_body_never_panics() {
    // The exact calls of fuzz/fuzz_targets/blob_decode.rs, on a corpus of
    // seeds (what a fuzzer would start from) and their truncations.
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let seeds = [encode(&d), sign(&d, &key(5)), b"SNMK".to_vec(), Vec::new()];
    let mut arena = vec![0u8; 1 << 20];
    let mut io = vec![0i8; 1 << 18];
    for s in &seeds {
        for len in 0..=s.len() {
            let loaded = fuzzing::decode_and_run(&s[..len], &mut arena, &mut io);
            assert_eq!(loaded, len == s.len() && len > 4);
        }
    }
}

#[test]
fn structured_fuzz_helpers_write_what_the_checked_encoder_writes() {
    // blob_structured writes with `write_unchecked`; on a valid model with
    // the computed output and the planned arena it must produce the checked
    // encoder's bytes, and what it writes with a wrong output shape must be
    // refused, not loaded.
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let model = graph.model();
    let mut h = fuzzing::UncheckedHeader {
        format_major: FORMAT_MAJOR,
        format_minor: FORMAT_MINOR,
        arch: d.arch,
        input_shape: d.input_shape,
        output_shape: model.output_shape(),
        input_quant: d.input_quant,
        output_quant: model.output_quant(),
        arena_bytes: model.plan().arena_bytes(),
        provenance: d.provenance,
        ops: &ops,
    };
    let mut buf = vec![0u8; 1 << 14];
    let n = fuzzing::write_unchecked(&h, None, &mut buf).unwrap();
    assert_eq!(&buf[..n], &encode(&d)[..]);
    let k = key(9);
    let n = fuzzing::write_unchecked(&h, Some(&k), &mut buf).unwrap();
    assert_eq!(&buf[..n], &sign(&d, &k)[..]);
    let vk = k.verifying_key();
    let (mut arena, mut io) = (vec![0u8; 1 << 20], vec![0i8; 1 << 18]);
    let required = SignaturePolicy::Required(&vk);
    assert!(fuzzing::decode_and_run_with(
        &buf[..n],
        required,
        Some(3),
        &mut arena,
        &mut io
    ));

    h.output_shape.c += 1;
    let n = fuzzing::write_unchecked(&h, None, &mut buf).unwrap();
    assert_eq!(load(&buf[..n]).err(), Some(BlobError::ShapeMismatch));

    // fix_crc makes an edited payload reach the decoder (here: the arch
    // name's first byte, which still loads) and leaves short input alone.
    h.output_shape.c -= 1;
    let n = fuzzing::write_unchecked(&h, None, &mut buf).unwrap();
    // Magic (4 bytes), major and minor (one varint byte each), the arch's
    // length: its first byte is byte 7.
    let at = 7;
    assert_eq!(buf[at - 1], d.arch.len() as u8);
    buf[at] = b'U';
    assert_eq!(load(&buf[..n]).err(), Some(BlobError::CrcMismatch));
    fuzzing::fix_crc(&mut buf[..n]);
    assert_eq!(load(&buf[..n]).unwrap().info().arch, "Unet3-test");
    let mut short = [1u8, 2, 3];
    fuzzing::fix_crc(&mut short);
    assert_eq!(short, [1, 2, 3]);
}

#[test]
fn loaded_model_runs_like_the_reference_kernels() {
    let graph = small_unet(12, 16, 20, [4, 8, 8]);
    let ops = graph.ops();
    let k = key(6);
    let blob = sign(&desc(&graph, &ops), &k);
    let vk = k.verifying_key();
    let model = Model::from_bytes(&blob, SignaturePolicy::Required(&vk)).unwrap();
    let input = Rng::new(3).i8s(model.input_len());
    let mut arena = vec![0u8; model.arena_bytes()];
    let mut a = vec![0; model.output_len()];
    let mut b = vec![0; model.output_len()];
    run(&model, &input, &mut arena, &mut a).unwrap();
    run_reference(&model, &input, &mut arena, &mut b).unwrap();
    assert_eq!(a, b);
}

fn macs(model: &Model<'_>) -> u64 {
    let t = model.tensors();
    model
        .ops()
        .iter()
        .map(|op| match op {
            Op::Conv2d(c) => {
                let inp = t[c.input as usize].shape;
                let out_px = (inp.h as u64).div_ceil(c.stride as u64)
                    * (inp.w as u64).div_ceil(c.stride as u64);
                out_px * c.out_c as u64 * (c.k as u64 * c.k as u64 * c.in_c as u64)
            }
            _ => 0,
        })
        .sum()
}

/// The most bytes live at once, over all ops: no plan can do better.
fn arena_lower_bound(model: &Model<'_>) -> u64 {
    let plan = model.plan();
    (0..model.ops().len())
        .map(|i| {
            let i16_ = i as u16;
            let tensors: u64 = (0..model.tensors().len())
                .filter_map(|t| Some((plan.tensor(t)?, plan.lifetime(t)?)))
                .filter(|(_, l)| l.first <= i16_ && i16_ <= l.last)
                .map(|(p, _)| p.size as u64)
                .sum();
            tensors + plan.scratch(i).map_or(0, |p| p.size as u64)
        })
        .max()
        .unwrap_or(0)
}

/// Sizes of the test graphs and at the cart's input resolution (64×80),
/// against the budgets of ARCHITECTURE.md (model ≤ 64 KiB, arena ≤ 256 KiB).
/// Printed for the record; run with `--nocapture` to see them.
#[test]
fn measured_sizes() {
    let k = key(8);
    let configs = [
        ("tiny 8x8 2/2/2 (bit-flip tests)", 8, 8, [2, 2, 2]),
        ("16x20 4/8/16 (round trip)", 16, 20, [4, 8, 16]),
        ("64x80 4/8/16", 64, 80, [4, 8, 16]),
        ("64x80 8/16/32", 64, 80, [8, 16, 32]),
    ];
    for (name, h, w, c) in configs {
        let graph = small_unet(21, h, w, c);
        let ops = graph.ops();
        let d = desc(&graph, &ops);
        let unsigned = encoded_len(&d, false).unwrap();
        let signed = sign(&d, &k).len();
        let model = graph.model();
        let plan = model.plan();
        let weights: usize = ops
            .iter()
            .map(|o| {
                if let Op::Conv2d(c) = o {
                    c.weights.len()
                } else {
                    0
                }
            })
            .sum();
        let bound = arena_lower_bound(&model);
        std::eprintln!(
            "{name}: {} ops, {} MAC, weights {weights} B, blob {unsigned} B ({signed} B signed), \
             arena {} B (lower bound {bound} B, no reuse {} B)",
            ops.len(),
            macs(&model),
            plan.arena_bytes(),
            plan.naive_bytes(),
        );
        assert!(plan.arena_bytes() as u64 >= bound);
        assert!(unsigned <= 64 * 1024);
        assert!(plan.arena_bytes() <= 256 * 1024);
    }
}

#[test]
fn resign_keeps_the_payload_and_matches_sign_into() {
    let graph = tiny();
    let ops = graph.ops();
    let d = desc(&graph, &ops);
    let unsigned = encode(&d);
    let (a, b) = (key(5), key(6));
    let mut buf = vec![0u8; unsigned.len() + SIGNATURE_LEN];

    // Signing an unsigned blob gives exactly what sign_into writes
    // (ed25519 is deterministic): same payload, same trailer.
    let n = resign_into(&unsigned, &a, &mut buf).unwrap();
    assert_eq!(buf[..n], sign(&d, &a)[..]);
    let vk = a.verifying_key();
    let status = Model::from_bytes(&buf[..n], SignaturePolicy::Required(&vk))
        .unwrap()
        .info()
        .signature;
    assert_eq!(status, SignatureStatus::Verified);

    // Re-signing a signed blob replaces the signature: b verifies, a not.
    let signed_a = buf[..n].to_vec();
    let n2 = resign_into(&signed_a, &b, &mut buf).unwrap();
    assert_eq!(n2, n);
    assert_eq!(buf[..n2], sign(&d, &b)[..]);
    assert_eq!(
        Model::from_bytes(&buf[..n2], SignaturePolicy::Required(&vk)).err(),
        Some(BlobError::SignatureInvalid)
    );

    // A buffer too small at any length, and a source that does not load.
    for len in [0, 1, n - 1] {
        assert_eq!(
            resign_into(&unsigned, &a, &mut buf[..len]),
            Err(EncodeError::BufferTooSmall),
            "len {len}"
        );
    }
    let mut corrupt = unsigned.clone();
    corrupt[5] ^= 1;
    assert_eq!(
        resign_into(&corrupt, &a, &mut buf),
        Err(EncodeError::Source(BlobError::CrcMismatch))
    );
    assert_eq!(
        resign_into(b"SNMK", &a, &mut buf),
        Err(EncodeError::Source(BlobError::Truncated))
    );
}

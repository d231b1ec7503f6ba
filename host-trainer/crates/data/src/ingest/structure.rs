//! What a DICOM file's structure claims, checked before dicom-rs parses it:
//! how deeply its sequences nest, and whether a value's length runs past
//! the end of the file.
//!
//! dicom-rs builds sequences recursively (and dropping, de-identifying and
//! writing the object recurse the same way), so a file of 3,000 nested
//! empty sequences — 60 kB — overflows a 2 MiB thread stack and aborts the
//! whole process: no error, no other file of the batch. Nothing real nests
//! deeply (ultrasound images: 1–3 levels; structured reports a few more),
//! so files deeper than [`MAX_SEQUENCE_DEPTH`] are refused before the parse.
//!
//! dicom-rs also allocates a value's declared length before reading it: a
//! 790 kB file whose pixel data claims 4 GiB took 4.2 GB of resident memory
//! before failing (measured with `sonomask mask`). A value that runs past
//! the end of the data is refused before the parse.
//!
//! The scan is iterative and reads the file once, front to back, keeping
//! only a stack of open sequence/item ends: explicit and implicit VR, little
//! and big endian, and deflated data sets. Anything else it cannot follow
//! ends the scan quietly, and the parser that follows reports the damage.

use std::io::{self, BufReader, Read};
use std::path::Path;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use super::IngestError;

/// The deepest sequence nesting read. Each level costs the recursive parse,
/// drop and write a few kilobytes of stack; 64 levels stay far inside the
/// 2 MiB of a worker thread.
pub const MAX_SEQUENCE_DEPTH: usize = 64;

/// Refuses, before the parse, a file whose sequences nest deeper than
/// [`MAX_SEQUENCE_DEPTH`] ([`IngestError::TooDeep`]) or one with a value
/// whose length runs past the end of the file
/// ([`IngestError::LengthPastEnd`]: dicom-rs allocates the declared length
/// before reading, 4 GiB for a length that claims it). Any other problem
/// is left to the parser.
pub fn check_structure_of_file(path: &Path) -> Result<(), IngestError> {
    match std::fs::File::open(path) {
        Ok(f) => check_structure(path, BufReader::new(f)),
        // The parser reports what is wrong with opening it.
        Err(_) => Ok(()),
    }
}

/// [`check_structure_of_file`] on a reader of the whole file (preamble
/// included when there is one).
pub fn check_structure(path: &Path, reader: impl Read) -> Result<(), IngestError> {
    let found = scan(reader, MAX_SEQUENCE_DEPTH);
    if found.deepest > MAX_SEQUENCE_DEPTH {
        return Err(IngestError::TooDeep {
            path: path.to_path_buf(),
            max: MAX_SEQUENCE_DEPTH,
        });
    }
    if let Some((tag, length)) = found.past_end {
        return Err(IngestError::LengthPastEnd {
            path: path.to_path_buf(),
            tag: format!("({:04X},{:04X})", tag.0, tag.1),
            length,
        });
    }
    Ok(())
}

/// What [`scan`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// The deepest sequence nesting, or `limit + 1` as soon as it went past
    /// the limit (the scan then stops).
    pub deepest: usize,
    /// The first value (tag, declared length) that runs past the end of
    /// the data (the scan then stops).
    pub past_end: Option<(Tag, u32)>,
}

/// Counting reader: how many bytes were consumed.
struct Counted<R> {
    inner: R,
    at: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl<R: Read> Counted<R> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut b = [0u8; N];
        self.read_exact(&mut b).ok().map(|_| b)
    }

    /// Skips `n` bytes; `None` when the data ends first.
    fn skip(&mut self, n: u64) -> Option<()> {
        let got = io::copy(&mut self.by_ref().take(n), &mut io::sink()).ok()?;
        (got == n).then_some(())
    }
}

/// How the data set after the meta group is encoded.
#[derive(Clone, Copy)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

impl Encoding {
    fn u16(self, b: [u8; 2]) -> u16 {
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}

/// Walks the file's structure: sequence nesting up to `limit`, and whether
/// a value's length runs past the end of the data.
pub fn scan(mut reader: impl Read, limit: usize) -> Scan {
    // Where the meta group starts, decided as dicom-rs decides it: after a
    // preamble when bytes 128..132 are the magic, else at 4 when the file
    // starts with it (found by the fuzz target dicom_source: a preamble
    // that itself began with "DICM" made the scan read the preamble as the
    // meta group and give up, while dicom-rs read on to a 3 GB "value").
    let mut head = Vec::with_capacity(132);
    if (&mut reader).take(132).read_to_end(&mut head).is_err() {
        return Scan::default();
    }
    let start = if head.get(128..132) == Some(b"DICM") {
        132
    } else if head.starts_with(b"DICM") {
        4
    } else {
        return Scan::default();
    };
    let mut r = Counted {
        inner: io::Cursor::new(head.split_off(start)).chain(reader),
        at: start as u64,
    };
    let (ts, first) = match read_meta(&mut r) {
        Ok(Some(meta)) => meta,
        Ok(None) => return Scan::default(),
        Err(past_end) => {
            return Scan {
                deepest: 0,
                past_end: Some(past_end),
            };
        }
    };
    let ts = ts.trim_end_matches(['\0', ' ']);
    let enc = Encoding {
        explicit: ts != "1.2.840.10008.1.2",
        big_endian: ts == "1.2.840.10008.1.2.2",
    };
    if ts == "1.2.840.10008.1.2.1.99" {
        // Deflated explicit VR little endian: the data set is raw deflate.
        // The four bytes read past the meta group are the stream's first.
        let mut d = Counted {
            inner: flate2::read::DeflateDecoder::new(io::Cursor::new(first).chain(r)),
            at: 0,
        };
        return walk(&mut d, enc, None, limit);
    }
    walk(&mut r, enc, Some(first), limit)
}

/// The transfer syntax UID and the first data set tag, as [`read_meta`]
/// finds them.
type Meta = (String, [u8; 4]);

/// Reads the file meta group (always explicit VR little endian; the
/// preamble and magic are behind `r` already); returns the transfer syntax
/// UID and the raw tag of the first data set element (read to see the meta
/// group end).
fn read_meta<R: Read>(r: &mut Counted<R>) -> Result<Option<Meta>, (Tag, u32)> {
    let mut ts = None;
    // dicom-rs reads the meta group by its group length (0002,0000), the
    // first element: every element within that many bytes is meta, whatever
    // its group (found by the fuzz target dicom_source: a meta element whose
    // group was damaged ended the scan's meta group early, so the scan
    // walked nothing while dicom-rs read on and allocated 2.5 GB). Without
    // a usable group length, the meta group ends where group 0002 does.
    let mut meta_end: Option<u64> = None;
    let mut first_element = true;
    // Read one element ahead to see the meta group end.
    loop {
        let Some(tag) = r.bytes::<4>() else {
            return Ok(None);
        };
        let group = u16::from_le_bytes([tag[0], tag[1]]);
        let element = u16::from_le_bytes([tag[2], tag[3]]);
        let in_meta = match meta_end {
            Some(end) => r.at - 4 < end,
            None => group == 0x0002,
        };
        if !in_meta {
            // The first data set element: its tag is read already. Without
            // a transfer syntax the encoding is unknown: the parser refuses
            // such a file anyway.
            return Ok(ts.map(|ts| (ts, tag)));
        }
        let Some(vr) = r.bytes::<2>() else {
            return Ok(None);
        };
        // An unknown VR code has UN's 4-byte length (see `walk`).
        let len = if long_length(&vr) || VR::from_binary(vr).is_none() {
            r.skip(2)
                .and_then(|_| r.bytes::<4>())
                .map(u32::from_le_bytes)
        } else {
            r.bytes::<2>().map(|b| u32::from(u16::from_le_bytes(b)))
        };
        let Some(len) = len else { return Ok(None) };
        let past_end = (Tag(group, element), len);
        if std::mem::take(&mut first_element) && (group, element) == (0x0002, 0x0000) && len == 4 {
            let value = r.bytes::<4>().ok_or(past_end)?;
            meta_end = Some(r.at + u64::from(u32::from_le_bytes(value)));
            continue;
        }
        if (group, element) == (0x0002, 0x0010) {
            let mut v = vec![0u8; len.min(64) as usize];
            r.read_exact(&mut v).map_err(|_| past_end)?;
            r.skip(u64::from(len.saturating_sub(64))).ok_or(past_end)?;
            ts = Some(String::from_utf8_lossy(&v).into_owned());
        } else {
            r.skip(u64::from(len)).ok_or(past_end)?;
        }
    }
}

/// How many bytes dicom-rs 0.10 reads of a value: whole numbers of this
/// unit only (`len >> 2` 32-bit values for UL, …), the rest of the declared
/// length is left in the stream and read as the next element's header. The
/// scan follows the parser there, or the two part ways and the parser's
/// next "length" goes unchecked (found by the fuzz target dicom_source: a
/// group length (0000,0000) of 2 bytes led dicom-rs to a 4 GiB value).
fn value_unit(vr: Option<VR>) -> u32 {
    match vr {
        Some(VR::US | VR::OW | VR::SS) => 2,
        Some(VR::AT | VR::FL | VR::OF | VR::SL | VR::UL | VR::OL) => 4,
        Some(VR::FD | VR::OD | VR::SV | VR::OV | VR::UV) => 8,
        _ => 1,
    }
}

/// Explicit-VR value representations with a 4-byte length.
fn long_length(vr: &[u8; 2]) -> bool {
    matches!(
        vr,
        b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"OV" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR"
    )
}

/// What an open container is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// A sequence: holds items.
    Sequence,
    /// An item of a sequence: holds elements.
    Item,
    /// Encapsulated pixel data: holds fragments, never nested data.
    Fragments,
}

/// Walks the data set (see [`scan`]).
fn walk<R: Read>(
    r: &mut Counted<R>,
    enc: Encoding,
    mut first: Option<[u8; 4]>,
    limit: usize,
) -> Scan {
    // Each open container and where it ends (None: undefined length, ends
    // with its delimiter).
    let mut stack: Vec<(Open, Option<u64>)> = Vec::new();
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let done = |deepest: usize| Scan {
        deepest,
        past_end: None,
    };
    let undefined = u32::MAX;
    loop {
        // Close every container with a defined length that ends here.
        while let Some(&(kind, Some(end))) = stack.last() {
            if r.at < end {
                break;
            }
            stack.pop();
            if kind == Open::Sequence {
                depth -= 1;
            }
        }
        let raw = match first.take() {
            Some(t) => t,
            None => match r.bytes::<4>() {
                Some(t) => t,
                None => return done(deepest),
            },
        };
        let group = enc.u16([raw[0], raw[1]]);
        let element = enc.u16([raw[2], raw[3]]);
        let tag = Tag(group, element);
        if group == 0xFFFE {
            let Some(len) = r.bytes::<4>().map(|b| enc.u32(b)) else {
                return done(deepest);
            };
            match element {
                0xE000 => {
                    if stack.last().map(|s| s.0) == Some(Open::Fragments) {
                        if r.skip(u64::from(len)).is_none() {
                            return Scan {
                                deepest,
                                past_end: Some((tag, len)),
                            };
                        }
                    } else {
                        let end = (len != undefined).then(|| r.at + u64::from(len));
                        stack.push((Open::Item, end));
                    }
                }
                0xE00D => {
                    if stack.last().map(|s| s.0) == Some(Open::Item) {
                        stack.pop();
                    }
                }
                0xE0DD => {
                    // Closes the innermost sequence (and any item left open).
                    while let Some((kind, _)) = stack.pop() {
                        if kind == Open::Sequence {
                            depth -= 1;
                            break;
                        }
                        if kind == Open::Fragments {
                            break;
                        }
                    }
                }
                _ => return done(deepest),
            }
            continue;
        }
        let (vr, len) = if enc.explicit {
            let Some(vr) = r.bytes::<2>() else {
                return done(deepest);
            };
            // dicom-rs reads a VR code it does not know as UN, with UN's
            // 4-byte length (found by the fuzz target dicom_source: with a
            // 2-byte length here the scan and the parser parted ways and the
            // parser allocated a 3.7 GB "value" the scan never saw).
            let len = if long_length(&vr) || VR::from_binary(vr).is_none() {
                if r.skip(2).is_none() {
                    return done(deepest);
                }
                r.bytes::<4>().map(|b| enc.u32(b))
            } else {
                r.bytes::<2>().map(|b| u32::from(enc.u16(b)))
            };
            let Some(len) = len else { return done(deepest) };
            (VR::from_binary(vr), len)
        } else {
            let Some(len) = r.bytes::<4>().map(|b| enc.u32(b)) else {
                return done(deepest);
            };
            let vr = match StandardDataDictionary.by_tag(tag).map(|e| e.vr()) {
                Some(VirtualVr::Exact(vr)) => Some(vr),
                _ => None,
            };
            (vr, len)
        };
        let pixel_data = tag == Tag(0x7FE0, 0x0010);
        if pixel_data && len == undefined {
            stack.push((Open::Fragments, None));
            continue;
        }
        // A sequence: SQ, or an undefined length on anything else but
        // pixel data (UN and implicit VR hold nested data sets that way).
        let sequence = vr == Some(VR::SQ) || len == undefined;
        if sequence {
            depth += 1;
            deepest = deepest.max(depth);
            if deepest > limit {
                return done(deepest);
            }
            let end = (len != undefined).then(|| r.at + u64::from(len));
            stack.push((Open::Sequence, end));
            continue;
        }
        if r.skip(u64::from(len - len % value_unit(vr))).is_none() {
            return Scan {
                deepest,
                past_end: Some((tag, len)),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Part 10 file (explicit VR LE, or implicit) with `depth` nested
    /// sequences of undefined or defined length.
    fn nested(depth: usize, explicit: bool, defined: bool) -> Vec<u8> {
        let ts: &[u8] = if explicit {
            b"1.2.840.10008.1.2.1\0"
        } else {
            b"1.2.840.10008.1.2\0\0"
        };
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        b.extend_from_slice(&[2, 0, 0x10, 0, b'U', b'I']);
        b.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        b.extend_from_slice(ts);
        // Innermost first when lengths are defined: build the body from the
        // inside out.
        let mut body: Vec<u8> = Vec::new();
        for _ in 0..depth {
            let mut item = vec![0xFE, 0xFF, 0x00, 0xE0];
            let mut seq = vec![0x08, 0x00, 0x40, 0x11]; // (0008,1140) SQ
            if explicit {
                seq.extend_from_slice(b"SQ\0\0");
            }
            if defined {
                item.extend_from_slice(&(body.len() as u32).to_le_bytes());
                item.extend_from_slice(&body);
                seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
                seq.extend_from_slice(&item);
            } else {
                item.extend_from_slice(&u32::MAX.to_le_bytes());
                item.extend_from_slice(&body);
                item.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
                seq.extend_from_slice(&u32::MAX.to_le_bytes());
                seq.extend_from_slice(&item);
                seq.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
            }
            body = seq;
        }
        b.extend_from_slice(&body);
        // (0028,0010) Rows after the sequences: the walk must get past them.
        b.extend_from_slice(&[0x28, 0, 0x10, 0]);
        if explicit {
            b.extend_from_slice(b"US\x02\0");
        } else {
            b.extend_from_slice(&2u32.to_le_bytes());
        }
        b.extend_from_slice(&[4, 0]);
        b
    }

    #[test]
    fn counts_nesting_in_every_encoding() {
        for explicit in [true, false] {
            for defined in [true, false] {
                for depth in [0, 1, 5, 64] {
                    let got = scan(&nested(depth, explicit, defined)[..], 100).deepest;
                    assert_eq!(got, depth, "explicit {explicit} defined {defined}");
                }
            }
        }
        // Stops counting just past the limit.
        assert_eq!(scan(&nested(10_000, true, false)[..], 64).deepest, 65);
    }

    #[test]
    fn counts_nesting_inside_a_deflated_data_set() {
        use std::io::Write;
        let plain = nested(70, true, false);
        // The meta group of `nested` ends after the 20-byte TS value.
        let meta_end = 132 + 8 + 20;
        let ts = b"1.2.840.10008.1.2.1.99";
        let mut b = plain[..132].to_vec();
        b.extend_from_slice(&[2, 0, 0x10, 0, b'U', b'I', ts.len() as u8, 0]);
        b.extend_from_slice(ts);
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&plain[meta_end..]).unwrap();
        b.extend(z.finish().unwrap());
        assert_eq!(scan(&b[..], 64).deepest, 65);
        assert_eq!(scan(&b[..], 100).deepest, 70);
    }

    #[test]
    fn too_deep_is_a_typed_error_naming_the_file() {
        let p = Path::new("deep.dcm");
        let e = check_structure(p, &nested(MAX_SEQUENCE_DEPTH + 1, true, false)[..]).unwrap_err();
        assert!(matches!(e, IngestError::TooDeep { .. }), "{e}");
        assert!(e.to_string().contains("deep.dcm"), "{e}");
        assert!(check_structure(p, &nested(MAX_SEQUENCE_DEPTH, true, false)[..]).is_ok());
        // Garbage and truncation are the parser's business, not ours.
        assert!(check_structure(p, &b"not dicom"[..]).is_ok());
        let cut = nested(3, true, true);
        assert!(check_structure(p, &cut[..cut.len() - 9]).is_ok());
    }

    #[test]
    fn a_length_past_the_end_is_refused_unread() {
        let mut b = nested(2, true, false);
        // Rows (US, 2 bytes) as OB claiming 4 GiB.
        let n = b.len();
        b.truncate(n - 6);
        b.extend_from_slice(b"OB\0\0");
        b.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        b.extend_from_slice(&[4, 0]);
        let found = scan(&b[..], 64);
        assert_eq!(found.past_end, Some((Tag(0x0028, 0x0010), 0xFFFF_FFF0)));
        let e = check_structure(Path::new("lie.dcm"), &b[..]).unwrap_err();
        assert!(matches!(e, IngestError::LengthPastEnd { .. }), "{e}");
        assert!(e.to_string().contains("lie.dcm") && e.to_string().contains("(0028,0010)"));
    }
}

//! What a DICOM file's pixel attributes must agree on before anything is
//! decoded, and how much decoded pixel data sonomask is willing to hold.
//!
//! dicom-rs allocates what the header and the codec streams declare:
//! a JPEG fragment whose frame header claims 65,000 × 65,000 pixels made it
//! allocate and decode 4 GiB for a 16 × 16 DICOM image (measured: 4.2 GB
//! peak RSS, 40 s). So before decoding:
//!
//! * Rows, Columns, Samples per Pixel, Bits Allocated and Number of Frames
//!   must be readable numbers in range (rows and columns 1–65535, 1 or 3
//!   samples, 1, 8 or 16 bits, at least one frame);
//! * the declared pixel data may not exceed [`MAX_DECODED_BYTES`];
//! * native (uncompressed) pixel data must hold the declared frames: less
//!   is an error, and so is a whole frame or more beyond them (the header
//!   understates its frames); a shorter tail (padding) is ignored and never
//!   written out;
//! * encapsulated (compressed) pixel data may not declare more than
//!   [`MAX_COMPRESSION_RATIO`] times its compressed size, or
//!   [`MIN_DECODED_ALLOWANCE`] whichever is larger;
//! * every JPEG frame header (SOF) and JPEG 2000 image header (SIZ) must
//!   state the DICOM header's size and samples.
//!
//! A file breaking any of these is refused naming itself; with the file
//! named on the command line `sonomask mask` exits 2, in a batch it is
//! skipped (exit 1). Peak memory is then bounded by the file size for
//! native data and by the allowance above for compressed data, times the
//! few copies the masking pipeline keeps (8-bit frames, stored samples,
//! masked output).

use std::path::Path;

use dicom_core::header::HasLength;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

use super::IngestError;

/// The most decoded pixel data (all frames, as stored) read from one file:
/// 2 GiB, e.g. 2,300 frames of 640 × 480 RGB.
pub const MAX_DECODED_BYTES: u64 = 2 << 30;

/// Compressed pixel data may always declare this much decoded data
/// (64 MiB: 72 frames of 640 × 480 RGB), however small it is.
pub const MIN_DECODED_ALLOWANCE: u64 = 64 << 20;

/// Beyond [`MIN_DECODED_ALLOWANCE`], compressed pixel data may declare at
/// most this many times its own size. RLE cannot exceed 64:1 (a 2-byte run
/// gives 128 bytes); the real fixtures measure 6:1 (JPEG 2000), 11:1 (RLE
/// palette) and 37:1 (the SonoSite JPEG cine: 6,912,000 bytes from
/// 189,594).
pub const MAX_COMPRESSION_RATIO: u64 = 128;

fn pixels_err(path: &Path, message: String) -> IngestError {
    IngestError::Pixels {
        path: path.to_path_buf(),
        message,
    }
}

/// A required unsigned attribute as a number, or an error naming it.
fn number(
    path: &Path,
    obj: &DefaultDicomObject,
    tag: dicom_core::Tag,
    name: &str,
    default: Option<u32>,
) -> Result<u32, IngestError> {
    match obj.element_opt(tag).ok().flatten() {
        None => default.ok_or_else(|| pixels_err(path, format!("{name} {tag} is missing"))),
        Some(e) => e
            .to_int::<u32>()
            .map_err(|_| pixels_err(path, format!("{name} {tag} is not a number ({})", e.vr()))),
    }
}

/// The pixel attributes every decoder relies on, checked against each other
/// and against the pixel data before anything is decoded (see the module
/// documentation). A file without Pixel Data passes (the decoder says so).
pub fn check_pixel_attributes(path: &Path, obj: &DefaultDicomObject) -> Result<(), IngestError> {
    let Some(pixel_data) = obj.element_opt(tags::PIXEL_DATA).ok().flatten() else {
        return Ok(());
    };
    let rows = number(path, obj, tags::ROWS, "Rows", None)?;
    let columns = number(path, obj, tags::COLUMNS, "Columns", None)?;
    let samples = number(
        path,
        obj,
        tags::SAMPLES_PER_PIXEL,
        "Samples per Pixel",
        Some(1),
    )?;
    let bits = number(path, obj, tags::BITS_ALLOCATED, "Bits Allocated", None)?;
    let frames = number(
        path,
        obj,
        tags::NUMBER_OF_FRAMES,
        "Number of Frames",
        Some(1),
    )?;
    for (v, name) in [(rows, "rows"), (columns, "columns")] {
        if !(1..=65535).contains(&v) {
            return Err(pixels_err(
                path,
                format!("{v} {name} (1 to 65535 expected)"),
            ));
        }
    }
    if frames == 0 {
        return Err(pixels_err(path, "Number of Frames is 0".into()));
    }
    let unsupported = |what: String| IngestError::Unsupported {
        path: path.to_path_buf(),
        what,
    };
    if samples != 1 && samples != 3 {
        return Err(unsupported(format!("{samples} samples per pixel")));
    }
    if ![1, 8, 16].contains(&bits) {
        return Err(unsupported(format!("{bits} bits allocated")));
    }
    let pixels = u64::from(rows) * u64::from(columns);
    let photometric = super::declared_photometric(obj).unwrap_or_default();
    // Uncompressed 4:2:2 stores two bytes a pixel (Y0 Y1 Cb Cr per pair).
    let packed_422 = photometric.ends_with("_422") && samples == 3 && bits == 8;
    let frame_bits = if packed_422 {
        pixels * 16
    } else {
        pixels * u64::from(samples) * u64::from(bits)
    };
    let frame_len = frame_bits.div_ceil(8);
    let total = (frame_bits * u64::from(frames)).div_ceil(8);
    let size = format!("{frames} frames of {columns}x{rows}, {samples} samples of {bits} bits");
    if total > MAX_DECODED_BYTES {
        return Err(IngestError::TooLarge {
            path: path.to_path_buf(),
            what: format!(
                "{size} decode to {total} bytes, more than the {MAX_DECODED_BYTES} sonomask holds"
            ),
        });
    }
    match pixel_data.value().fragments() {
        None => {
            let have = u64::from(pixel_data.length().get().unwrap_or(0));
            if have < total {
                return Err(pixels_err(
                    path,
                    format!("pixel data has {have} bytes, {size} need {total}"),
                ));
            }
            if have - total >= frame_len.max(1) {
                return Err(pixels_err(
                    path,
                    format!(
                        "pixel data has {have} bytes, {} more than the {size} declared \
                         (at least one more frame: Number of Frames understated?)",
                        have - total
                    ),
                ));
            }
        }
        Some(fragments) => {
            let compressed: u64 = fragments.iter().map(|f| f.len() as u64).sum();
            let allowance = MIN_DECODED_ALLOWANCE.max(compressed * MAX_COMPRESSION_RATIO);
            if total > allowance {
                return Err(IngestError::TooLarge {
                    path: path.to_path_buf(),
                    what: format!(
                        "{size} decode to {total} bytes from {compressed} bytes of compressed \
                         data (more than {MAX_COMPRESSION_RATIO} times, and more than \
                         {MIN_DECODED_ALLOWANCE} bytes)"
                    ),
                });
            }
            let ts = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
            check_codec_headers(path, ts, fragments, (columns, rows, samples))?;
        }
    }
    Ok(())
}

/// JPEG family transfer syntaxes (`1.2.840.10008.1.2.4.50`–`.70`), whose
/// streams carry SOF frame headers.
fn is_jpeg(ts: &str) -> bool {
    ts.strip_prefix("1.2.840.10008.1.2.4.")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (50..=70).contains(&n))
}

/// JPEG 2000 and HTJ2K transfer syntaxes.
fn is_j2k(ts: &str) -> bool {
    matches!(
        ts,
        "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.92"
            | "1.2.840.10008.1.2.4.93"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203"
    )
}

/// Every image size the codec streams declare must be the DICOM header's:
/// a decoder allocates what its own header says.
fn check_codec_headers(
    path: &Path,
    ts: &str,
    fragments: &[Vec<u8>],
    (columns, rows, samples): (u32, u32, u32),
) -> Result<(), IngestError> {
    let mismatch = |codec: &str, (w, h, c): (u32, u32, u32)| {
        pixels_err(
            path,
            format!(
                "a {codec} header says {w}x{h} with {c} components, the DICOM header \
                 {columns}x{rows} with {samples} samples: refused before decoding"
            ),
        )
    };
    if is_jpeg(ts) {
        // dicom-rs decodes the fragments as one concatenated stream, frame
        // after frame; walk it the same way.
        let stream: Vec<u8> = fragments.iter().flatten().copied().collect();
        let sizes = jpeg_frame_sizes(&stream);
        if sizes.is_empty() {
            return Err(pixels_err(path, "no JPEG frame header (SOF) found".into()));
        }
        if let Some(&bad) = sizes.iter().find(|&&s| s != (columns, rows, samples)) {
            return Err(mismatch("JPEG frame", bad));
        }
    } else if is_j2k(ts) {
        for f in fragments {
            if let Some(size) = j2k_size(f)
                && size != (columns, rows, samples)
            {
                return Err(mismatch("JPEG 2000 image", size));
            }
        }
    }
    Ok(())
}

/// `(width, height, components)` of every frame header (SOF0–SOF15 but
/// DHT, JPG and DAC) in a stream of concatenated JPEG images, walked marker
/// by marker as a decoder reads it: SOI, segments with their lengths, the
/// entropy-coded data after SOS up to the next marker, EOI; then on to the
/// next SOI. Stops at the first thing it cannot follow.
pub fn jpeg_frame_sizes(stream: &[u8]) -> Vec<(u32, u32, u32)> {
    let mut sizes = Vec::new();
    let mut at = 0usize;
    let byte = |i: usize| stream.get(i).copied();
    'images: loop {
        // The next SOI (padding between images is skipped, as dicom-rs does).
        let Some(soi) = stream[at.min(stream.len())..]
            .windows(2)
            .position(|w| w == [0xFF, 0xD8])
        else {
            return sizes;
        };
        at += soi + 2;
        loop {
            // A marker: one or more 0xFF, then its code.
            if byte(at) != Some(0xFF) {
                return sizes;
            }
            while byte(at) == Some(0xFF) {
                at += 1;
            }
            let Some(code) = byte(at) else {
                return sizes;
            };
            at += 1;
            match code {
                0xD9 => continue 'images,
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let (Some(hi), Some(lo)) = (byte(at), byte(at + 1)) else {
                return sizes;
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if len < 2 || at + len > stream.len() {
                return sizes;
            }
            let seg = &stream[at + 2..at + len];
            let sof = matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC);
            if sof && seg.len() >= 6 {
                let h = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let w = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                sizes.push((w, h, u32::from(seg[5])));
            }
            at += len;
            if code == 0xDA {
                // Entropy-coded data up to the next marker that is not a
                // stuffed zero or a restart.
                while at + 1 < stream.len() {
                    if stream[at] == 0xFF && !matches!(stream[at + 1], 0x00 | 0xD0..=0xD7) {
                        break;
                    }
                    at += 1;
                }
            }
        }
    }
}

/// `(width, height, components)` from a JPEG 2000 codestream's SIZ
/// segment (SOC then SIZ, PS3.5 A.4.4 / ITU-T T.800 A.5.1), when the
/// fragment starts one.
pub fn j2k_size(fragment: &[u8]) -> Option<(u32, u32, u32)> {
    let start = fragment
        .windows(4)
        .take(1024)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?;
    let siz = fragment.get(start + 4..start + 4 + 38)?;
    let u32_at = |i: usize| u32::from_be_bytes([siz[i], siz[i + 1], siz[i + 2], siz[i + 3]]);
    // Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz(2)
    let (x, y, xo, yo) = (u32_at(4), u32_at(8), u32_at(12), u32_at(16));
    let c = u32::from(u16::from_be_bytes([siz[36], siz[37]]));
    Some((x.checked_sub(xo)?, y.checked_sub(yo)?, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut b = Vec::new();
        image::GrayImage::from_pixel(8, 8, image::Luma([7]))
            .write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Jpeg)
            .unwrap();
        let sof = b.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
        b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        b
    }

    #[test]
    fn finds_every_frame_header_of_a_jpeg_stream() {
        assert_eq!(jpeg_frame_sizes(&jpeg(8, 8)), [(8, 8, 1)]);
        // Two images back to back, with a pad byte between them, as in a
        // multi-frame fragment sequence.
        let mut two = jpeg(8, 8);
        two.push(0);
        two.extend(jpeg(65000, 65000));
        assert_eq!(jpeg_frame_sizes(&two), [(8, 8, 1), (65000, 65000, 1)]);
        assert!(jpeg_frame_sizes(b"no jpeg here").is_empty());
        // Cut inside the header: what was read so far.
        let j = jpeg(8, 8);
        assert!(jpeg_frame_sizes(&j[..20]).is_empty());
    }

    #[test]
    fn reads_a_jpeg_2000_size() {
        let mut f = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [650u32, 490, 10, 10, 650, 490, 0, 0] {
            f.extend_from_slice(&v.to_be_bytes());
        }
        f.extend_from_slice(&3u16.to_be_bytes());
        assert_eq!(j2k_size(&f), Some((640, 480, 3)));
        assert_eq!(j2k_size(&f[..20]), None);
    }
}

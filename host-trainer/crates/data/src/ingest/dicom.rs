//! DICOM files into 8-bit frames (see the module above for what dicom-rs
//! does and what we do ourselves).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, OpenFileOptions, open_file};
use dicom_pixeldata::{
    BitDepthOption, ConvertOptions, DecodedPixelData, PixelDecoder, PixelRepresentation,
    PlanarConfiguration,
};
use image::{DynamicImage, RgbImage};

use super::alloc_cap;
use super::*;
use crate::dataset::Frames;

/// Reads every frame of a DICOM file as 8-bit grey or RGB.
///
/// A panic inside the DICOM parser or a codec on a malformed file is caught
/// and reported as [`IngestError::Pixels`] rather than ending the run.
pub fn read_dicom(path: &Path) -> Result<Frames, IngestError> {
    catch_decoder_panic(path, || read_dicom_inner(path))
}

/// Runs `f`, turning a panic inside the DICOM parser or a codec (malformed
/// input) into [`IngestError::Pixels`] naming `path`.
pub fn catch_decoder_panic<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, IngestError>,
) -> Result<T, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        Err(IngestError::Pixels {
            path: path.to_path_buf(),
            message: format!("decoder panicked: {why}"),
        })
    })
}

/// [`read_dicom`] on a file already in memory (`path` only names it in
/// errors): the same parse and decode, for callers that hold the bytes
/// (and the fuzz target `dicom_source`).
pub fn read_dicom_bytes(path: &Path, bytes: &[u8]) -> Result<Frames, IngestError> {
    catch_decoder_panic(path, || {
        frames_of_object(path, &open_dicom_bytes(path, bytes)?)
    })
}

/// Opens a DICOM file with dicom-rs, errors naming `path`.
///
/// Files whose sequences nest deeper than
/// [`super::structure::MAX_SEQUENCE_DEPTH`] (the parse recurses: a deep
/// file would overflow the stack and abort) or with a value length past
/// the end of the file (the parse allocates it first) are refused before
/// the parse ([`super::structure`], then dicom-rs's own reader with raw
/// values, [`super::raw_pass`]).
pub fn open_dicom(path: &Path) -> Result<DefaultDicomObject, IngestError> {
    super::structure::check_structure_of_file(path)?;
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX);
    let head = read_head(path);
    let cap = alloc_cap::parse_cap(len, is_deflated(&head));
    alloc_cap::with_cap(cap, || {
        use std::io::{BufReader, Seek, SeekFrom};
        let open = || {
            let mut f = BufReader::new(std::fs::File::open(path)?);
            f.seek(SeekFrom::Start(super::raw_pass::preamble_len(&head) as u64))?;
            Ok::<_, std::io::Error>(f)
        };
        let f = open().map_err(|e| IngestError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        super::raw_pass::check(path, f)
    })?;
    let obj = alloc_cap::with_cap(cap, || open_file(path)).map_err(|e| IngestError::Dicom {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_no_stray_items(path, &obj)?;
    Ok(obj)
}

/// Refuses a data set holding an item or delimiter tag (group FFFE) as an
/// element of its own, outside any sequence: bytes that are not a data
/// set (junk after the pixel data, a file cut and glued). dicom-rs reads
/// such a tag as an UN value but writes it back as an item header with a
/// VR, which no reader (dicom-rs, dcmtk, pydicom) can follow, so
/// `sonomask mask` would write a file it cannot read back (found by the
/// fuzz target `dicom_source`).
fn check_no_stray_items(path: &Path, obj: &DefaultDicomObject) -> Result<(), IngestError> {
    match obj.iter().find(|e| e.header().tag.group() == 0xFFFE) {
        None => Ok(()),
        Some(e) => Err(IngestError::Dicom {
            path: path.to_path_buf(),
            message: format!(
                "item tag ({:04X},{:04X}) outside a sequence: not a DICOM data set from there on",
                e.header().tag.group(),
                e.header().tag.element()
            ),
        }),
    }
}

/// [`open_dicom`] on bytes: the preamble is detected exactly as
/// `dicom_object::open_file` does for a file (`DICM` at byte 128: skipped;
/// `DICM` at byte 0: none; neither: 128 bytes skipped), so both read the
/// same object from the same bytes.
pub fn open_dicom_bytes(path: &Path, bytes: &[u8]) -> Result<DefaultDicomObject, IngestError> {
    super::structure::check_structure(path, bytes)?;
    let skip = super::raw_pass::preamble_len(bytes);
    let preamble = if skip == 0 {
        ReadPreamble::Never
    } else {
        ReadPreamble::Always
    };
    let cap = alloc_cap::parse_cap(bytes.len() as u64, is_deflated(bytes));
    let rest = bytes.get(skip..).unwrap_or_default();
    alloc_cap::with_cap(cap, || super::raw_pass::check(path, rest))?;
    let obj = alloc_cap::with_cap(cap, || {
        OpenFileOptions::new()
            .read_preamble(preamble)
            .from_reader(bytes)
    })
    .map_err(|e| IngestError::Dicom {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_no_stray_items(path, &obj)?;
    Ok(obj)
}

/// The first 4 KiB of a file (the meta group, which names the transfer
/// syntax), or nothing if it cannot be read.
fn read_head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(4096).read_to_end(&mut head);
    }
    head
}

/// Whether the meta group in `head` names the deflated transfer syntax,
/// whose data set inflates while it is parsed (see [`alloc_cap::parse_cap`]).
fn is_deflated(head: &[u8]) -> bool {
    const DEFLATED: &[u8] = b"1.2.840.10008.1.2.1.99";
    head[..head.len().min(4096)]
        .windows(DEFLATED.len())
        .any(|w| w == DEFLATED)
}

fn read_dicom_inner(path: &Path) -> Result<Frames, IngestError> {
    frames_of_object(path, &open_dicom(path)?)
}

/// Every frame of an opened object: checks, decodes and converts.
fn frames_of_object(path: &Path, obj: &DefaultDicomObject) -> Result<Frames, IngestError> {
    check_encapsulated(path, obj)?;
    let pixels = obj.decode_pixel_data().map_err(|e| IngestError::Pixels {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    decode_frames(path, obj, &pixels)
}

/// The checks before decoding: the pixel attributes against each other,
/// the pixel data and the codec headers, within the memory limits
/// ([`super::limits::check_pixel_attributes`]); then refuses compressed
/// pixel data that was cut short.
///
/// dicom-rs reads a file that ends inside its encapsulated pixel data
/// without complaint, and the JPEG decoder fills what is missing, so a
/// truncated cine would otherwise come out as frames of made-up pixels.
/// Every frame needs its fragment, and a JPEG stream (baseline, extended,
/// lossless) must end with its EOI marker.
pub fn check_encapsulated(path: &Path, obj: &DefaultDicomObject) -> Result<(), IngestError> {
    super::limits::check_pixel_attributes(path, obj)?;
    let Some(fragments) = obj
        .element(tags::PIXEL_DATA)
        .ok()
        .and_then(|e| e.value().fragments())
    else {
        return Ok(());
    };
    let cut = |message: String| IngestError::Pixels {
        path: path.to_path_buf(),
        message,
    };
    let frames = obj
        .element(tags::NUMBER_OF_FRAMES)
        .ok()
        .and_then(|e| e.to_int::<u32>().ok())
        .unwrap_or(1)
        .max(1) as usize;
    if fragments.len() < frames {
        return Err(cut(format!(
            "{} pixel data fragments for {frames} frames (file cut short?)",
            fragments.len()
        )));
    }
    let ts = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    let jpeg = ts.starts_with("1.2.840.10008.1.2.4.")
        && ts["1.2.840.10008.1.2.4.".len()..]
            .parse::<u32>()
            .is_ok_and(|n| (50..=70).contains(&n));
    // One fragment per frame: each must end its stream; otherwise at least
    // the last one must.
    let ends: &[Vec<u8>] = if fragments.len() == frames {
        fragments
    } else {
        &fragments[fragments.len() - 1..]
    };
    if jpeg {
        for (i, f) in ends.iter().enumerate() {
            let body = f.strip_suffix(&[0]).unwrap_or(f);
            if !body.ends_with(&[0xFF, 0xD9]) {
                return Err(cut(format!(
                    "JPEG stream of fragment {i} has no end marker (file cut short?)"
                )));
            }
        }
    }
    Ok(())
}

/// The photometric interpretation the file itself declares (dicom-rs
/// relabels decoded data), trimmed; `None` when absent.
pub fn declared_photometric(obj: &DefaultDicomObject) -> Option<String> {
    obj.element_opt(tags::PHOTOMETRIC_INTERPRETATION)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
}

/// Every frame of an opened DICOM object as 8-bit grey or RGB, from its
/// decoded pixel data (callers that also need the stored samples, such as
/// `sonomask mask`, decode once and call this).
pub fn decode_frames(
    path: &Path,
    obj: &DefaultDicomObject,
    pixels: &DecodedPixelData<'_>,
) -> Result<Frames, IngestError> {
    // The decoded pixel data is relabelled after a codec ran; what the file
    // itself says is needed to know what the samples really are.
    let original_pi = declared_photometric(obj)
        .unwrap_or_else(|| pixels.photometric_interpretation().as_str().to_string());
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();

    if original_pi == "PALETTE COLOR" {
        return read_palette(path, obj, pixels);
    }
    match pixels.samples_per_pixel() {
        1 => read_mono(path, pixels),
        3 => {
            let label = pixels.photometric_interpretation().as_str().to_string();
            let color = effective_color(&original_pi, &label, &ts).ok_or_else(|| {
                IngestError::Unsupported {
                    path: path.to_path_buf(),
                    what: format!(
                        "photometric interpretation {original_pi} with transfer syntax {ts}"
                    ),
                }
            })?;
            read_color(path, pixels, color)
        }
        spp => Err(IngestError::Unsupported {
            path: path.to_path_buf(),
            what: format!("{spp} samples per pixel"),
        }),
    }
}

/// Grey frames through dicom-rs (rescale, window, MONOCHROME1 inversion).
fn read_mono(path: &Path, pixels: &DecodedPixelData<'_>) -> Result<Frames, IngestError> {
    let options = ConvertOptions::new().with_bit_depth(BitDepthOption::Force8Bit);
    let mut gray = Vec::new();
    for i in 0..pixels.number_of_frames() {
        let img = pixels
            .to_dynamic_image_with_options(i, &options)
            .map_err(|e| IngestError::Pixels {
                path: path.to_path_buf(),
                message: format!("frame {i}: {e}"),
            })?;
        gray.push(match img {
            DynamicImage::ImageLuma8(g) => g,
            other => other.into_luma8(),
        });
    }
    frames_from(path, gray, Vec::new())
}

/// What the three decoded samples of a pixel really hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorSamples {
    /// R G B, nothing to do.
    Rgb,
    /// Full-range Y Cb Cr, three samples a pixel.
    YbrFull,
    /// Full-range `Y0 Y1 Cb Cr` per horizontal pixel pair (uncompressed
    /// YBR_FULL_422): two samples a pixel.
    YbrFull422Packed,
}

/// Decides what the decoded samples hold from the photometric interpretation
/// written in the file (`original`), the label dicom-rs gave the decoded data
/// (`decoded`, "RGB" whenever a codec ran on three samples) and the transfer
/// syntax UID. `None` when the combination is not one we can read.
pub fn effective_color(original: &str, decoded: &str, ts: &str) -> Option<ColorSamples> {
    let codec_ran = decoded != original;
    if !codec_ran {
        // Native (or deflated / encapsulated uncompressed) data: samples are
        // exactly what the file says.
        return match original {
            "RGB" => Some(ColorSamples::Rgb),
            "YBR_FULL" => Some(ColorSamples::YbrFull),
            "YBR_FULL_422" => Some(ColorSamples::YbrFull422Packed),
            _ => None,
        };
    }
    match ts {
        // JPEG baseline / extended (and retired DCT processes): jpeg-decoder
        // applies the YCbCr -> RGB transform itself (JFIF / component ids).
        "1.2.840.10008.1.2.4.50"
        | "1.2.840.10008.1.2.4.51"
        | "1.2.840.10008.1.2.4.52"
        | "1.2.840.10008.1.2.4.53"
        | "1.2.840.10008.1.2.4.54"
        | "1.2.840.10008.1.2.4.55"
        | "1.2.840.10008.1.2.4.56"
        | "1.2.840.10008.1.2.4.59"
        | "1.2.840.10008.1.2.4.60"
        | "1.2.840.10008.1.2.4.61"
        | "1.2.840.10008.1.2.4.62"
        | "1.2.840.10008.1.2.4.63"
        | "1.2.840.10008.1.2.4.64" => Some(ColorSamples::Rgb),
        // JPEG 2000 / HTJ2K: the decoder undoes the multi-component transform
        // (YBR_RCT / YBR_ICT); YBR_FULL means the encoder stored Y Cb Cr
        // without it, so the samples still need converting.
        "1.2.840.10008.1.2.4.90"
        | "1.2.840.10008.1.2.4.91"
        | "1.2.840.10008.1.2.4.92"
        | "1.2.840.10008.1.2.4.93"
        | "1.2.840.10008.1.2.4.201"
        | "1.2.840.10008.1.2.4.202"
        | "1.2.840.10008.1.2.4.203" => match original {
            "YBR_FULL" | "YBR_FULL_422" => Some(ColorSamples::YbrFull),
            _ => Some(ColorSamples::Rgb),
        },
        // RLE, JPEG lossless, JPEG-LS and anything else: the codec hands back
        // the stored samples untouched (always three a pixel, interleaved).
        _ => match original {
            "RGB" => Some(ColorSamples::Rgb),
            "YBR_FULL" | "YBR_FULL_422" => Some(ColorSamples::YbrFull),
            // Partial-range and MCT forms are not valid for these codecs.
            _ => None,
        },
    }
}

/// Full-range (JPEG/JFIF, PS3.3 C.7.6.3.1.2) Y Cb Cr to R G B, rounded.
pub fn ybr_full_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = y as f32;
    let cb = cb as f32 - 128.0;
    let cr = cr as f32 - 128.0;
    let r = y + 1.402 * cr;
    let g = y - 0.344_136 * cb - 0.714_136 * cr;
    let b = y + 1.772 * cb;
    [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// Unpacks one frame of uncompressed YBR_FULL_422 (`Y0 Y1 Cb Cr` per
/// horizontal pixel pair, 8 bits) into interleaved RGB.
pub fn unpack_ybr_full_422(data: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    if !width.is_multiple_of(2) {
        return Err(format!(
            "YBR_FULL_422 needs an even number of columns, got {width}"
        ));
    }
    let need = width * height * 2;
    if data.len() < need {
        return Err(format!(
            "YBR_FULL_422 frame needs {need} bytes, got {}",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(width * height * 3);
    for q in data[..need].chunks_exact(4) {
        out.extend_from_slice(&ybr_full_to_rgb(q[0], q[2], q[3]));
        out.extend_from_slice(&ybr_full_to_rgb(q[1], q[2], q[3]));
    }
    Ok(out)
}

/// Three-sample frames (RGB / YBR), converted to 8-bit RGB by us.
fn read_color(
    path: &Path,
    pixels: &DecodedPixelData<'_>,
    color: ColorSamples,
) -> Result<Frames, IngestError> {
    let pixel_err = |message: String| IngestError::Pixels {
        path: path.to_path_buf(),
        message,
    };
    let (w, h) = (pixels.columns(), pixels.rows());
    let npix = w as usize * h as usize;
    let n = pixels.number_of_frames() as usize;
    let bytes_per_sample = match pixels.bits_allocated() {
        8 => 1,
        16 => 2,
        b => {
            return Err(IngestError::Unsupported {
                path: path.to_path_buf(),
                what: format!("{b} bits allocated for colour data"),
            });
        }
    };
    let data = pixels.data();
    let full_len = npix * 3 * bytes_per_sample;
    // Uncompressed YBR_FULL_422 is two bytes a pixel; accept the (non
    // standard) fully sampled layout too when the data is that long.
    let packed = color == ColorSamples::YbrFull422Packed
        && full_len.checked_mul(n).is_none_or(|all| data.len() < all);
    if packed && bytes_per_sample != 1 {
        return Err(IngestError::Unsupported {
            path: path.to_path_buf(),
            what: "16-bit YBR_FULL_422".into(),
        });
    }
    let frame_len = if packed { npix * 2 } else { full_len };
    check_length(path, data.len(), frame_len, n, (w, h))?;
    let planar = pixels.planar_configuration() == PlanarConfiguration::PixelFirst;
    let shift = pixels.bits_stored().clamp(8, 16) - 8;
    let mut rgb = Vec::with_capacity(n);
    for f in 0..n {
        let raw = &data[f * frame_len..(f + 1) * frame_len];
        let buf = if packed {
            unpack_ybr_full_422(raw, w as usize, h as usize).map_err(pixel_err)?
        } else {
            // 8-bit samples, interleaved R G B (or Y Cb Cr).
            let samples: Vec<u8> = if bytes_per_sample == 1 {
                raw.to_vec()
            } else {
                raw.chunks_exact(2)
                    .map(|b| (u16::from_le_bytes([b[0], b[1]]) >> shift).min(255) as u8)
                    .collect()
            };
            let mut inter = if planar {
                let (r, rest) = samples.split_at(npix);
                let (g, b) = rest.split_at(npix);
                (0..npix).flat_map(|i| [r[i], g[i], b[i]]).collect()
            } else {
                samples
            };
            if color == ColorSamples::YbrFull || color == ColorSamples::YbrFull422Packed {
                for p in inter.chunks_exact_mut(3) {
                    p.copy_from_slice(&ybr_full_to_rgb(p[0], p[1], p[2]));
                }
            }
            inter
        };
        let img = RgbImage::from_raw(w, h, buf)
            .ok_or_else(|| pixel_err(format!("frame {f}: buffer does not match {w}x{h}")))?;
        rgb.push(img);
    }
    frames_from(path, Vec::new(), rgb)
}

fn read_palette(
    path: &Path,
    obj: &DefaultDicomObject,
    pixels: &DecodedPixelData<'_>,
) -> Result<Frames, IngestError> {
    if pixels.samples_per_pixel() != 1 {
        return Err(IngestError::Unsupported {
            path: path.to_path_buf(),
            what: format!(
                "PALETTE COLOR with {} samples per pixel",
                pixels.samples_per_pixel()
            ),
        });
    }
    let bits = pixels.bits_allocated();
    if bits != 8 && bits != 16 {
        return Err(IngestError::Unsupported {
            path: path.to_path_buf(),
            what: format!("PALETTE COLOR with {bits} bits allocated"),
        });
    }
    let signed = pixels.pixel_representation() == PixelRepresentation::Signed;
    let luts = palette_luts(obj, signed).map_err(|message| IngestError::Palette {
        path: path.to_path_buf(),
        message,
    })?;
    let (w, h) = (pixels.columns(), pixels.rows());
    let frame_len = w as usize * h as usize * (bits as usize / 8);
    let n = pixels.number_of_frames() as usize;
    let data = pixels.data();
    check_length(path, data.len(), frame_len, n, (w, h))?;
    let mut rgb = Vec::with_capacity(n);
    for f in 0..n {
        let frame = &data[f * frame_len..(f + 1) * frame_len];
        let values = stored_values(frame, bits, pixels.bits_stored(), pixels.high_bit(), signed);
        let img = RgbImage::from_raw(w, h, apply_palette(&values, &luts)).ok_or_else(|| {
            IngestError::Pixels {
                path: path.to_path_buf(),
                message: format!("frame {f}: buffer does not match {w}x{h}"),
            }
        })?;
        rgb.push(img);
    }
    frames_from(path, Vec::new(), rgb)
}

/// Checks that `have` bytes hold `n` frames of `frame_len` bytes.
fn check_length(
    path: &Path,
    have: usize,
    frame_len: usize,
    n: usize,
    (w, h): (u32, u32),
) -> Result<(), IngestError> {
    match frame_len.checked_mul(n) {
        Some(need) if have >= need => Ok(()),
        need => Err(IngestError::Pixels {
            path: path.to_path_buf(),
            message: format!(
                "pixel data has {have} bytes, {n} frames of {w}x{h} need {}",
                need.map_or_else(|| "more".to_string(), |b| b.to_string())
            ),
        }),
    }
}

//! Reading real files into frames: DICOM (through dicom-rs) and PNG/JPEG stills.
//!
//! dicom-rs decodes the pixel data (native, RLE, JPEG baseline/extended/lossless
//! and, with the `openjp2` feature, JPEG 2000); we then turn the samples into
//! 8-bit frames ourselves where dicom-rs 0.10 falls short:
//!
//! * MONOCHROME1/2 go through dicom-rs (`to_dynamic_image`, forced to 8 bits),
//!   which applies the rescale, window and MONOCHROME1 inversion.
//! * PALETTE COLOR: dicom-rs hands back the raw indices; we apply the
//!   Red/Green/Blue Palette Color Lookup Tables ourselves, both the normal
//!   (0028,1201-1203) and the segmented (0028,1221-1223) form, 8- or 16-bit
//!   entries (16-bit entries are scaled to 8 bits as `v * 255 / 65535`,
//!   rounded).
//! * Three samples per pixel: a decoder that ran on encapsulated data makes
//!   dicom-rs relabel the result "RGB", whether or not the codec converted the
//!   colour space. JPEG baseline/extended (jpeg-decoder) and JPEG 2000 with
//!   the multi-component transform (YBR_RCT/YBR_ICT) really deliver RGB; RLE,
//!   JPEG lossless, JPEG-LS and JPEG 2000 labelled YBR_FULL still hold Y Cb Cr,
//!   so [`effective_color`] decides from the original photometric
//!   interpretation plus the transfer syntax, and we convert where needed.
//! * Uncompressed YBR_FULL_422 stores `Y0 Y1 Cb Cr` per pixel pair (two bytes
//!   a pixel), which dicom-rs 0.10 reads as three samples a pixel and fails
//!   on; we unpack it ourselves.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, Tag, open_file};
use dicom_pixeldata::{
    BitDepthOption, ConvertOptions, DecodedPixelData, PixelDecoder, PixelRepresentation,
    PlanarConfiguration,
};
use image::{DynamicImage, GrayImage, RgbImage};

use crate::dataset::Frames;

/// Why a file could not be read into frames.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable DICOM file: {message}")]
    Dicom { path: PathBuf, message: String },
    #[error("{path}: cannot decode pixel data: {message}")]
    Pixels { path: PathBuf, message: String },
    #[error("{path}: bad palette colour lookup table: {message}")]
    Palette { path: PathBuf, message: String },
    #[error("{path}: {what} is not supported yet")]
    Unsupported { path: PathBuf, what: String },
    #[error("{path}: not an image sonomask reads (DICOM, PNG or JPEG): {message}")]
    BadImage { path: PathBuf, message: String },
    #[error("{path}: frames differ in size")]
    MixedSizes { path: PathBuf },
}

/// Whether the file starts like a DICOM Part 10 file (`DICM` at byte 128).
pub fn looks_like_dicom(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 132];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head[128..132] == b"DICM")
        .unwrap_or(false)
}

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

fn read_dicom_inner(path: &Path) -> Result<Frames, IngestError> {
    let obj = open_file(path).map_err(|e| IngestError::Dicom {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let pixels = obj.decode_pixel_data().map_err(|e| IngestError::Pixels {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    decode_frames(path, &obj, &pixels)
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

/// One channel of a palette colour lookup table, already scaled to 8 bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLut {
    /// The stored pixel value mapped to the first entry.
    pub first_mapped: i32,
    /// One 8-bit output value per entry (never empty).
    pub table: Vec<u8>,
}

impl ChannelLut {
    /// The output for a stored pixel value: below the first mapped value the
    /// first entry, past the end the last entry.
    pub fn lookup(&self, value: i32) -> u8 {
        let i = (value as i64 - self.first_mapped as i64).clamp(0, self.table.len() as i64 - 1);
        self.table[i as usize]
    }
}

/// The number of entries a descriptor's first value stands for (0 = 65536).
fn lut_entries(descriptor0: u16) -> usize {
    if descriptor0 == 0 {
        65536
    } else {
        descriptor0 as usize
    }
}

/// Scales raw LUT entries of `bits` bits to 8 bits (`v * 255 / max`, rounded;
/// for 16-bit entries that is `v * 255 / 65535`). Entries stored in 16-bit
/// words under an 8-bit descriptor but holding larger values are read as
/// 16-bit entries (a known encoder quirk).
fn scale_entries(raw: &[u32], bits: u16) -> Vec<u8> {
    let bits = if bits <= 8 && raw.iter().any(|&v| v > 255) {
        16
    } else {
        bits
    };
    let max = (1u64 << bits) - 1;
    raw.iter()
        .map(|&v| (((v as u64).min(max) * 255 + max / 2) / max) as u8)
        .collect()
}

/// Builds one channel from its descriptor (`[entries, first mapped, bits]`,
/// raw 16-bit values) and its LUT data bytes (little endian, as stored).
/// `signed` is Pixel Representation 1 (the first mapped value is then SS).
pub fn build_channel_lut(
    descriptor: [u16; 3],
    signed: bool,
    data: &[u8],
    segmented: bool,
) -> Result<ChannelLut, String> {
    let entries = lut_entries(descriptor[0]);
    let first_mapped = if signed {
        descriptor[1] as i16 as i32
    } else {
        descriptor[1] as i32
    };
    let bits = descriptor[2];
    if !(1..=16).contains(&bits) {
        return Err(format!(
            "descriptor says {bits} bits per entry (8 or 16 expected)"
        ));
    }
    let raw = if segmented {
        expand_segmented_bytes(data, entries, bits)?
    } else {
        plain_entries(data, entries, bits)?
    };
    Ok(ChannelLut {
        first_mapped,
        table: scale_entries(&raw, bits),
    })
}

/// Normal LUT data: `entries` values, one byte each (8-bit entries packed in
/// OW) or one 16-bit word each, told apart by the data length.
fn plain_entries(data: &[u8], entries: usize, bits: u16) -> Result<Vec<u32>, String> {
    if data.len() == 2 * entries {
        Ok(data
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
            .collect())
    } else if bits <= 8
        && (data.len() == entries || (entries % 2 == 1 && data.len() == entries + 1))
    {
        Ok(data[..entries].iter().map(|&b| b as u32).collect())
    } else {
        Err(format!(
            "LUT data has {} bytes but the descriptor says {entries} entries of {bits} bits",
            data.len()
        ))
    }
}

/// Segmented LUT data (PS3.3 C.7.9.2). Fields are as wide as the entries:
/// 16-bit words for 16-bit entries; for 8-bit entries bytes are tried first,
/// then 16-bit words.
fn expand_segmented_bytes(data: &[u8], entries: usize, bits: u16) -> Result<Vec<u32>, String> {
    let words: Vec<u32> = data
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
        .collect();
    if bits <= 8 {
        let bytes: Vec<u32> = data.iter().map(|&b| b as u32).collect();
        match expand_segmented(&bytes, entries, 1) {
            Ok(v) => return Ok(v),
            Err(e) => {
                if !data.len().is_multiple_of(2) {
                    return Err(e);
                }
            }
        }
    } else if !data.len().is_multiple_of(2) {
        return Err(format!(
            "segmented LUT data has an odd length ({} bytes)",
            data.len()
        ));
    }
    expand_segmented(&words, entries, 2)
}

/// Expands segmented LUT data given as fields (`unit` bytes each) into
/// exactly `entries` raw values. Discrete (0), linear (1) and indirect (2)
/// segments; the indirect segment's offset is a byte offset from the start of
/// the data and it may not point at another indirect segment.
pub fn expand_segmented(fields: &[u32], entries: usize, unit: usize) -> Result<Vec<u32>, String> {
    let mut out = Vec::with_capacity(entries);
    // Indirect segments may copy empty segments over and over; no sane LUT
    // needs more segment expansions than this.
    let mut budget = fields.len() + 2 * entries;
    let mut pos = 0;
    while pos < fields.len() {
        // A single trailing zero pads the data to an even length.
        if pos + 1 == fields.len() && fields[pos] == 0 {
            break;
        }
        pos = expand_segment(fields, pos, &mut out, entries, unit, true, &mut budget)?;
    }
    if out.len() != entries {
        return Err(format!(
            "segmented LUT expands to {} entries but the descriptor says {entries}",
            out.len()
        ));
    }
    Ok(out)
}

/// Expands the segment at `pos` onto `out`; returns where the next starts.
fn expand_segment(
    fields: &[u32],
    pos: usize,
    out: &mut Vec<u32>,
    entries: usize,
    unit: usize,
    allow_indirect: bool,
    budget: &mut usize,
) -> Result<usize, String> {
    *budget = budget
        .checked_sub(1)
        .ok_or_else(|| "segmented LUT has too many (indirect) segments".to_string())?;
    let field = |i: usize| {
        fields.get(i).copied().ok_or_else(|| {
            format!(
                "segmented LUT data truncated at field {i} of {}",
                fields.len()
            )
        })
    };
    let opcode = field(pos)?;
    let length = field(pos + 1)? as usize;
    let body = pos + 2;
    let room = |n: usize, out: &Vec<u32>| {
        if out.len() + n > entries {
            Err(format!(
                "segmented LUT expands past the {entries} entries of the descriptor"
            ))
        } else {
            Ok(())
        }
    };
    match opcode {
        0 => {
            let seg = fields.get(body..body + length).ok_or_else(|| {
                format!("discrete segment at field {pos} runs past the end of the data")
            })?;
            room(length, out)?;
            out.extend_from_slice(seg);
            Ok(body + length)
        }
        1 => {
            let y1 = field(body)? as i64;
            let y0 = *out
                .last()
                .ok_or_else(|| "segmented LUT starts with a linear segment".to_string())?
                as i64;
            room(length, out)?;
            for i in 1..=length as i64 {
                let v = y0 as f64 + (y1 - y0) as f64 * i as f64 / length as f64;
                out.push(v.round() as u32);
            }
            Ok(body + 1)
        }
        2 if allow_indirect => {
            if out.is_empty() {
                return Err("segmented LUT starts with an indirect segment".into());
            }
            let offset = (field(body)? | (field(body + 1)? << 16)) as usize;
            if !offset.is_multiple_of(unit) {
                return Err(format!(
                    "indirect segment offset {offset} is not a multiple of {unit}"
                ));
            }
            let mut p = offset / unit;
            for _ in 0..length {
                if p >= fields.len() {
                    return Err(format!(
                        "indirect segment offset {offset} points past the end of the data"
                    ));
                }
                p = expand_segment(fields, p, out, entries, unit, false, budget)?;
            }
            Ok(body + 2)
        }
        2 => Err("an indirect segment points at another indirect segment".into()),
        op => Err(format!("unknown segment type {op} at field {pos}")),
    }
}

/// Bytes of a LUT data element as stored (little endian), whatever value
/// type dicom-rs parsed it into.
fn element_bytes(obj: &DefaultDicomObject, tag: Tag) -> Result<Option<Vec<u8>>, String> {
    let Some(elem) = obj.element_opt(tag).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let bytes = elem.to_bytes().map_err(|e| format!("{tag}: {e}"))?;
    if cfg!(target_endian = "big") && elem.vr().to_string() != "UN" {
        // dicom-rs keeps 16-bit values in native order.
        return Ok(Some(
            bytes.chunks_exact(2).flat_map(|b| [b[1], b[0]]).collect(),
        ));
    }
    Ok(Some(bytes.into_owned()))
}

/// A palette descriptor as three raw 16-bit values (US or SS, or UN bytes).
fn descriptor(obj: &DefaultDicomObject, tag: Tag) -> Result<[u16; 3], String> {
    let elem = obj
        .element_opt(tag)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{tag}: descriptor missing"))?;
    let values: Vec<u16> = if elem.vr().to_string() == "UN" {
        let b = elem.to_bytes().map_err(|e| format!("{tag}: {e}"))?;
        b.chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    } else {
        elem.to_multi_int::<i32>()
            .map_err(|e| format!("{tag}: {e}"))?
            .into_iter()
            .map(|v| {
                u16::try_from(v)
                    .or_else(|_| i16::try_from(v).map(|s| s as u16))
                    .map_err(|_| format!("{tag}: value {v} out of range"))
            })
            .collect::<Result<_, _>>()?
    };
    match values[..] {
        [a, b, c, ..] => Ok([a, b, c]),
        _ => Err(format!(
            "{tag}: descriptor has {} values, 3 expected",
            values.len()
        )),
    }
}

/// The three channel LUTs (red, green, blue) of a PALETTE COLOR object.
pub fn palette_luts(obj: &DefaultDicomObject, signed: bool) -> Result<[ChannelLut; 3], String> {
    let channels = [
        (
            "red",
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        ),
        (
            "green",
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        ),
        (
            "blue",
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        ),
    ];
    let mut luts = Vec::with_capacity(3);
    for (name, desc_tag, data_tag, seg_tag) in channels {
        let desc = descriptor(obj, desc_tag).map_err(|e| format!("{name}: {e}"))?;
        let (data, segmented) = match element_bytes(obj, data_tag)? {
            Some(d) => (d, false),
            None => match element_bytes(obj, seg_tag)? {
                Some(d) => (d, true),
                None => return Err(format!("{name}: no (segmented) lookup table data")),
            },
        };
        luts.push(
            build_channel_lut(desc, signed, &data, segmented)
                .map_err(|e| format!("{name}: {e}"))?,
        );
    }
    let [r, g, b]: [ChannelLut; 3] = luts
        .try_into()
        .map_err(|_| "expected three channels".to_string())?;
    Ok([r, g, b])
}

/// Stored pixel values of one frame of single-sample data: the `bits_stored`
/// bits ending at `high_bit`, sign-extended when `signed`.
pub fn stored_values(
    frame: &[u8],
    bits_allocated: u16,
    bits_stored: u16,
    high_bit: u16,
    signed: bool,
) -> Vec<i32> {
    let bits_stored = bits_stored.clamp(1, bits_allocated) as u32;
    let shift = (high_bit as u32 + 1)
        .saturating_sub(bits_stored)
        .min(bits_allocated as u32 - bits_stored);
    let mask = (1u32 << bits_stored) - 1;
    let value = move |raw: u32| {
        let v = (raw >> shift) & mask;
        if signed && v & (1 << (bits_stored - 1)) != 0 {
            v as i32 - (1i32 << bits_stored)
        } else {
            v as i32
        }
    };
    if bits_allocated == 8 {
        frame.iter().map(|&b| value(b as u32)).collect()
    } else {
        frame
            .chunks_exact(2)
            .map(|b| value(u16::from_le_bytes([b[0], b[1]]) as u32))
            .collect()
    }
}

/// Applies the three channel LUTs to stored values: interleaved 8-bit RGB.
pub fn apply_palette(values: &[i32], luts: &[ChannelLut; 3]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| [luts[0].lookup(v), luts[1].lookup(v), luts[2].lookup(v)])
        .collect()
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

fn frames_from(
    path: &Path,
    gray: Vec<GrayImage>,
    rgb: Vec<RgbImage>,
) -> Result<Frames, IngestError> {
    let frames = if rgb.is_empty() {
        Frames::Gray(gray)
    } else if gray.is_empty() {
        Frames::Rgb(rgb)
    } else {
        return Err(IngestError::MixedSizes {
            path: path.to_path_buf(),
        });
    };
    let same = match &frames {
        Frames::Gray(v) => v.windows(2).all(|w| w[0].dimensions() == w[1].dimensions()),
        Frames::Rgb(v) => v.windows(2).all(|w| w[0].dimensions() == w[1].dimensions()),
    };
    if !same || frames.is_empty() {
        return Err(IngestError::MixedSizes {
            path: path.to_path_buf(),
        });
    }
    Ok(frames)
}

/// Reads a PNG or JPEG still as one frame (grey stays grey).
pub fn read_still(path: &Path) -> Result<Frames, IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let img = image::load_from_memory(&bytes).map_err(|e| IngestError::BadImage {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(match img {
        DynamicImage::ImageLuma8(g) => Frames::Gray(vec![g]),
        DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => Frames::Gray(vec![img.into_luma8()]),
        other => Frames::Rgb(vec![other.into_rgb8()]),
    })
}

/// Reads any supported file: DICOM by content, else PNG/JPEG.
pub fn read_any(path: &Path) -> Result<Frames, IngestError> {
    if looks_like_dicom(path) {
        read_dicom(path)
    } else {
        read_still(path)
    }
}

/// Whether folder recursion should pick this file up: DICOM by content, or a
/// `.png` / `.jpg` / `.jpeg` name (any case).
pub fn is_ingestible(path: &Path) -> bool {
    let still = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| {
            ["png", "jpg", "jpeg"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
        .unwrap_or(false);
    still || looks_like_dicom(path)
}

/// A clip id derived from a file name: its stem with every character outside
/// `[A-Za-z0-9_-]` replaced by `_`, at most 64 characters.
pub fn clip_id_for(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() {
        id.push_str("clip");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::uids;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

    fn words(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn ids_are_sanitised() {
        assert_eq!(clip_id_for(Path::new("/x/a b.c.dcm")), "a_b_c");
        assert_eq!(clip_id_for(Path::new("/x/.dcm")), "_dcm");
    }

    #[test]
    fn garbage_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junk.dcm");
        let mut bytes = vec![0u8; 128];
        bytes.extend_from_slice(b"DICM");
        bytes.extend_from_slice(&[0xff; 40]);
        std::fs::write(&p, &bytes).unwrap();
        assert!(looks_like_dicom(&p));
        assert!(matches!(
            read_any(&p),
            Err(IngestError::Dicom { .. } | IngestError::Pixels { .. })
        ));
        let q = dir.path().join("junk.png");
        std::fs::write(&q, b"nope").unwrap();
        assert!(matches!(read_any(&q), Err(IngestError::BadImage { .. })));
    }

    #[test]
    fn folder_filter_by_magic_and_extension() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut dicm = vec![0u8; 128];
        dicm.extend_from_slice(b"DICM");
        std::fs::write(d.join("IM0001"), &dicm).unwrap();
        for name in [
            "a.PNG",
            "b.jpg",
            "c.JpEg",
            "notes.txt",
            "Thumbs.db",
            "noext",
        ] {
            std::fs::write(d.join(name), b"x").unwrap();
        }
        let picked: Vec<bool> = [
            "IM0001",
            "a.PNG",
            "b.jpg",
            "c.JpEg",
            "notes.txt",
            "Thumbs.db",
            "noext",
        ]
        .iter()
        .map(|n| is_ingestible(&d.join(n)))
        .collect();
        assert_eq!(picked, [true, true, true, true, false, false, false]);
    }

    #[test]
    fn lut_8bit_packed_clamps_below_and_above() {
        // 4 entries, first mapped value 10, 8 bits, packed two a word.
        let lut = build_channel_lut([4, 10, 8], false, &[0, 50, 100, 250], false).unwrap();
        assert_eq!(lut.table, [0, 50, 100, 250]);
        let got: Vec<u8> = [0, 9, 10, 11, 12, 13, 14, 255]
            .iter()
            .map(|&v| lut.lookup(v))
            .collect();
        assert_eq!(got, [0, 0, 0, 50, 100, 250, 250, 250]);
        // An odd number of packed entries is padded to an even length.
        let odd = build_channel_lut([3, 0, 8], false, &[7, 8, 9, 0], false).unwrap();
        assert_eq!(odd.table, [7, 8, 9]);
    }

    #[test]
    fn lut_8bit_entries_in_16bit_words() {
        let lut = build_channel_lut([4, 0, 8], false, &words(&[0, 50, 100, 250]), false).unwrap();
        assert_eq!(lut.table, [0, 50, 100, 250]);
        // Larger values under an 8-bit descriptor are really 16-bit entries.
        let quirk = build_channel_lut([2, 0, 8], false, &words(&[0x0000, 0xffff]), false).unwrap();
        assert_eq!(quirk.table, [0, 255]);
    }

    #[test]
    fn lut_16bit_is_scaled_to_8bit_rounded() {
        let lut = build_channel_lut(
            [5, 0, 16],
            false,
            &words(&[0, 0x8080, 0xffff, 0x7f80, 0x0080]),
            false,
        )
        .unwrap();
        // v * 255 / 65535 rounded: 0x8080 -> 128, 0x7f80 -> 127.5.. -> 127, 128 -> 0.498 -> 0
        assert_eq!(lut.table, [0, 128, 255, 127, 0]);
        // Signed pixel data: the first mapped value is SS.
        let signed =
            build_channel_lut([2, (-5i16) as u16, 16], true, &words(&[0, 0xffff]), false).unwrap();
        assert_eq!(signed.first_mapped, -5);
        assert_eq!(
            (signed.lookup(-6), signed.lookup(-4), signed.lookup(100)),
            (0, 255, 255)
        );
    }

    #[test]
    fn lut_zero_entries_means_65536() {
        let data: Vec<u16> = (0..=u16::MAX).collect();
        let lut = build_channel_lut([0, 0, 16], false, &words(&data), false).unwrap();
        assert_eq!(lut.table.len(), 65536);
        assert_eq!(
            (
                lut.lookup(0),
                lut.lookup(257),
                lut.lookup(256),
                lut.lookup(65535)
            ),
            (0, 1, 1, 255)
        );
        // 65536 entries need 131072 bytes; fewer is an error, not a panic.
        assert!(build_channel_lut([0, 0, 16], false, &words(&data[..1000]), false).is_err());
        // And the segmented form must expand to 65536 entries too.
        let seg = words(&[0, 1, 0, 1, 65535, 0xffff]);
        let lut = build_channel_lut([0, 0, 16], false, &seg, true).unwrap();
        assert_eq!(lut.table.len(), 65536);
        assert_eq!(
            (lut.lookup(0), lut.lookup(32768), lut.lookup(65535)),
            (0, 128, 255)
        );
    }

    #[test]
    fn segmented_discrete_linear_and_indirect() {
        let fields: Vec<u32> = vec![
            0, 2, 0, 1000, // 0: discrete 0, 1000
            1, 4, 5000, // 4: linear to 5000 in 4 steps: 2000 3000 4000 5000
            0, 3, 100, 200, 300, // 7: discrete 100 200 300
            2, 1, 8,
            0, // 12: indirect, one segment at byte offset 8 (field 4): linear 300 -> 5000
        ];
        let out = expand_segmented(&fields, 13, 2).unwrap();
        assert_eq!(
            out,
            [
                0, 1000, 2000, 3000, 4000, 5000, 100, 200, 300, 1475, 2650, 3825, 5000
            ]
        );
        // Through the byte layer (16-bit fields) and the 8-bit scaling.
        let bytes = words(&fields.iter().map(|&f| f as u16).collect::<Vec<_>>());
        let lut = build_channel_lut([13, 0, 16], false, &bytes, true).unwrap();
        assert_eq!(lut.table.len(), 13);
        assert_eq!(lut.table[5] as u32, (5000 * 255 + 32767) / 65535);
        // A trailing zero word pads an odd number of fields.
        let mut padded = fields.clone();
        padded.push(0);
        assert_eq!(expand_segmented(&padded, 13, 2).unwrap().len(), 13);
    }

    #[test]
    fn segmented_8bit_fields_are_bytes() {
        // discrete [10, 20], linear to 60 in 4: 30 40 50 60; one pad byte.
        let data = [0u8, 2, 10, 20, 1, 4, 60, 0];
        let lut = build_channel_lut([6, 0, 8], false, &data, true).unwrap();
        assert_eq!(lut.table, [10, 20, 30, 40, 50, 60]);
        // The same LUT written with 16-bit fields is accepted too.
        let lut =
            build_channel_lut([6, 0, 8], false, &words(&[0, 2, 10, 20, 1, 4, 60]), true).unwrap();
        assert_eq!(lut.table, [10, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn malformed_luts_are_errors() {
        let bad = |desc: [u16; 3], data: &[u8], seg: bool| {
            build_channel_lut(desc, false, data, seg).is_err()
        };
        // Plain data shorter / longer than the descriptor says.
        assert!(bad([256, 0, 16], &words(&[1; 100]), false));
        assert!(bad([4, 0, 16], &words(&[1; 5]), false));
        assert!(bad([4, 0, 16], &[1, 2, 3, 4], false)); // bytes under a 16-bit descriptor
        assert!(bad([4, 0, 8], &[], false));
        // Bits per entry out of range.
        assert!(bad([2, 0, 0], &words(&[1, 2]), false));
        assert!(bad([2, 0, 17], &words(&[1, 2]), false));
        // Segmented: truncated discrete segment, truncated header, linear first,
        // indirect first, unknown opcode, wrong total, indirect to indirect,
        // indirect past the end, odd offset, odd byte count.
        assert!(bad([4, 0, 16], &words(&[0, 4, 1, 2]), true));
        assert!(bad([4, 0, 16], &words(&[0, 1, 5, 1]), true));
        assert!(bad([4, 0, 16], &words(&[1, 4, 100]), true));
        assert!(bad([4, 0, 16], &words(&[2, 1, 0, 0]), true));
        assert!(bad([4, 0, 16], &words(&[0, 1, 5, 3, 3, 1, 2, 3]), true));
        assert!(bad([4, 0, 16], &words(&[0, 3, 1, 2, 3]), true));
        assert!(bad([4, 0, 16], &words(&[0, 5, 1, 2, 3, 4, 5]), true));
        assert!(bad(
            [8, 0, 16],
            &words(&[0, 1, 5, 2, 1, 6, 0, 2, 1, 12, 0]),
            true
        ));
        assert!(bad([4, 0, 16], &words(&[0, 1, 5, 2, 1, 200, 0]), true));
        assert!(bad([4, 0, 16], &words(&[0, 1, 5, 2, 1, 3, 0]), true));
        assert!(bad([4, 0, 16], &[0, 0, 4, 0, 1], true));
        // Indirect segments cannot blow the expansion past the descriptor...
        let bomb = [0u16, 1, 7, 1, 60000, 7, 2, 2, 0, 0, 2, 2, 0, 0];
        let e = build_channel_lut([0, 0, 16], false, &words(&bomb), true).unwrap_err();
        assert!(e.contains("past the 65536 entries"), "{e}");
        // ...nor spin on empty segments copied again and again.
        let mut spin = vec![0u16, 1, 7];
        spin.extend([0, 0].repeat(1000));
        spin.extend([2, 1000, 6, 0].repeat(1000));
        let e = build_channel_lut([1, 0, 16], false, &words(&spin), true).unwrap_err();
        assert!(e.contains("too many"), "{e}");
    }

    #[test]
    fn stored_values_mask_and_sign_extend() {
        // 12 bits stored in 16, high bit 11: the top nibble is overlay junk.
        let v = stored_values(&words(&[0xf123, 0x0fff]), 16, 12, 11, false);
        assert_eq!(v, [0x123, 0xfff]);
        let v = stored_values(&words(&[0x0fff, 0x0800]), 16, 12, 11, true);
        assert_eq!(v, [-1, -2048]);
        assert_eq!(stored_values(&[0, 255], 8, 8, 7, false), [0, 255]);
    }

    #[test]
    fn palette_applies_per_channel() {
        let r = build_channel_lut([2, 0, 8], false, &[0, 255], false).unwrap();
        let g = build_channel_lut([2, 0, 8], false, &[10, 20], false).unwrap();
        let b = build_channel_lut([2, 1, 8], false, &[30, 40], false).unwrap();
        assert_eq!(
            apply_palette(&[0, 1, 2], &[r, g, b]),
            [0, 10, 30, 255, 20, 30, 255, 20, 40]
        );
    }

    #[test]
    fn ybr_full_422_unpacks_pairs() {
        // Two pairs: grey (Cb = Cr = 128) and a red-ish pair.
        let data = [10, 200, 128, 128, 76, 76, 85, 255];
        let rgb = unpack_ybr_full_422(&data, 2, 2).unwrap();
        assert_eq!(&rgb[..6], &[10, 10, 10, 200, 200, 200]);
        assert_eq!(&rgb[6..9], &ybr_full_to_rgb(76, 85, 255));
        // Y 76, Cb 85, Cr 255 is (almost) pure red: 76 + 1.402 * 127 = 254.05.
        assert_eq!(ybr_full_to_rgb(76, 85, 255), [254, 0, 0]);
        assert_eq!(&rgb[6..9], &rgb[9..12]);
        assert!(unpack_ybr_full_422(&data, 3, 1).is_err());
        assert!(unpack_ybr_full_422(&data[..6], 2, 2).is_err());
    }

    #[test]
    fn color_decision_by_pi_and_transfer_syntax() {
        use ColorSamples::*;
        let jpeg = "1.2.840.10008.1.2.4.50";
        let j2k = "1.2.840.10008.1.2.4.90";
        let rle = "1.2.840.10008.1.2.5";
        let native = "1.2.840.10008.1.2.1";
        assert_eq!(effective_color("YBR_FULL_422", "RGB", jpeg), Some(Rgb));
        assert_eq!(effective_color("YBR_RCT", "RGB", j2k), Some(Rgb));
        assert_eq!(
            effective_color("YBR_ICT", "RGB", "1.2.840.10008.1.2.4.91"),
            Some(Rgb)
        );
        assert_eq!(effective_color("YBR_FULL", "RGB", j2k), Some(YbrFull));
        assert_eq!(effective_color("YBR_FULL", "RGB", rle), Some(YbrFull));
        assert_eq!(effective_color("RGB", "RGB", rle), Some(Rgb));
        assert_eq!(
            effective_color("YBR_FULL", "RGB", "1.2.840.10008.1.2.4.70"),
            Some(YbrFull)
        );
        assert_eq!(
            effective_color("YBR_FULL", "YBR_FULL", native),
            Some(YbrFull)
        );
        assert_eq!(
            effective_color("YBR_FULL_422", "YBR_FULL_422", native),
            Some(YbrFull422Packed)
        );
        assert_eq!(
            effective_color("YBR_PARTIAL_420", "YBR_PARTIAL_420", native),
            None
        );
    }

    /// A minimal single-frame image file, explicit VR little endian.
    fn write_image(
        path: &Path,
        pi: &str,
        spp: u16,
        bits: u16,
        (w, h): (u16, u16),
        extra: Vec<DataElement<InMemDicomObject>>,
    ) {
        let mut obj = InMemDicomObject::new_empty();
        let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
        obj.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.6.1"),
        ));
        obj.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.1234"),
        ));
        obj.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(pi),
        ));
        obj.put(us(tags::SAMPLES_PER_PIXEL, spp));
        obj.put(us(tags::ROWS, h));
        obj.put(us(tags::COLUMNS, w));
        obj.put(us(tags::BITS_ALLOCATED, bits));
        obj.put(us(tags::BITS_STORED, bits));
        obj.put(us(tags::HIGH_BIT, bits - 1));
        obj.put(us(tags::PIXEL_REPRESENTATION, 0));
        if spp == 3 {
            obj.put(us(tags::PLANAR_CONFIGURATION, 0));
        }
        for e in extra {
            obj.put(e);
        }
        let file = obj
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
            .unwrap();
        file.write_to_file(path).unwrap();
    }

    fn desc(tag: Tag, v: [u16; 3]) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, VR::US, PrimitiveValue::U16(v.into_iter().collect()))
    }

    /// Bytes under an OW element (the tag is set by `with_tag`).
    fn ow_bytes(b: &[u8]) -> OwBytes {
        OwBytes(b.to_vec())
    }

    struct OwBytes(Vec<u8>);

    impl OwBytes {
        fn with_tag(self, tag: Tag) -> DataElement<InMemDicomObject> {
            DataElement::new(tag, VR::OW, PrimitiveValue::U8(self.0.into()))
        }
    }

    fn ow(tag: Tag, v: &[u16]) -> DataElement<InMemDicomObject> {
        DataElement::new(
            tag,
            VR::OW,
            PrimitiveValue::U16(v.iter().copied().collect()),
        )
    }

    #[test]
    fn palette_file_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pal.dcm");
        let pixels = DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![0u8, 1, 2, 3]),
        );
        let red: Vec<u16> = vec![0, 0x5555, 0xaaaa, 0xffff];
        write_image(
            &p,
            "PALETTE COLOR",
            1,
            8,
            (2, 2),
            vec![
                pixels,
                desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
                desc(
                    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                    [4, 0, 16],
                ),
                desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
                ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
                // green segmented: discrete 0, then linear to 0xffff over 3
                ow(
                    tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                    &[0, 1, 0, 1, 3, 0xffff],
                ),
                ow(
                    tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                    &[0xffff, 0xffff, 0, 0],
                ),
            ],
        );
        let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
            panic!("palette must come back as RGB")
        };
        assert_eq!(frames.len(), 1);
        assert_eq!(
            frames[0].as_raw(),
            &[0, 0, 255, 85, 85, 255, 170, 170, 0, 255, 255, 0]
        );

        // Red data one entry short: a typed palette error naming the file.
        let q = dir.path().join("bad.dcm");
        write_image(
            &q,
            "PALETTE COLOR",
            1,
            8,
            (2, 2),
            vec![
                DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PrimitiveValue::from(vec![0u8, 1, 2, 3]),
                ),
                desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
                desc(
                    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                    [4, 0, 16],
                ),
                desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
                ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red[..3]),
                ow(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
                ow(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
            ],
        );
        match read_dicom(&q) {
            Err(e @ IngestError::Palette { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("bad.dcm") && msg.contains("red"), "{msg}");
            }
            other => panic!("expected a palette error, got {other:?}"),
        }

        // No LUT at all: also a palette error.
        let r = dir.path().join("nolut.dcm");
        write_image(
            &r,
            "PALETTE COLOR",
            1,
            8,
            (2, 2),
            vec![DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![0u8, 1, 2, 3]),
            )],
        );
        assert!(matches!(read_dicom(&r), Err(IngestError::Palette { .. })));
    }

    #[test]
    fn monochrome1_multiframe_implicit_vr() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mono1.dcm");
        let mut obj = InMemDicomObject::new_empty();
        let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
        obj.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.6.1"),
        ));
        obj.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.99"),
        ));
        obj.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME1"),
        ));
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("2"),
        ));
        for (tag, v) in [
            (tags::SAMPLES_PER_PIXEL, 1),
            (tags::ROWS, 1),
            (tags::COLUMNS, 2),
            (tags::BITS_ALLOCATED, 8),
            (tags::BITS_STORED, 8),
            (tags::HIGH_BIT, 7),
            (tags::PIXEL_REPRESENTATION, 0),
        ] {
            obj.put(us(tag, v));
        }
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![0u8, 255, 100, 200]),
        ));
        obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::IMPLICIT_VR_LITTLE_ENDIAN))
            .unwrap()
            .write_to_file(&p)
            .unwrap();
        let Frames::Gray(frames) = read_dicom(&p).unwrap() else {
            panic!("MONOCHROME1 must come back grey")
        };
        assert_eq!(frames.len(), 2);
        // Inverted: a low stored value is bright.
        for f in &frames {
            let px = f.as_raw();
            assert!(px[0] > px[1], "{px:?}");
        }
        assert_eq!(frames[0].as_raw(), &[255, 0]);
    }

    #[test]
    fn palette_with_8bit_lut_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pal8.dcm");
        // 8-bit entries packed two to a 16-bit word (as OW stores them).
        let packed = |b: [u8; 4]| ow_bytes(&b);
        write_image(
            &p,
            "PALETTE COLOR",
            1,
            8,
            (4, 1),
            vec![
                DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PrimitiveValue::from(vec![0u8, 1, 2, 3]),
                ),
                desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 8]),
                desc(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 8]),
                desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 8]),
                packed([0, 85, 170, 255]).with_tag(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA),
                packed([1, 2, 3, 4]).with_tag(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA),
                packed([9, 9, 9, 9]).with_tag(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA),
            ],
        );
        let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
            panic!("palette must come back as RGB")
        };
        assert_eq!(
            frames[0].as_raw(),
            &[0, 1, 9, 85, 2, 9, 170, 3, 9, 255, 4, 9]
        );
    }

    #[test]
    fn palette_file_16bit_indices() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pal16.dcm");
        let lut: Vec<u16> = (0..=u16::MAX).collect();
        write_image(
            &p,
            "PALETTE COLOR",
            1,
            16,
            (3, 1),
            vec![
                ow(tags::PIXEL_DATA, &[0, 0x8000, 0xffff]),
                desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [0, 0, 16]),
                desc(
                    tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                    [0, 0, 16],
                ),
                desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [0, 0, 16]),
                ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &lut),
                ow(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, &lut),
                ow(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &lut),
            ],
        );
        let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
            panic!("palette must come back as RGB")
        };
        assert_eq!(frames[0].as_raw(), &[0, 0, 0, 128, 128, 128, 255, 255, 255]);
    }

    #[test]
    fn native_ybr_full_422_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ybr422.dcm");
        // 2x2: row 0 grey pair, row 1 red pair; 2 bytes a pixel.
        let data = vec![10u8, 200, 128, 128, 76, 76, 85, 255];
        write_image(
            &p,
            "YBR_FULL_422",
            3,
            8,
            (2, 2),
            vec![DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(data),
            )],
        );
        let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
            panic!("YBR must come back as RGB")
        };
        assert_eq!(
            frames[0].as_raw(),
            &[10, 10, 10, 200, 200, 200, 254, 0, 0, 254, 0, 0]
        );
        // Truncated pixel data is a typed error.
        let q = dir.path().join("short.dcm");
        write_image(
            &q,
            "YBR_FULL_422",
            3,
            8,
            (2, 2),
            vec![DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![1u8, 2, 3, 4]),
            )],
        );
        assert!(matches!(read_dicom(&q), Err(IngestError::Pixels { .. })));
    }

    #[test]
    fn native_ybr_full_and_planar_rgb_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ybr.dcm");
        write_image(
            &p,
            "YBR_FULL",
            3,
            8,
            (2, 1),
            vec![DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![76u8, 85, 255, 50, 128, 128]),
            )],
        );
        let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
            panic!()
        };
        assert_eq!(frames[0].as_raw(), &[254, 0, 0, 50, 50, 50]);

        // Planar configuration 1: RRGGBB.
        let q = dir.path().join("planar.dcm");
        write_image(
            &q,
            "RGB",
            3,
            8,
            (2, 1),
            vec![
                DataElement::new(
                    tags::PLANAR_CONFIGURATION,
                    VR::US,
                    PrimitiveValue::from(1u16),
                ),
                DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PrimitiveValue::from(vec![1u8, 2, 3, 4, 5, 6]),
                ),
            ],
        );
        let Frames::Rgb(frames) = read_dicom(&q).unwrap() else {
            panic!()
        };
        assert_eq!(frames[0].as_raw(), &[1, 3, 5, 2, 4, 6]);
    }
}

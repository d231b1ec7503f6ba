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

//!
//! [`dicom`] reads DICOM files (pixel data, colour spaces, multi-frame),
//! [`palette`] applies PALETTE COLOR lookup tables; stills and the folder
//! walk are here.

pub mod alloc_cap;
mod dicom;
pub mod limits;
mod palette;
pub mod raw_pass;
pub mod structure;
pub mod truth;

pub use dicom::{
    ColorSamples, catch_decoder_panic, check_encapsulated, declared_photometric, decode_frames,
    effective_color, open_dicom, open_dicom_bytes, read_dicom, read_dicom_bytes,
    unpack_ybr_full_422, ybr_full_to_rgb,
};
pub use palette::{
    ChannelLut, apply_palette, build_channel_lut, expand_segmented, palette_luts, stored_values,
};

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, RgbImage};

use crate::dataset::{self, ClipData, ClipEntry, DatasetError, Frames, FramesRef, Manifest};

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
    /// Sequences nested deeper than [`structure::MAX_SEQUENCE_DEPTH`]:
    /// refused before parsing (the parse recurses).
    #[error("{path}: sequences nested more than {max} deep: refused unread")]
    TooDeep { path: PathBuf, max: usize },
    /// A value whose declared length runs past the end of the file: refused
    /// before parsing (dicom-rs would allocate the declared length first).
    #[error(
        "{path}: {tag} claims {length} bytes, more than the file holds (cut short or lying): refused unread"
    )]
    LengthPastEnd {
        path: PathBuf,
        tag: String,
        length: u32,
    },
    /// Pixel data that would decode to more than sonomask holds in memory
    /// (see [`limits`]): refused before decoding.
    #[error("{path}: {what}: refused before decoding")]
    TooLarge { path: PathBuf, what: String },
    #[error("{path}: frames differ in size")]
    MixedSizes { path: PathBuf },
    #[error("{path}: no such file or folder")]
    Missing { path: PathBuf },
    #[error("none of the {files} input files could be read")]
    NothingRead { files: usize },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Truth(#[from] truth::TruthError),
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
    read_still_bytes(path, &bytes)
}

/// [`read_still`] on a file already in memory (`path` only names it in
/// errors; the fuzz target `still_image` feeds it).
pub fn read_still_bytes(path: &Path, bytes: &[u8]) -> Result<Frames, IngestError> {
    let img = decode_still(bytes).map_err(|e| IngestError::BadImage {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // Headers may declare a 0-pixel side (a PNM "P3 0 0" decodes to an
    // empty image; found by the fuzz target `dicom_source`): no frame.
    if img.width() == 0 || img.height() == 0 {
        return Err(IngestError::BadImage {
            path: path.to_path_buf(),
            message: format!("empty image ({}x{} pixels)", img.width(), img.height()),
        });
    }
    Ok(match img {
        DynamicImage::ImageLuma8(g) => Frames::Gray(vec![g]),
        DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => Frames::Gray(vec![img.into_luma8()]),
        other => Frames::Rgb(vec![other.into_rgb8()]),
    })
}

/// The largest still decoded, in bytes of decoded image (256 MiB: e.g.
/// 8192 × 8192 RGB with room to spare); wider or taller than 65535 pixels
/// is refused too (frames are masked with 16-bit sizes).
pub const MAX_STILL_BYTES: u64 = 256 << 20;

/// Decodes a PNG/JPEG with limits checked against its header before any
/// pixel is decoded: a JPEG claiming 65,000 × 65,000 pixels is refused,
/// not allocated.
fn decode_still(bytes: &[u8]) -> image::ImageResult<DynamicImage> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(65535);
    limits.max_image_height = Some(65535);
    limits.max_alloc = Some(MAX_STILL_BYTES);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits);
    reader.decode()
}

/// Reads any supported file: DICOM by content, else PNG/JPEG.
pub fn read_any(path: &Path) -> Result<Frames, IngestError> {
    if looks_like_dicom(path) {
        read_dicom(path)
    } else {
        read_still(path)
    }
}

/// [`read_any`] on a file already in memory (`path` only names it in
/// errors): DICOM when `DICM` is at byte 128, else PNG/JPEG.
pub fn read_any_bytes(path: &Path, bytes: &[u8]) -> Result<Frames, IngestError> {
    if bytes.get(128..132) == Some(b"DICM") {
        read_dicom_bytes(path, bytes)
    } else {
        read_still_bytes(path, bytes)
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

/// Adds `path` to `out`: a file named explicitly (`explicit`) always, a file
/// met while recursing into a folder only if it looks like DICOM (magic) or
/// is named .png/.jpg/.jpeg (any case). Folders are walked sorted by name.
pub fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|source| IngestError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, false, out)?;
        }
    } else if path.exists() {
        if explicit || is_ingestible(path) {
            out.push(path.to_path_buf());
        }
    } else {
        return Err(IngestError::Missing {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// What [`ingest_files`] did with one input file.
pub enum IngestEvent<'a> {
    /// Written as a clip.
    Clip {
        input: &'a Path,
        entry: &'a ClipEntry,
    },
    /// Unreadable or unsupported: reported and skipped, nothing written.
    Skipped {
        input: &'a Path,
        error: &'a IngestError,
    },
}

/// What [`ingest_files`] wrote.
#[derive(Debug)]
pub struct IngestSummary {
    /// Input files tried.
    pub files: usize,
    /// Clips written, in input order.
    pub clips: Vec<ClipEntry>,
    /// Files skipped.
    pub skipped: usize,
}

/// The folder inside an ingested dataset that holds the sector masks of the
/// clips that came with a label (a `--labels` folder for training).
pub const TRUTH_DIR: &str = "truth";

/// Reads every file of `files` into a clip of the dataset at `out` (one
/// clip per file, every frame of a multi-frame DICOM; ids from the file
/// names, made unique) and writes the manifest last, with `config` as the
/// record of what made it. `out` must be ready ([`dataset::prepare_out`]).
/// Fails when no file could be read.
///
/// With `truth` (a folder of sector labels, [`truth`]), a clip whose
/// `<id>.json` is there gets ground truth (`sector.png`, `overlay.png`), so
/// `sonomask eval` can score it, and its sector mask is also written as
/// `out/truth/<id>.png`, a label folder `sonomask train --labels` reads.
/// A label that exists but cannot be used is an error, not a skip.
pub fn ingest_files(
    files: &[PathBuf],
    out: &Path,
    config: serde_json::Value,
    truth: Option<&Path>,
    on_file: &mut dyn FnMut(IngestEvent<'_>),
) -> Result<IngestSummary, IngestError> {
    let mut clips = Vec::new();
    let mut skipped = 0usize;
    let mut used_ids = std::collections::HashSet::new();
    for f in files {
        let frames = match read_any(f) {
            Ok(fr) => fr,
            Err(error) => {
                on_file(IngestEvent::Skipped {
                    input: f,
                    error: &error,
                });
                skipped += 1;
                continue;
            }
        };
        let base = clip_id_for(f);
        let mut id = base.clone();
        let mut k = 1;
        while !used_ids.insert(id.clone()) {
            k += 1;
            id = format!("{base}-{k}");
        }
        let labelled = match truth {
            Some(dir) => truth::read_regions(dir, &id)?
                .map(|(path, regions)| {
                    truth::ClipTruth::new(&path, &regions, &frames).map(|t| (t, regions))
                })
                .transpose()?,
            None => None,
        };
        if let Some((t, _)) = &labelled {
            let dir = out.join(TRUTH_DIR);
            std::fs::create_dir_all(&dir).map_err(|source| DatasetError::Io {
                path: dir.clone(),
                source,
            })?;
            dataset::write_png(&dir.join(format!("{id}.png")), &t.sector)?;
        }
        let mut meta = serde_json::json!({ "id": id, "source": f, "frames": frames.len() });
        if let Some((_, regions)) = &labelled {
            // Where synthetic clips keep their exact geometry: what the
            // simulated annotator (`annotate --oracle`) draws from.
            meta["regions"] = serde_json::to_value(regions).unwrap_or_default();
        }
        let refs = match &frames {
            Frames::Gray(v) => FramesRef::Gray(v),
            Frames::Rgb(v) => FramesRef::Rgb(v),
        };
        let entry = dataset::write_clip(
            out,
            &ClipData {
                id: &id,
                frames: refs,
                sector: labelled.as_ref().map(|(t, _)| &t.sector),
                overlay: labelled.as_ref().map(|(t, _)| &t.overlay),
                meta,
            },
        )?;
        on_file(IngestEvent::Clip {
            input: f,
            entry: &entry,
        });
        clips.push(entry);
    }
    if clips.is_empty() {
        return Err(IngestError::NothingRead { files: files.len() });
    }
    dataset::write_manifest(
        out,
        &Manifest {
            format: dataset::FORMAT.into(),
            version: dataset::VERSION,
            created_by: "sonomask ingest".into(),
            config,
            clips: clips.clone(),
        },
    )?;
    Ok(IngestSummary {
        files: files.len(),
        clips,
        skipped,
    })
}

#[cfg(test)]
mod tests;

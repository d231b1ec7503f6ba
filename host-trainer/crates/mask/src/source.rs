//! An input file read for masking: the 8-bit frames the model sees, and for
//! DICOM also the opened object and the stored samples that get masked and
//! written back.
//!
//! The stored samples stay in the file's own representation wherever a
//! black fill value exists in it, so masking changes pixels and nothing
//! else: grey data keeps its bit depth, rescale and window (the fill is the
//! stored value that displays darkest: the minimum for MONOCHROME2, the
//! maximum for MONOCHROME1), PALETTE COLOR keeps its indices and LUTs (the
//! fill is the lowest index whose entry is black). Colour data is written
//! as 8-bit interleaved RGB: encapsulated YBR cannot be written back
//! uncompressed as it was, and our decoder already converted it. A palette
//! without a black entry is written as RGB too.

use std::path::Path;

use dicom_object::DefaultDicomObject;
use dicom_pixeldata::{DecodedPixelData, PixelDecoder, PixelRepresentation};

use sonomask_data::dataset::Frames;
use sonomask_data::ingest::{self, IngestError};

use super::us_regions::{self, UsRegion};

/// How the masked samples are stored in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputSamples {
    /// As the file stored them (samples per pixel, bits, photometric
    /// interpretation, palette unchanged).
    AsStored,
    /// 8-bit interleaved RGB (the photometric attributes are rewritten).
    Rgb8,
}

/// The stored samples of every frame, uncompressed, ready to mask.
#[derive(Clone, Debug)]
pub struct NativePixels {
    /// All frames back to back, little endian.
    pub data: Vec<u8>,
    pub frames: usize,
    pub width: u16,
    pub height: u16,
    /// Bytes of one pixel (all samples).
    pub bytes_per_pixel: usize,
    /// One pixel's bytes that display black.
    pub fill: Vec<u8>,
    pub samples: OutputSamples,
}

impl NativePixels {
    /// Bytes of one frame.
    pub fn frame_len(&self) -> usize {
        self.width as usize * self.height as usize * self.bytes_per_pixel
    }
}

/// An opened DICOM file.
pub struct DicomSource {
    pub obj: DefaultDicomObject,
    pub native: NativePixels,
    /// The declared photometric interpretation (before decoding).
    pub photometric: String,
    /// The scan regions the file declares (Sequence of Ultrasound Regions).
    pub us_regions: Vec<UsRegion>,
}

/// A file read for masking.
pub struct Source {
    /// 8-bit grey or RGB frames: what the model sees and previews show.
    pub frames: Frames,
    /// `Some` for DICOM input.
    pub dicom: Option<DicomSource>,
}

impl Source {
    /// `(width, height)` of the frames.
    pub fn size(&self) -> (u32, u32) {
        match &self.frames {
            Frames::Gray(v) => v.first().map_or((0, 0), |f| f.dimensions()),
            Frames::Rgb(v) => v.first().map_or((0, 0), |f| f.dimensions()),
        }
    }
}

/// Reads `path` for masking: DICOM by content, else a PNG/JPEG still.
pub fn read(path: &Path) -> Result<Source, IngestError> {
    if ingest::looks_like_dicom(path) {
        ingest::catch_decoder_panic(path, || read_dicom(path))
    } else {
        Ok(Source {
            frames: ingest::read_still(path)?,
            dicom: None,
        })
    }
}

/// [`read`] on a file already in memory (`path` only names it in errors):
/// the same parse, decode and stored-sample extraction, for the fuzz
/// target `dicom_source` and callers that hold the bytes.
pub fn read_bytes(path: &Path, bytes: &[u8]) -> Result<Source, IngestError> {
    if bytes.get(128..132) == Some(b"DICM") {
        ingest::catch_decoder_panic(path, || {
            source_of_object(path, ingest::open_dicom_bytes(path, bytes)?)
        })
    } else {
        Ok(Source {
            frames: ingest::read_still_bytes(path, bytes)?,
            dicom: None,
        })
    }
}

fn read_dicom(path: &Path) -> Result<Source, IngestError> {
    source_of_object(path, ingest::open_dicom(path)?)
}

/// An opened DICOM object read for masking.
fn source_of_object(path: &Path, obj: DefaultDicomObject) -> Result<Source, IngestError> {
    ingest::check_encapsulated(path, &obj)?;
    let pixels = obj.decode_pixel_data().map_err(|e| IngestError::Pixels {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let frames = ingest::decode_frames(path, &obj, &pixels)?;
    let photometric = ingest::declared_photometric(&obj)
        .unwrap_or_else(|| pixels.photometric_interpretation().as_str().to_string());
    let native = native_pixels(path, &obj, &pixels, &photometric, &frames)?;
    let us_regions = us_regions::read(&obj);
    Ok(Source {
        frames,
        dicom: Some(DicomSource {
            obj,
            native,
            photometric,
            us_regions,
        }),
    })
}

fn unsupported(path: &Path, what: String) -> IngestError {
    IngestError::Unsupported {
        path: path.to_path_buf(),
        what,
    }
}

fn native_pixels(
    path: &Path,
    obj: &DefaultDicomObject,
    pixels: &DecodedPixelData<'_>,
    photometric: &str,
    frames: &Frames,
) -> Result<NativePixels, IngestError> {
    let (width, height) = (
        u16::try_from(pixels.columns())
            .map_err(|_| unsupported(path, "more than 65535 columns".into()))?,
        u16::try_from(pixels.rows())
            .map_err(|_| unsupported(path, "more than 65535 rows".into()))?,
    );
    let n = frames.len();
    let npix = width as usize * height as usize;
    if pixels.samples_per_pixel() == 1 {
        let bits = pixels.bits_allocated();
        let bpp = match bits {
            8 => 1,
            16 => 2,
            b => return Err(unsupported(path, format!("masking {b}-bit samples"))),
        };
        let data = pixels.data();
        let need = npix * bpp * n;
        if data.len() < need {
            return Err(IngestError::Pixels {
                path: path.to_path_buf(),
                message: format!("pixel data has {} bytes, {need} expected", data.len()),
            });
        }
        let signed = pixels.pixel_representation() == PixelRepresentation::Signed;
        let fill = if photometric == "PALETTE COLOR" {
            let luts =
                ingest::palette_luts(obj, signed).map_err(|message| IngestError::Palette {
                    path: path.to_path_buf(),
                    message,
                })?;
            black_palette_index(&luts, bits, pixels.bits_stored(), pixels.high_bit(), signed)
        } else {
            let inverted = photometric == "MONOCHROME1";
            Some(grey_fill(
                inverted,
                signed,
                pixels.bits_stored(),
                pixels.high_bit(),
            ))
        };
        if let Some(fill) = fill {
            let fill = if bpp == 1 {
                vec![fill as u8]
            } else {
                fill.to_le_bytes().to_vec()
            };
            return Ok(NativePixels {
                data: data[..need].to_vec(),
                frames: n,
                width,
                height,
                bytes_per_pixel: bpp,
                fill,
                samples: OutputSamples::AsStored,
            });
        }
    }
    // Colour (or a palette without a black entry): the decoded 8-bit RGB.
    let Frames::Rgb(rgb) = frames else {
        return Err(unsupported(
            path,
            format!("masking {photometric} data with no black sample value"),
        ));
    };
    let mut data = Vec::with_capacity(npix * 3 * n);
    for f in rgb {
        data.extend_from_slice(f.as_raw());
    }
    Ok(NativePixels {
        data,
        frames: n,
        width,
        height,
        bytes_per_pixel: 3,
        fill: vec![0, 0, 0],
        samples: OutputSamples::Rgb8,
    })
}

/// The stored word that displays darkest for grey data: the smallest stored
/// value (MONOCHROME2) or the largest (MONOCHROME1), placed at `high_bit`.
/// Bits outside the stored bits are zero. (A negative Rescale Slope would
/// invert this; no ultrasound file we know of uses one.)
pub fn grey_fill(inverted: bool, signed: bool, bits_stored: u16, high_bit: u16) -> u16 {
    let bs = u32::from(bits_stored.clamp(1, 16));
    let mask = ((1u32 << bs) - 1) as u16;
    let value: u16 = match (inverted, signed) {
        (false, false) => 0,
        (true, false) => mask,
        // Two's complement within the stored bits: most negative 100…0,
        // most positive 011…1.
        (false, true) => 1 << (bs - 1),
        (true, true) => mask >> 1,
    };
    let shift = (u32::from(high_bit) + 1).saturating_sub(bs).min(16 - bs);
    value << shift
}

/// The lowest stored index whose palette entry is exactly black, as the
/// stored word (placed at `high_bit`); `None` if no entry is black.
fn black_palette_index(
    luts: &[ingest::ChannelLut; 3],
    bits_allocated: u16,
    bits_stored: u16,
    high_bit: u16,
    signed: bool,
) -> Option<u16> {
    let bs = u32::from(bits_stored.clamp(1, bits_allocated.min(16)));
    let (lo, hi): (i32, i32) = if signed {
        (-(1 << (bs - 1)), (1 << (bs - 1)) - 1)
    } else {
        (0, (1 << bs) - 1)
    };
    let v = (lo..=hi).find(|&v| luts.iter().all(|l| l.lookup(v) == 0))?;
    let stored = (v as u32) & ((1u32 << bs) - 1);
    let shift = (u32::from(high_bit) + 1).saturating_sub(bs).min(16 - bs);
    Some((stored << shift) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_fill_is_the_darkest_stored_value() {
        assert_eq!(grey_fill(false, false, 8, 7), 0);
        assert_eq!(grey_fill(true, false, 8, 7), 0xff);
        assert_eq!(grey_fill(true, false, 12, 11), 0x0fff);
        // 12 bits stored at the top of the word.
        assert_eq!(grey_fill(true, false, 12, 15), 0xfff0);
        assert_eq!(grey_fill(false, true, 12, 11), 0x0800); // -2048
        assert_eq!(grey_fill(true, true, 16, 15), 0x7fff);
        // The stored values read back through the ingest's own reader.
        let v = ingest::stored_values(&0x0800u16.to_le_bytes(), 16, 12, 11, true);
        assert_eq!(v, [-2048]);
    }

    #[test]
    fn black_palette_entry() {
        let lut = |t: Vec<u8>| ingest::ChannelLut {
            first_mapped: 0,
            table: t,
        };
        let luts = [
            lut(vec![9, 0, 0, 5]),
            lut(vec![0, 3, 0, 0]),
            lut(vec![0, 0, 0, 0]),
        ];
        assert_eq!(black_palette_index(&luts, 8, 8, 7, false), Some(2));
        let none = [lut(vec![1, 1]), lut(vec![0, 0]), lut(vec![0, 0])];
        // Values past the table map to its last entry, which is not black.
        assert_eq!(black_palette_index(&none, 8, 8, 7, false), None);
    }
}

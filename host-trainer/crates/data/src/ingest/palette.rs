//! PALETTE COLOR: the Red/Green/Blue lookup tables, normal and segmented,
//! 8- or 16-bit entries, applied to stored values.

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, Tag};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|w| w.to_le_bytes()).collect()
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
}

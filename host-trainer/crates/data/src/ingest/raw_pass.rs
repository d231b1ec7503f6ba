//! A first pass over a DICOM file with dicom-rs's own data set reader,
//! reading every value as raw bytes, before the real parse.
//!
//! The in-memory parse (`dicom_object`) reads each value in its VR's form,
//! and for string VRs it grows a buffer to the declared length with an
//! infallible `resize`. Under the parse's allocation cap
//! ([`super::alloc_cap`]) a string whose declared length runs past the end
//! of the file therefore aborts the process (the allocation error handler),
//! where without the cap it would zero-fill gigabytes. The structure scan
//! ([`super::structure`]) refuses such lengths where it follows the file as
//! dicom-rs does, but a hand-written scan can never follow every damaged
//! encoding the same way (fuzzing kept finding places where they part).
//!
//! This pass cannot part ways with the parse: it *is* the parse's reader
//! (`DataSetReader`, the same meta group, transfer syntax, preamble rule,
//! odd-length strategy and deflate adapter), only with
//! [`ValueReadStrategy::Raw`], where every value is read through
//! `try_reserve_exact`. So a lying length anywhere the parse would meet it
//! becomes a refused reservation here, a typed error naming the file, and
//! the parse that follows only ever reserves lengths this pass has read
//! bytes for. It costs one more read of the data set (the pixel data
//! included), small next to decoding the frames. Tests: the `files` test
//! binary (`fuzz_found`), which installs the capped allocator.

use std::io::Read;
use std::path::Path;

use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::meta::FileMetaTable;
use dicom_parser::dataset::read::{DataSetReader, DataSetReaderOptions, ValueReadStrategy};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::IngestError;

/// Bytes before the meta group, decided as `dicom_object::open_file` does:
/// none when `DICM` starts the file and is not also at byte 128, else the
/// 128-byte preamble.
pub fn preamble_len(head: &[u8]) -> usize {
    if head.get(128..132) != Some(b"DICM") && head.starts_with(b"DICM") {
        0
    } else {
        128
    }
}

/// Reads the whole data set in `src` (positioned after the preamble) with
/// raw values, dropping each as it goes. Call it under the same allocation
/// cap as the parse. Errors name `path`; a transfer syntax the registry
/// cannot read is left for the parse to report.
pub fn check(path: &Path, mut src: impl Read) -> Result<(), IngestError> {
    let fail = |message: String| IngestError::Dicom {
        path: path.to_path_buf(),
        message,
    };
    let meta =
        FileMetaTable::from_reader(&mut src).map_err(|e| fail(format!("file meta group: {e}")))?;
    let Some(ts) = TransferSyntaxRegistry.get(meta.transfer_syntax()) else {
        return Ok(());
    };
    let mut options = DataSetReaderOptions::default();
    options.value_read = ValueReadStrategy::Raw;
    let walk = |reader: &mut dyn Iterator<Item = Result<_, dicom_parser::dataset::read::Error>>| {
        for token in reader {
            token.map_err(|e| fail(format!("data set: {e}")))?;
        }
        Ok(())
    };
    match ts.codec() {
        Codec::Dataset(Some(adapter)) => {
            let src: Box<dyn Read> = Box::new(src);
            let mut reader =
                DataSetReader::new_with_ts_options(adapter.adapt_reader(src), ts, options)
                    .map_err(|e| fail(format!("data set: {e}")))?;
            walk(&mut reader)
        }
        // The parse names the missing codec itself.
        Codec::Dataset(None) => Ok(()),
        Codec::None | Codec::EncapsulatedPixelData(..) => {
            let mut reader = DataSetReader::new_with_ts_options(src, ts, options)
                .map_err(|e| fail(format!("data set: {e}")))?;
            walk(&mut reader)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_preamble_when_the_magic_starts_the_file() {
        assert_eq!(preamble_len(b"DICM\x02\x00"), 0);
        assert_eq!(preamble_len(b"xx"), 128);
        let mut with = vec![0u8; 128];
        with.extend_from_slice(b"DICM");
        assert_eq!(preamble_len(&with), 128);
    }
}

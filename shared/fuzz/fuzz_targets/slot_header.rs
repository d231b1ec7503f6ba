//! The model slot as flash holds it: `slot_blob` on arbitrary bytes must
//! return the blob the header points at or a typed error, never panic,
//! and agree with `slot_header`. The carved-out blob then gets its CRC
//! recomputed (a fuzzer cannot forge a CRC-32 by mutation) and goes
//! through the loader and, if it loads, both kernel sets, as the firmware
//! does at boot.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use sonomask_core::blob::fuzzing::{decode_and_run, fix_crc};
use sonomask_core::slot::{SLOT_HEADER_LEN, SLOT_MAGIC, SlotError, slot_blob, slot_header};

thread_local! {
    static BUFFERS: RefCell<(Vec<u8>, Vec<i8>, Vec<u8>)> =
        RefCell::new((vec![0u8; 1 << 20], vec![0i8; 1 << 18], Vec::new()));
}

fuzz_target!(|data: &[u8]| {
    let declared = data
        .get(4..SLOT_HEADER_LEN)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match slot_blob(data) {
        Ok(blob) => {
            assert!(!blob.is_empty());
            assert_eq!(Some(blob.len()), declared);
            assert_eq!(
                Some(&data[..SLOT_HEADER_LEN]),
                slot_header(blob.len()).as_ref().map(|h| &h[..])
            );
            assert_eq!(blob, &data[SLOT_HEADER_LEN..SLOT_HEADER_LEN + blob.len()]);
            BUFFERS.with(|b| {
                let (arena, io, copy) = &mut *b.borrow_mut();
                copy.clear();
                copy.extend_from_slice(blob);
                let _ = decode_and_run(copy, arena, io);
                fix_crc(copy);
                let _ = decode_and_run(copy, arena, io);
            });
        }
        Err(SlotError::Empty) => {
            assert!(data.len() < SLOT_HEADER_LEN || data[..4] != SLOT_MAGIC);
        }
        Err(SlotError::BadLength) => {
            let n = declared.expect("a length error has a header");
            assert!(n == 0 || n > data.len() - SLOT_HEADER_LEN);
        }
    }
});

//! Arbitrary bytes as a model blob: `Model::from_bytes` must return an error
//! or a model, never panic; a model that loads is run with the fast and the
//! reference kernels, which must agree (see `decode_and_run`).
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;

thread_local! {
    /// Arena and input/output buffers, allocated once per fuzzing thread
    /// (1 MiB of arena covers every blob the fuzzer can make load quickly).
    static BUFFERS: RefCell<(Vec<u8>, Vec<i8>)> =
        RefCell::new((vec![0u8; 1 << 20], vec![0i8; 1 << 18]));
}

fuzz_target!(|data: &[u8]| {
    BUFFERS.with(|b| {
        let (arena, io) = &mut *b.borrow_mut();
        let _ = sonomask_core::blob::fuzzing::decode_and_run(data, arena, io);
    });
});

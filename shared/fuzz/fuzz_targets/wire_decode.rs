//! The wire protocol's receiving side on arbitrary bytes. The first byte
//! picks the mode:
//!
//! - even: the rest is a byte stream for `Receiver::push` (the device's
//!   receive buffer, and a tiny one to exercise overflow), each completed
//!   frame decoded as a host and as a device message;
//! - odd: the rest is a message body; it gets a valid CRC and COBS
//!   framing first (random bytes would never match a CRC-32), so postcard
//!   decoding of every message type is what is fuzzed.
//!
//! Oracles: no panic; `push` always makes progress, hands out frames
//! without zero bytes that fit its buffer; whatever decodes re-encodes
//! and decodes to the same message.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use sonomask_core::blob::crc32;
use sonomask_core::wire::{
    self, CRC_BYTES, DeviceMsg, HostMsg, MAX_ENCODED_BYTES, Received, Receiver,
};

thread_local! {
    static RX: RefCell<(Box<Receiver<MAX_ENCODED_BYTES>>, Receiver<16>)> =
        RefCell::new((Box::new(Receiver::new()), Receiver::new()));
}

/// A decoded message re-encodes, and decodes back to itself.
macro_rules! round_trip {
    ($msg:expr, $ty:ty) => {{
        let msg = $msg;
        let mut scratch = vec![0u8; 1 << 16];
        let mut out = vec![0u8; 1 << 17];
        let n = wire::encode(msg, &mut scratch, &mut out).expect("a decoded message re-encodes");
        assert!(n >= 2 && out[0] == 0 && out[n - 1] == 0);
        let frame = &mut out[1..n - 1];
        assert!(!frame.contains(&0));
        let back = wire::decode::<$ty>(frame).expect("a re-encoded message decodes");
        assert_eq!(&back, msg, "message does not round-trip");
    }};
}

/// Decodes `frame` as either side's message; each success must round-trip.
fn decode_both(frame: &[u8]) {
    let mut f = frame.to_vec();
    if let Ok(m) = wire::decode::<HostMsg<'_>>(&mut f) {
        round_trip!(&m, HostMsg<'_>);
    }
    let mut f = frame.to_vec();
    if let Ok(m) = wire::decode::<DeviceMsg<'_>>(&mut f) {
        round_trip!(&m, DeviceMsg<'_>);
    }
}

fn stream<const N: usize>(rx: &mut Receiver<N>, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let before = rest.len();
        let (got, r) = rx.push(rest);
        assert!(r.len() < before, "push makes progress");
        rest = r;
        if let Some(Received::Frame(f)) = got {
            assert!(!f.is_empty() && f.len() <= N && !f.contains(&0));
            decode_both(f);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        RX.with(|rx| {
            let (big, small) = &mut *rx.borrow_mut();
            // Fresh receivers per input: state carried between inputs would
            // make crashes irreproducible.
            **big = Receiver::new();
            *small = Receiver::new();
            stream(big, rest);
            stream(small, rest);
        });
    } else {
        let mut body = rest.to_vec();
        body.extend_from_slice(&crc32(rest).to_le_bytes());
        let mut frame = vec![0u8; cobs::max_encoding_length(body.len())];
        let n = cobs::encode(&body, &mut frame);
        frame.truncate(n);
        assert_eq!(body.len(), rest.len() + CRC_BYTES);
        decode_both(&frame);
    }
});

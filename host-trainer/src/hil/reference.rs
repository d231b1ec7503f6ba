//! The host reference: the firmware's own [`Pipeline`], built for the host
//! with the board's buffer sizes, fed the same frames the device processed,
//! in the same order. Its output is what the device must send, byte for
//! byte.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sonomask_firmware::board::{ARENA_BYTES, MAX_MAP_PIXELS};
use sonomask_firmware::pipeline::Workspace;

/// Owned buffers for a [`Workspace`], as large as the board's.
pub struct OwnedWorkspace {
    arena: Vec<u8>,
    input: Vec<i8>,
    logits: Vec<i8>,
    map: Vec<u8>,
    labels: Vec<u32>,
    points: Vec<(f32, f32)>,
}

impl Default for OwnedWorkspace {
    fn default() -> Self {
        Self::new()
    }
}

impl OwnedWorkspace {
    /// The board's sizes (`sonomask_firmware::board`), so the reference
    /// refuses exactly the models the board refuses.
    pub fn new() -> Self {
        Self {
            arena: vec![0; ARENA_BYTES],
            input: vec![0; MAX_MAP_PIXELS],
            logits: vec![0; MAX_MAP_PIXELS],
            map: vec![0; MAX_MAP_PIXELS],
            labels: vec![0; MAX_MAP_PIXELS],
            // As the board image's POINTS static.
            points: vec![(0.0, 0.0); 1024],
        }
    }

    pub fn ws(&mut self) -> Workspace<'_> {
        Workspace {
            arena: &mut self.arena,
            input: &mut self.input,
            logits: &mut self.logits,
            map: &mut self.map,
            labels: &mut self.labels,
            points: &mut self.points,
        }
    }
}

/// A fault line the host can read (shared with the thread that drives it).
#[derive(Clone, Debug, Default)]
pub struct FaultLine(pub Arc<AtomicBool>);

impl FaultLine {
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl embedded_hal::digital::ErrorType for FaultLine {
    type Error = std::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for FaultLine {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.0.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
}

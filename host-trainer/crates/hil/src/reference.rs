//! The host reference: the firmware's own [`Pipeline`], built for the host
//! with the board's buffer sizes, fed the same frames the device processed,
//! in the same order. Its output is what the device must send, byte for
//! byte.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sonomask_firmware::board::{WORKSPACE, WorkspaceLen};
use sonomask_firmware::pipeline::Workspace;

/// Owned buffers for a [`Workspace`], exactly as large as the board's
/// ([`WORKSPACE`], the definition the board image's statics use), so the
/// reference and the simulated device refuse exactly the models the board
/// refuses.
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
    /// The board's sizes ([`WORKSPACE`]).
    pub fn new() -> Self {
        Self::with_len(WORKSPACE)
    }

    /// Buffers of the given lengths.
    pub fn with_len(len: WorkspaceLen) -> Self {
        Self {
            arena: vec![0; len.arena],
            input: vec![0; len.input],
            logits: vec![0; len.logits],
            map: vec![0; len.map],
            labels: vec![0; len.labels],
            points: vec![(0.0, 0.0); len.points],
        }
    }

    /// The lengths of the buffers held.
    pub fn lens(&self) -> WorkspaceLen {
        WorkspaceLen {
            arena: self.arena.len(),
            input: self.input.len(),
            logits: self.logits.len(),
            map: self.map.len(),
            labels: self.labels.len(),
            points: self.points.len(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::fit;
    use sonomask_firmware::board::MAX_MAP_PIXELS;

    /// The host reference (and the simulated device, which uses it) holds
    /// exactly the board's buffers, and they hold the fit's scratch for the
    /// largest maps the board takes: 128×96 either way round, and the widest
    /// map its boundary-sample buffer allows.
    #[test]
    fn reference_workspace_is_the_boards() {
        let ows = OwnedWorkspace::new();
        assert_eq!(ows.lens(), WORKSPACE);
        let widest = (WORKSPACE.points - 2) / 4;
        for (w, h) in [(128, 96), (96, 128), (80, 64), (widest, 1)] {
            assert!(w * h <= MAX_MAP_PIXELS, "{w}×{h}");
            let need = fit::scratch_len(w, h);
            assert!(need.labels <= WORKSPACE.labels, "{w}×{h}: labels {need:?}");
            assert!(need.points <= WORKSPACE.points, "{w}×{h}: points {need:?}");
        }
        // One column more than the widest needs more points than the board has.
        assert!(fit::scratch_len(widest + 1, 1).points > WORKSPACE.points);
    }
}

//! The QEMU `mps2-an500` board (Cortex-M7) as the board image and the HIL
//! rig both need to know it. Addresses from QEMU 7.2's memory map (`info
//! mtree`); `memory.x` must agree.

/// Where the model slot ([`sonomask_core::slot`]) sits: the last MiB of
/// the 4 MiB ZBT SSRAM1 that stands in for the cart's flash. The HIL rig
/// loads a slot file there with `-device loader,file=…,addr=…`.
pub const MODEL_SLOT_ADDR: u32 = 0x0030_0000;
/// Bytes of the model slot.
pub const MODEL_SLOT_LEN: usize = 1 << 20;
/// UART0 (CMSDK APB UART), QEMU's first `-serial`.
pub const UART0_ADDR: u32 = 0x4000_4000;
/// FPGA IO block; its LED register (offset 0) bit 0 is the fault line.
pub const FPGAIO_ADDR: u32 = 0x4002_8000;
/// The reference board's largest frame: 1024×768 RGB (2.25 MiB of its 4
/// MiB RAM), a cart's capture size. A larger frame is refused whole (the
/// fault line rises and the answer is black, never a partial mask); the host
/// (`sonomask mask`) has no such limit and masks 2083×1455 exports.
pub const FRAME_BUFFER_BYTES: usize = 1024 * 768 * 3;
/// Engine arena reserved (the architecture's budget).
pub const ARENA_BYTES: usize = 256 * 1024;
/// Largest network map (input or output pixels) the board's buffers hold.
pub const MAX_MAP_PIXELS: usize = 128 * 96;
/// Fit scratch, in `u32`: `fit::scratch_len`'s `w·h` labels and `(w+1)·h`
/// member counts, at most `3 · w·h` for any map of up to
/// [`MAX_MAP_PIXELS`].
pub const MAX_FIT_LABELS: usize = 3 * MAX_MAP_PIXELS;
/// Fit scratch, boundary samples: `fit::scratch_len`'s `4·w + 2·h`, 704
/// for a 128×96 map.
pub const MAX_FIT_POINTS: usize = 1024;

/// Lengths of the buffers of a [`crate::Workspace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkspaceLen {
    /// Engine arena, bytes.
    pub arena: usize,
    /// Quantised input, elements.
    pub input: usize,
    /// Logits, elements.
    pub logits: usize,
    /// Probability map, elements.
    pub map: usize,
    /// Fit labels and member counts, `u32`s.
    pub labels: usize,
    /// Fit boundary samples.
    pub points: usize,
}

/// The board's workspace: the one definition that the board image's statics,
/// the HIL rig's host reference and the simulated device all allocate, so the
/// host refuses exactly the models the board refuses.
pub const WORKSPACE: WorkspaceLen = WorkspaceLen {
    arena: ARENA_BYTES,
    input: MAX_MAP_PIXELS,
    logits: MAX_MAP_PIXELS,
    map: MAX_MAP_PIXELS,
    labels: MAX_FIT_LABELS,
    points: MAX_FIT_POINTS,
};

/// Stage marks: the board image executes `movw r12, #(STAGE_MARK_BASE +
/// stage)` at the start of each [`crate::Stage`]; the instruction-counting
/// plugin (`firmware/qemu-plugin/`) recognises exactly that instruction.
pub const STAGE_MARK_BASE: u16 = 0x5A50;

//! Static arena planning: where every intermediate tensor and every
//! convolution's scratch lives in the caller's arena, decided once when the
//! model is loaded, so a frame's inference allocates nothing and touches
//! only memory whose size was known before the first frame.
//!
//! Tensor 0 (the input) is read from the caller's input slice and the last
//! tensor (the logits) is written to the caller's output slice, so neither
//! takes arena space. Everything else is an *item* with a size and a
//! lifetime `[first, last]` in op indices: a tensor lives from the op that
//! writes it to the last op that reads it, a convolution's scratch only
//! during that convolution. Two items may share bytes when their lifetimes
//! are disjoint.
//!
//! Placement is TFLite Micro's greedy-by-size: biggest item first, each at
//! the lowest 4-aligned offset that overlaps no already placed item whose
//! lifetime intersects its own. Not optimal (that is NP-hard) but close on
//! U-Nets, where the big encoder tensors' lifetimes nest, and deterministic:
//! ties are broken by first use and then by item kind and index, never by
//! anything address- or hash-dependent.

use core::ops::Range;

use super::{GraphError, MAX_OPS, MAX_TENSORS, Op, TensorInfo, conv_geom};

/// Every placement starts on a multiple of this.
pub const ALIGN: u64 = 4;
/// Extra bytes per scratch block: the `i32` scratch is aligned at run time
/// inside its block, whatever the arena's address, so callers may pass any
/// `&mut [u8]` and the plan does not depend on where it lives.
pub const SCRATCH_SLACK: u64 = 3;

const MAX_ITEMS: usize = MAX_TENSORS + MAX_OPS;

/// A byte range of the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// First byte, a multiple of [`ALIGN`].
    pub offset: u32,
    /// Length in bytes.
    pub size: u32,
}

impl Placement {
    /// One past the last byte, in `u64` so it cannot overflow.
    #[cfg(test)]
    pub fn end(&self) -> u64 {
        self.offset as u64 + self.size as u64
    }
    /// The bytes as a slice range of the arena.
    pub fn range(&self) -> Range<usize> {
        self.offset as usize..self.offset as usize + self.size as usize
    }
}

/// Op indices during which an item must keep its bytes, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Lifetime {
    /// First op that needs the bytes: the one that writes a tensor (0 for
    /// the input), or the convolution that uses a scratch block.
    pub first: u16,
    /// Last op that needs them: a tensor's last reader.
    pub last: u16,
}

impl Lifetime {
    /// Whether the two intervals share an op (then the items may not share
    /// bytes).
    pub fn overlaps(&self, other: &Lifetime) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Tensor(u16),
    Scratch(u16),
}

#[derive(Clone, Copy, Debug)]
struct Item {
    size: u64,
    life: Lifetime,
    slot: Slot,
}

/// Where each tensor and scratch block lives, and how big the arena is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    tensors: [Option<Placement>; MAX_TENSORS],
    lifetimes: [Lifetime; MAX_TENSORS],
    scratch: [Option<Placement>; MAX_OPS],
    n_tensors: usize,
    arena_bytes: u32,
    naive_bytes: u64,
}

impl Plan {
    /// Plans `ops` over the validated `tensors` (`tensors[i + 1]` is op
    /// `i`'s output). Errors only if a size does not fit in `u32`.
    pub(crate) fn new(tensors: &[TensorInfo], ops: &[Op<'_>]) -> Result<Plan, GraphError> {
        let n_tensors = tensors.len();
        if n_tensors != ops.len() + 1 || ops.len() > MAX_OPS {
            return Err(GraphError::TooManyOps);
        }
        let mut lifetimes = [Lifetime::default(); MAX_TENSORS];
        for (t, life) in lifetimes.iter_mut().enumerate().take(n_tensors).skip(1) {
            *life = Lifetime {
                first: (t - 1) as u16,
                last: (t - 1) as u16,
            };
        }
        for (i, op) in ops.iter().enumerate() {
            let (a, b) = op.inputs();
            for t in core::iter::once(a).chain(b) {
                let life = lifetimes
                    .get_mut(t as usize)
                    .ok_or(GraphError::BadTensorRef)?;
                life.last = life.last.max(i as u16);
            }
        }

        let mut items: heapless::Vec<Item, MAX_ITEMS> = heapless::Vec::new();
        let last_tensor = n_tensors - 1;
        for (t, info) in tensors.iter().enumerate().take(last_tensor).skip(1) {
            let item = Item {
                size: info.shape.numel(),
                life: lifetimes[t],
                slot: Slot::Tensor(t as u16),
            };
            items.push(item).map_err(|_| GraphError::TooManyOps)?;
        }
        for (i, op) in ops.iter().enumerate() {
            if let Op::Conv2d(conv) = op {
                let inp = tensors
                    .get(conv.input as usize)
                    .ok_or(GraphError::BadTensorRef)?;
                let words = conv_geom(conv, inp.shape).scratch_words();
                let item = Item {
                    size: 4 * words + SCRATCH_SLACK,
                    life: Lifetime {
                        first: i as u16,
                        last: i as u16,
                    },
                    slot: Slot::Scratch(i as u16),
                };
                items.push(item).map_err(|_| GraphError::TooManyOps)?;
            }
        }
        if items.iter().any(|it| it.size > u32::MAX as u64) {
            return Err(GraphError::TooLarge);
        }

        // Biggest first; ties by first use, then kind and index: a total
        // order, so the plan is the same on every machine and every run.
        items.sort_unstable_by(|x, y| {
            y.size
                .cmp(&x.size)
                .then(x.life.first.cmp(&y.life.first))
                .then(x.slot.cmp(&y.slot))
        });

        // offsets[j] is where items[j] went (items are in placement order).
        let mut offsets = [0u64; MAX_ITEMS];
        let mut arena = 0u64;
        let mut naive = 0u64;
        for (j, item) in items.iter().enumerate() {
            let mut busy: heapless::Vec<(u64, u64), MAX_ITEMS> = heapless::Vec::new();
            for (other, &offset) in items[..j].iter().zip(offsets.iter()) {
                if other.life.overlaps(&item.life) {
                    // Cannot fail: there are fewer than MAX_ITEMS earlier items.
                    let _ = busy.push((offset, offset + other.size));
                }
            }
            busy.sort_unstable();
            let mut at = 0u64;
            for &(start, end) in busy.iter() {
                if at + item.size <= start {
                    break;
                }
                at = at.max(end.next_multiple_of(ALIGN));
            }
            offsets[j] = at;
            arena = arena.max(at + item.size);
            naive += item.size.next_multiple_of(ALIGN);
        }
        let arena_bytes = u32::try_from(arena).map_err(|_| GraphError::TooLarge)?;

        let mut plan = Plan {
            tensors: [None; MAX_TENSORS],
            lifetimes,
            scratch: [None; MAX_OPS],
            n_tensors,
            arena_bytes,
            naive_bytes: naive,
        };
        for (item, offset) in items.iter().zip(offsets.iter()) {
            let p = Some(Placement {
                offset: *offset as u32, // < arena_bytes
                size: item.size as u32,
            });
            match item.slot {
                Slot::Tensor(t) => plan.tensors[t as usize] = p,
                Slot::Scratch(i) => plan.scratch[i as usize] = p,
            }
        }
        Ok(plan)
    }

    /// Bytes of arena [`super::run`] needs.
    pub fn arena_bytes(&self) -> u32 {
        self.arena_bytes
    }

    /// What the arena would take with no reuse at all (every item its own
    /// bytes, sizes rounded up to [`ALIGN`]): the yardstick for the planner.
    #[cfg(test)]
    pub fn naive_bytes(&self) -> u64 {
        self.naive_bytes
    }

    /// Where tensor `id` lives; `None` for the input and the output (the
    /// caller's slices) and for ids past the end.
    pub fn tensor(&self, id: usize) -> Option<Placement> {
        self.tensors.get(id).copied().flatten()
    }

    /// Where op `op`'s scratch lives; `None` for ops that need none.
    pub fn scratch(&self, op: usize) -> Option<Placement> {
        self.scratch.get(op).copied().flatten()
    }

    /// Lifetime of tensor `id` in op indices (the input's starts at op 0).
    #[cfg(test)]
    pub fn lifetime(&self, id: usize) -> Option<Lifetime> {
        (id < self.n_tensors).then(|| self.lifetimes[id])
    }
}

//! Binary-map helpers shared by the weak labelers, the trainer and the fit:
//! connected components, largest component, hole filling, and square
//! opening/closing.
//!
//! Maps are row-major `w * h` bytes. The helpers that take a plain binary map
//! treat any nonzero byte as set and write back `255` (set) / `0` (clear), so
//! their output can go straight to [`crate::fit`] with threshold 128.
//!
//! All working memory comes from the caller: a `u32` slice of at least
//! `w * h` entries for labelling and hole filling, a `u8` slice of at least
//! `w * h` for the morphology passes. Nothing here allocates or panics on any
//! input; wrong sizes give [`MorphError`].

/// The most pixels a map may have: labels are `u32` pixel indices whose top
/// bit marks a component root, and `u32::MAX` marks background.
pub const MAX_MAP_PIXELS: usize = (1 << 31) - 2;

/// Label of a pixel below the threshold.
pub const BACKGROUND: u32 = u32::MAX;
/// Top bit of a root pixel's label; the other bits hold the component area.
const ROOT: u32 = 1 << 31;

/// Why a map could not be processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MorphError {
    /// A side is zero, `map.len()` is not `w * h`, or the map has more than
    /// [`MAX_MAP_PIXELS`] pixels.
    BadMapSize,
    /// The scratch slice is shorter than `w * h`.
    ScratchTooSmall,
}

impl core::fmt::Display for MorphError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MorphError::BadMapSize => "map length does not match its width and height",
            MorphError::ScratchTooSmall => "scratch buffer shorter than the map",
        })
    }
}

impl core::error::Error for MorphError {}

/// Checks `len == w * h` (nonzero, at most [`MAX_MAP_PIXELS`]) and returns it.
pub(crate) fn check_map(len: usize, w: usize, h: usize) -> Result<usize, MorphError> {
    match w.checked_mul(h) {
        Some(n) if n > 0 && n == len && n <= MAX_MAP_PIXELS => Ok(n),
        _ => Err(MorphError::BadMapSize),
    }
}

/// Labels the 8-connected components of the pixels `>= threshold`.
///
/// Returns the number of components. Afterwards, for every pixel `i`:
/// `labels[i]` is [`BACKGROUND`] when it is below the threshold; otherwise
/// [`component_of`]`(labels, i)` is the index of its component's root pixel
/// (the same for all pixels of a component) and [`component_area`] of that
/// root is the component's pixel count. Union-find over pixel indices, so one
/// `u32` per pixel is all the memory it needs.
pub fn label_components(
    map: &[u8],
    w: usize,
    h: usize,
    threshold: u8,
    labels: &mut [u32],
) -> Result<usize, MorphError> {
    let n = check_map(map.len(), w, h)?;
    let labels = labels.get_mut(..n).ok_or(MorphError::ScratchTooSmall)?;
    let mut count = 0;
    for i in 0..n {
        if map[i] < threshold {
            labels[i] = BACKGROUND;
            continue;
        }
        labels[i] = ROOT | 1;
        count += 1;
        let (x, y) = (i % w, i / w);
        // The three neighbours above are one row, so whichever of them are
        // foreground next to each other are joined already, and the left
        // one is joined to the pixel above it: a foreground pixel above says
        // it all, otherwise left (or up-left) and up-right.
        let fg = |j: usize| labels[j] != BACKGROUND;
        let (left, up_left) = (x > 0 && fg(i - 1), x > 0 && y > 0 && fg(i - w - 1));
        let (up, up_right) = (y > 0 && fg(i - w), y > 0 && x + 1 < w && fg(i - w + 1));
        // The first join of a new pixel is what `union` would do with a
        // component of one: attach it under the other root (never the
        // smaller, and on a tie the lower index wins), with no search.
        let attach = |labels: &mut [u32], j: usize| {
            let r = find(labels, j);
            labels[r] += 1;
            labels[i] = r as u32;
        };
        if up {
            attach(labels, i - w);
            count -= 1;
            continue;
        }
        let first = if left {
            Some(i - 1)
        } else if up_left {
            Some(i - w - 1)
        } else {
            None
        };
        match (first, up_right) {
            (Some(j), _) => {
                attach(labels, j);
                count -= 1;
                if up_right && union(labels, i, i - w + 1) {
                    count -= 1;
                }
            }
            (None, true) => {
                attach(labels, i - w + 1);
                count -= 1;
            }
            (None, false) => {}
        }
    }
    // Point every pixel straight at its root so membership is one compare.
    for i in 0..n {
        if labels[i] & ROOT == 0 {
            labels[i] = find(labels, i) as u32;
        }
    }
    Ok(count)
}

/// The root pixel of pixel `i`'s component after [`label_components`], or
/// `None` for background (or an index past the end).
pub fn component_of(labels: &[u32], i: usize) -> Option<usize> {
    match *labels.get(i)? {
        BACKGROUND => None,
        l if l & ROOT != 0 => Some(i),
        l => Some(l as usize),
    }
}

/// The pixel count of the component whose root is `root` (0 if `root` is not
/// a root).
pub fn component_area(labels: &[u32], root: usize) -> usize {
    match labels.get(root) {
        Some(&l) if l != BACKGROUND && l & ROOT != 0 => (l & !ROOT) as usize,
        _ => 0,
    }
}

/// Root of `i` with path halving. `i` must not be background.
fn find(labels: &mut [u32], mut i: usize) -> usize {
    loop {
        let p = labels[i];
        if p & ROOT != 0 {
            return i;
        }
        let pp = labels[p as usize];
        if pp & ROOT != 0 {
            return p as usize;
        }
        labels[i] = pp;
        i = pp as usize;
    }
}

/// Merges the components of `a` and `b` (union by size, ties to the lower
/// index so the result is deterministic); `true` when they were distinct.
fn union(labels: &mut [u32], a: usize, b: usize) -> bool {
    let (ra, rb) = (find(labels, a), find(labels, b));
    if ra == rb {
        return false;
    }
    let (sa, sb) = (labels[ra] & !ROOT, labels[rb] & !ROOT);
    let (big, small) = if sa > sb || (sa == sb && ra < rb) {
        (ra, rb)
    } else {
        (rb, ra)
    };
    labels[big] = ROOT | (sa + sb);
    labels[small] = big as u32;
    true
}

/// Keeps only the largest 8-connected component of the nonzero pixels
/// (ties: the one first in raster order) and returns its area; an empty map
/// stays empty and returns 0. `labels` needs `w * h` entries.
///
/// The simple threshold labeler uses this to drop text, calipers and logos
/// that survive its threshold but are not attached to the scan region.
pub fn largest_component(
    map: &mut [u8],
    w: usize,
    h: usize,
    labels: &mut [u32],
) -> Result<usize, MorphError> {
    let n = label_components(map, w, h, 1, labels)?;
    let mut best: Option<(usize, usize)> = None;
    if n > 0 {
        for i in 0..map.len() {
            let a = component_area(labels, i);
            if a > best.map_or(0, |b| b.1) {
                best = Some((i, a));
            }
        }
    }
    let root = best.map(|b| b.0);
    for (i, px) in map.iter_mut().enumerate() {
        *px = if root.is_some() && component_of(labels, i) == root {
            255
        } else {
            0
        };
    }
    Ok(best.map_or(0, |b| b.1))
}

/// Sets every clear pixel not 4-connected to the frame border through clear
/// pixels (a hole) and returns how many were filled.
///
/// Holes are 4-connected because set pixels are 8-connected elsewhere in this
/// module: a diagonal gap in a closed outline does not leak. Static text and
/// calipers drawn inside the sector are holes in a temporal map; the sector is
/// still to be kept there. `queue` needs `w * h` entries.
pub fn fill_holes(
    map: &mut [u8],
    w: usize,
    h: usize,
    queue: &mut [u32],
) -> Result<usize, MorphError> {
    let n = check_map(map.len(), w, h)?;
    let queue = queue.get_mut(..n).ok_or(MorphError::ScratchTooSmall)?;
    const SET: u8 = 255;
    const REACHED: u8 = 1;
    for px in map.iter_mut() {
        *px = if *px != 0 { SET } else { 0 };
    }
    // Breadth-first flood of the clear pixels reachable from the border; a
    // pixel is marked when queued, so the queue never exceeds `w * h`.
    let (mut head, mut tail) = (0usize, 0usize);
    let push = |map: &mut [u8], queue: &mut [u32], tail: &mut usize, i: usize| {
        if map[i] == 0 {
            map[i] = REACHED;
            queue[*tail] = i as u32;
            *tail += 1;
        }
    };
    for x in 0..w {
        push(map, queue, &mut tail, x);
        push(map, queue, &mut tail, (h - 1) * w + x);
    }
    for y in 0..h {
        push(map, queue, &mut tail, y * w);
        push(map, queue, &mut tail, y * w + w - 1);
    }
    while head < tail {
        let i = queue[head] as usize;
        head += 1;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            push(map, queue, &mut tail, i - 1);
        }
        if x + 1 < w {
            push(map, queue, &mut tail, i + 1);
        }
        if y > 0 {
            push(map, queue, &mut tail, i - w);
        }
        if y + 1 < h {
            push(map, queue, &mut tail, i + w);
        }
    }
    let mut filled = 0;
    for px in map.iter_mut() {
        *px = match *px {
            REACHED => 0,
            0 => {
                filled += 1;
                SET
            }
            _ => SET,
        };
    }
    Ok(filled)
}

/// Erosion with a `(2r+1)²` square. Beyond the frame counts as set, so a
/// region touching the border (a clipped sector) is not eaten from there.
pub fn erode(
    map: &mut [u8],
    w: usize,
    h: usize,
    r: usize,
    scratch: &mut [u8],
) -> Result<(), MorphError> {
    square(map, w, h, r, scratch, false)
}

/// Dilation with a `(2r+1)²` square. Beyond the frame counts as clear.
pub fn dilate(
    map: &mut [u8],
    w: usize,
    h: usize,
    r: usize,
    scratch: &mut [u8],
) -> Result<(), MorphError> {
    square(map, w, h, r, scratch, true)
}

/// Opening (erode, then dilate): removes specks and thin lines (an ECG trace
/// crossing the sector edge) narrower than `2r+1` pixels.
pub fn open(
    map: &mut [u8],
    w: usize,
    h: usize,
    r: usize,
    scratch: &mut [u8],
) -> Result<(), MorphError> {
    erode(map, w, h, r, scratch)?;
    dilate(map, w, h, r, scratch)
}

/// Closing (dilate, then erode): fills gaps and notches narrower than
/// `2r+1` pixels (dropouts in a dark near field).
pub fn close(
    map: &mut [u8],
    w: usize,
    h: usize,
    r: usize,
    scratch: &mut [u8],
) -> Result<(), MorphError> {
    dilate(map, w, h, r, scratch)?;
    erode(map, w, h, r, scratch)
}

/// One square erosion/dilation as two separable 1-D passes (rows into
/// `scratch`, columns back into `map`), each a running count, so the cost
/// does not grow with `r`.
fn square(
    map: &mut [u8],
    w: usize,
    h: usize,
    r: usize,
    scratch: &mut [u8],
    dilate: bool,
) -> Result<(), MorphError> {
    let n = check_map(map.len(), w, h)?;
    let scratch = scratch.get_mut(..n).ok_or(MorphError::ScratchTooSmall)?;
    for y in 0..h {
        line_pass(map, scratch, y * w, 1, w, r, dilate);
    }
    for x in 0..w {
        line_pass(scratch, map, x, w, h, r, dilate);
    }
    Ok(())
}

/// The 1-D pass over `len` pixels starting at `start`, `step` apart.
fn line_pass(
    src: &[u8],
    dst: &mut [u8],
    start: usize,
    step: usize,
    len: usize,
    r: usize,
    dilate: bool,
) {
    // A window wider than the line covers all of it (and `k + r` can't overflow).
    let r = r.min(len);
    let at = |k: usize| start + k * step;
    // Set pixels within the in-frame part of the window [k - r, k + r].
    let mut set = (0..=r.min(len - 1)).filter(|&k| src[at(k)] != 0).count();
    for k in 0..len {
        let lo = k.saturating_sub(r);
        let hi = (k + r).min(len - 1);
        let keep = if dilate { set > 0 } else { set == hi - lo + 1 };
        dst[at(k)] = if keep { 255 } else { 0 };
        // Slide: drop pixel k - r, add pixel k + r + 1.
        if k >= r && src[at(k - r)] != 0 {
            set -= 1;
        }
        if k + r + 1 < len && src[at(k + r + 1)] != 0 {
            set += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn parse<const N: usize>(rows: &[&str]) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, c) in rows.iter().flat_map(|r| r.bytes()).enumerate() {
            out[i] = if c == b'#' { 255 } else { 0 };
        }
        out
    }

    /// The labelling as it was, every join a full `union`: the fast path
    /// must leave the same labels, roots included.
    fn label_reference(map: &[u8], w: usize, h: usize, threshold: u8) -> (Vec<u32>, usize) {
        let n = w * h;
        let mut labels = vec![0u32; n];
        let mut count = 0;
        for i in 0..n {
            if map[i] < threshold {
                labels[i] = BACKGROUND;
                continue;
            }
            labels[i] = ROOT | 1;
            count += 1;
            let (x, y) = (i % w, i / w);
            let fg = |l: &[u32], j: usize| l[j] != BACKGROUND;
            let (left, up_left) = (
                x > 0 && fg(&labels, i - 1),
                x > 0 && y > 0 && fg(&labels, i - w - 1),
            );
            let (up, up_right) = (
                y > 0 && fg(&labels, i - w),
                y > 0 && x + 1 < w && fg(&labels, i - w + 1),
            );
            let mut join = |l: &mut [u32], j: usize| {
                if union(l, i, j) {
                    count -= 1;
                }
            };
            if up {
                join(&mut labels, i - w);
                continue;
            }
            if left {
                join(&mut labels, i - 1);
            } else if up_left {
                join(&mut labels, i - w - 1);
            }
            if up_right {
                join(&mut labels, i - w + 1);
            }
        }
        for i in 0..n {
            if labels[i] & ROOT == 0 {
                labels[i] = find(&mut labels, i) as u32;
            }
        }
        (labels, count)
    }

    #[test]
    fn labels_match_the_plain_union_find() {
        let mut seed = 11u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        for case in 0..200 {
            let (w, h) = (1 + (next() % 40) as usize, 1 + (next() % 30) as usize);
            let density = next() % 100;
            let map: Vec<u8> = (0..w * h)
                .map(|_| if next() % 100 < density { 255 } else { 0 })
                .collect();
            let mut labels = vec![0u32; w * h];
            let count = label_components(&map, w, h, 128, &mut labels).unwrap();
            let (reference, ref_count) = label_reference(&map, w, h, 128);
            assert_eq!(labels, reference, "case {case}: {w}x{h}");
            assert_eq!(count, ref_count, "case {case}");
        }
    }

    #[test]
    fn components_are_eight_connected_and_counted() {
        let map: [u8; 20] = parse(&["##...", "..#..", "...#.", "#...."]);
        let mut labels = [0u32; 20];
        // {0,1,7,13} joined diagonally; 15 alone.
        assert_eq!(label_components(&map, 5, 4, 128, &mut labels), Ok(2));
        let r = component_of(&labels, 0).unwrap();
        assert_eq!(component_of(&labels, 13), Some(r));
        assert_eq!(component_area(&labels, r), 4);
        assert_ne!(component_of(&labels, 15), Some(r));
        assert_eq!(component_of(&labels, 2), None);
    }

    #[test]
    fn largest_component_keeps_one() {
        let mut map: [u8; 20] = parse(&["##..#", "##...", ".....", "...##"]);
        let mut labels = [0u32; 20];
        assert_eq!(largest_component(&mut map, 5, 4, &mut labels), Ok(4));
        let want: [u8; 20] = parse(&["##...", "##...", ".....", "....."]);
        assert_eq!(map, want);
        let mut empty = [0u8; 20];
        assert_eq!(largest_component(&mut empty, 5, 4, &mut labels), Ok(0));
    }

    #[test]
    fn holes_fill_but_border_bays_do_not() {
        let mut queue = [0u32; 36];
        assert_eq!(
            fill_holes(&mut [0u8; 30], 6, 6, &mut queue),
            Err(MorphError::BadMapSize)
        );
        let mut map: [u8; 36] =
            parse(&["#####.", "#..#..", "#####.", "#.#...", "#.#.#.", "......"]);
        assert_eq!(fill_holes(&mut map, 6, 6, &mut queue), Ok(2));
        let want: [u8; 36] = parse(&["#####.", "####..", "#####.", "#.#...", "#.#.#.", "......"]);
        assert_eq!(map, want);
    }

    #[test]
    fn open_removes_specks_close_fills_notches() {
        let mut map: [u8; 49] = parse(&[
            "#......", ".......", "..###..", "..###..", "..###..", ".......", "......#",
        ]);
        let mut s = [0u8; 49];
        open(&mut map, 7, 7, 1, &mut s).unwrap();
        let want: [u8; 49] = parse(&[
            ".......", ".......", "..###..", "..###..", "..###..", ".......", ".......",
        ]);
        assert_eq!(map, want);
        let mut map: [u8; 49] = parse(&[
            "#######", "#######", "###.###", "#######", "##.####", "#######", "#######",
        ]);
        close(&mut map, 7, 7, 1, &mut s).unwrap();
        assert!(map.iter().all(|&p| p == 255), "{map:?}");
        // r = 0 is the identity (after normalising to 0/255).
        let mut map: [u8; 49] = parse(&["#.#.#.#"; 7]);
        let before = map;
        open(&mut map, 7, 7, 0, &mut s).unwrap();
        assert_eq!(map, before);
        // A huge radius is the whole frame, not an overflow.
        close(&mut map, 7, 7, usize::MAX, &mut s).unwrap();
        assert!(map.iter().all(|&p| p == 255));
        erode(&mut map, 7, 7, usize::MAX, &mut s).unwrap();
        assert!(map.iter().all(|&p| p == 255));
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut map = [0u8; 12];
        let mut s8 = [0u8; 11];
        let mut s32 = [0u32; 11];
        assert_eq!(
            open(&mut map, 4, 3, 1, &mut s8),
            Err(MorphError::ScratchTooSmall)
        );
        assert_eq!(
            close(&mut map, 0, 3, 1, &mut s8),
            Err(MorphError::BadMapSize)
        );
        assert_eq!(
            largest_component(&mut map, 4, 3, &mut s32),
            Err(MorphError::ScratchTooSmall)
        );
        assert_eq!(
            fill_holes(&mut map, 4, 3, &mut s32),
            Err(MorphError::ScratchTooSmall)
        );
        assert_eq!(
            label_components(&map, usize::MAX, 2, 1, &mut s32),
            Err(MorphError::BadMapSize)
        );
    }
}

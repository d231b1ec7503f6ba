//! A cap on single allocations while dicom-rs parses one file.
//!
//! dicom-rs reserves a value's declared length before it reads the value
//! (`try_reserve_exact`, then a zero fill), so a few kilobytes whose lengths
//! claim gigabytes cost gigabytes of memory before the read fails. The
//! structure scan ([`super::structure`]) refuses lengths past the end of the
//! file up front, but it cannot follow every way dicom-rs reads a damaged
//! file (fuzzing found 10 files where the two disagree). This closes the
//! class: while a file is parsed, any single allocation larger than the file
//! could ever need fails, and dicom-rs's fallible reservation turns that
//! into a parse error instead of memory.
//!
//! The cap works through [`CappedAlloc`], which a binary installs as its
//! `#[global_allocator]` (the `sonomask` binary, the test binaries and the
//! fuzz targets do). Without it [`with_cap`] changes nothing and the
//! structure scan is the only guard.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// The largest single allocation this thread may make; `usize::MAX`
    /// outside [`with_cap`]. Const-initialised with no destructor, so
    /// reading it from the allocator never allocates.
    static CAP: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn cap() -> usize {
    CAP.try_with(Cell::get).unwrap_or(usize::MAX)
}

/// The system allocator, refusing single allocations over the calling
/// thread's cap (see [`with_cap`]).
pub struct CappedAlloc;

// SAFETY: every call is forwarded unchanged to `System`, whose contract the
// caller meets; the only change is returning null (allocation failure, which
// the `GlobalAlloc` contract allows) for sizes over the cap.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > cap() {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > cap() {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > cap() {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout` (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` with single allocations on this thread capped at `limit` bytes
/// (restored afterwards, also on unwinding). Only what `f` runs on this
/// thread is capped.
pub fn with_cap<T>(limit: usize, f: impl FnOnce() -> T) -> T {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = CAP.try_with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CAP.with(|c| c.replace(limit.min(cap()))));
    f()
}

/// The cap for parsing a DICOM file of `len` bytes: no value of a parsed
/// file is longer than the file, except in a deflated data set (inflated
/// while parsing), which may hold up to 128 times its size; never under
/// 64 MiB, so small files parse with ordinary headroom.
pub fn parse_cap(len: u64, deflated: bool) -> usize {
    let factor = if deflated { 128 } else { 2 };
    let cap = len.saturating_mul(factor).max(64 << 20);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_caps_follow_the_file_size() {
        assert_eq!(parse_cap(1000, false), 64 << 20);
        assert_eq!(parse_cap(100 << 20, false), 200 << 20);
        assert_eq!(parse_cap(1 << 20, true), 128 << 20);
    }

    #[test]
    fn caps_nest_and_are_restored() {
        assert_eq!(cap(), usize::MAX);
        with_cap(1000, || {
            assert_eq!(cap(), 1000);
            // An inner cap never loosens an outer one.
            with_cap(5000, || assert_eq!(cap(), 1000));
            with_cap(10, || assert_eq!(cap(), 10));
            assert_eq!(cap(), 1000);
        });
        assert_eq!(cap(), usize::MAX);
        let r = std::panic::catch_unwind(|| with_cap(7, || panic!("unwind")));
        assert!(r.is_err());
        assert_eq!(cap(), usize::MAX);
    }
}

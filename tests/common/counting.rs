//! A counting global allocator for the memory tests: allocations, live
//! bytes and peaks, per thread. A test file declares it with
//! `#[global_allocator] static GLOBAL: counting::Counting = counting::Counting;`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations and live heap bytes per thread, so tests running in
/// parallel do not see each other's allocations.
pub struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

fn grew(by: isize) {
    LIVE.with(|c| {
        let now = c.get() + by;
        c.set(now);
        PEAK.with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every method forwards its arguments unchanged to the system
// allocator, so its contract is the caller's contract; the counting touches
// only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        BYTES.with(|c| c.set(c.get() + layout.size()));
        grew(layout.size() as isize);
        // SAFETY: forwarded as received; see the impl's note.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.with(|c| c.set(c.get() - layout.size() as isize));
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        BYTES.with(|c| c.set(c.get() + new_size));
        // A realloc holds both blocks for a moment, but glibc moves large
        // blocks with mremap; count the new size, as the kernel does.
        grew(new_size as isize - layout.size() as isize);
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

pub fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

/// Bytes asked of the allocator so far (a realloc counts its new size),
/// freed or not: what a run allocated, as against what it holds.
pub fn allocated_bytes() -> usize {
    BYTES.with(Cell::get)
}

pub fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Run `f` and return the most heap it held at once beyond what was live
/// when it started.
pub fn peak_during(f: impl FnOnce()) -> usize {
    let base = live();
    PEAK.with(|p| p.set(base));
    f();
    (PEAK.with(Cell::get) - base).max(0) as usize
}

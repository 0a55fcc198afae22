//! permessage-deflate's receive path under a counting allocator: the
//! bytes allocated while one compressed message arrives in small reads
//! stay within a constant factor of the message (tests/memory.rs covers
//! the steady state; this file has its own allocator so its counts are
//! its own).
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::deflate::connections;
use common::{server_frame, t};
use wscore::Config;
use wscore::extension::deflate::DeflateParams;

/// Counts the bytes each thread allocates (new blocks and the new size of
/// every realloc), so parallel tests do not see each other's.
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(n: usize) {
    let _ = ALLOCATED.try_with(|c| c.set(c.get() + n));
}

// SAFETY: every call is forwarded unchanged to `System`, a sound
// allocator; the counting touches only a const-initialised thread-local,
// which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> usize {
    ALLOCATED.with(Cell::get)
}

/// A 4 MB binary message compressed to a few KB, received whole-mode in
/// reads of 1 and 64 bytes: the inflater's buffer grows geometrically to
/// hold it, so all it allocates is a small multiple of the message. It
/// used to be cut back to the message so far (and so regrown) on every
/// read: 25 GB allocated for the 4 MB message read a byte at a time
/// (about 17 MB now: the geometric growth's sum).
#[test]
fn a_compressed_message_read_in_small_pieces_allocates_linearly() {
    let len = 4 << 20;
    let payload = miniz_oxide::deflate::compress_to_vec(&vec![7u8; len], 6);
    let wire = server_frame(0xc2, &payload);
    for read in [1usize, 64, wire.len()] {
        let (mut client, _) = connections(
            &DeflateParams::default(),
            &Config::default(),
            &Config::default(),
        );
        let before = allocated();
        let mut got = 0;
        for c in wire.chunks(read) {
            client.handle_input(t(0), c);
            while let Some(e) = client.poll_event() {
                if let wscore::Event::Binary(b) = e {
                    got += b.len();
                }
            }
        }
        let spent = allocated() - before;
        assert_eq!(got, len);
        assert!(
            spent < 8 * len,
            "reads of {read}: {spent} bytes allocated for a {len}-byte message"
        );
    }
}

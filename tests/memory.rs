//! Memory per connection, measured with a counting allocator: an idle
//! connection's total cost, and zero allocations per message in steady state.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use wscore::{Config, Connection, Event};

/// Counts allocations and live heap bytes per thread, so tests running in
/// parallel do not see each other's allocations.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

// SAFETY: every method forwards its arguments unchanged to the system
// allocator, so its contract is the caller's contract; the counting touches
// only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        LIVE.with(|c| c.set(c.get() + layout.size() as isize));
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
        LIVE.with(|c| c.set(c.get() + new_size as isize - layout.size() as isize));
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// The README states this figure; keep them in step.
const IDLE_BUDGET: usize = 256;

#[test]
fn idle_connection_costs_at_most_256_bytes() {
    let size = std::mem::size_of::<Connection>();
    // A server, and a client whose mask source is a zero-sized closure (a
    // real one calling the OS random source is zero-sized too).
    let before = live();
    let s = server(&Config::default());
    let c = Connection::client(&Config::default(), t(0), || [1, 2, 3, 4]);
    let heap = (live() - before) as usize;
    assert_eq!(heap, 0, "a fresh connection holds no heap");
    assert!(size <= IDLE_BUDGET, "size_of::<Connection>() = {size}");
    println!("size_of::<Connection>() = {size} bytes, heap when idle = {heap} bytes");
    drop((s, c));
}

#[test]
fn connection_returns_to_zero_heap_after_traffic_and_release() {
    let base = live();
    let mut p = Pair::new();
    for i in 0..50 {
        p.client.send_binary(&vec![i as u8; 100_000]).unwrap();
        p.client.send_ping(b"p").unwrap();
        p.server.send_text("reply").unwrap();
        p.drive();
    }
    assert_eq!(p.take_server_events().len(), 100);
    // Drop the harness's own logs so only the two connections remain.
    let Pair {
        mut client,
        mut server,
        client_wire,
        server_wire,
        client_events,
        ..
    } = p;
    drop((client_wire, server_wire, client_events));
    assert!(
        live() - base > 0,
        "buffers are retained for reuse before release"
    );
    client.release_buffers();
    server.release_buffers();
    // Left: the client's boxed counter mask source (a u32).
    let held = live() - base;
    assert!(held <= 4, "{held} bytes held after release_buffers");
}

#[test]
fn large_buffers_are_not_retained_past_the_limit() {
    // A message bigger than `retain_buffer` must not stay allocated once
    // it is delivered and drained.
    let mut s = server(&Config::default());
    let base = live();
    s.handle_input(t(0), &client_frame(0x82, &vec![0; 1 << 20]));
    assert!(matches!(s.poll_event(), Some(Event::Binary(b)) if b.len() == 1 << 20));
    assert!(s.poll_event().is_none());
    let held = live() - base;
    assert!(
        held <= 2 * (16 << 10),
        "holds {held} bytes after a 1 MiB message"
    );
}

#[test]
fn zero_allocations_per_message_in_steady_state() {
    let mut s = server(&Config::default());
    let mut wire = client_frame(0x81, &[b'a'; 1000]);
    wire.extend(client_frame(0x82, &[7; 3000]));
    wire.extend(client_frame(0x89, b"ping"));
    let mut out = Vec::with_capacity(1 << 16);
    let round = |s: &mut Connection, out: &mut Vec<u8>| {
        s.handle_input(t(0), &wire);
        let mut n = 0;
        while let Some(e) = s.poll_event() {
            if let Event::Text(t) = e {
                n += t.len();
            }
        }
        s.send_binary(&[1; 2000]).unwrap();
        s.poll_transmit(out);
        out.clear();
        n
    };
    // Warm up: buffers grow to the traffic's size.
    for _ in 0..3 {
        round(&mut s, &mut out);
    }
    let before = allocs();
    for _ in 0..1000 {
        assert_eq!(round(&mut s, &mut out), 1000);
    }
    assert_eq!(allocs() - before, 0, "allocations in steady state");
}

#[test]
fn zero_allocations_per_message_for_a_client_too() {
    let mut c = client(&Config::default());
    let wire = server_frame(0x82, &[3; 500]);
    let mut out = Vec::with_capacity(1 << 16);
    for _ in 0..3 {
        c.handle_input(t(0), &wire);
        while c.poll_event().is_some() {}
        c.send_text("echo").unwrap();
        c.poll_transmit(&mut out);
        out.clear();
    }
    let before = allocs();
    for _ in 0..1000 {
        c.handle_input(t(0), &wire);
        while c.poll_event().is_some() {}
        c.send_text("echo").unwrap();
        c.poll_transmit(&mut out);
        out.clear();
    }
    assert_eq!(allocs() - before, 0);
}

//! The connection's side of permessage-deflate (RFC 7692 sections 6 and
//! 7.2): the compressor, its scratch output and the inflater, in one box
//! that exists only when the handshake agreed on the extension.

use alloc::boxed::Box;
use alloc::vec::Vec;

use once_cell::race::OnceBox;

use super::{Compressor, DeflateConfig, DeflateParams};
pub(crate) use super::{InflateError, Inflater};
use crate::role::Role;

/// Both directions of the extension.
#[derive(Debug)]
pub(crate) struct Deflate {
    pub(crate) inflater: Inflater,
    pub(crate) tx: DeflateTx,
}

impl Deflate {
    /// The codec for what the handshake agreed (`params`), run by the
    /// side playing `role`, with our preferences from `config`.
    pub(crate) fn new(params: &DeflateParams, role: Role, config: &DeflateConfig) -> Deflate {
        let (own_bits, own_reset) = params.own(role);
        let (peer_bits, peer_reset) = params.peer(role);
        Deflate {
            inflater: Inflater::new(peer_bits, peer_reset),
            tx: DeflateTx {
                // The agreed window is an upper bound; our policy may be
                // smaller still (a smaller window is always allowed).
                compressor: Compressor::new(
                    own_bits.min(config.max_window_bits.clamp(8, 15)),
                    config.level,
                ),
                scratch: Vec::new(),
                reset: own_reset || config.no_context_takeover,
                min_size: config.min_size,
                fragments: false,
            },
        }
    }

    /// The two directions, borrowed apart.
    pub(crate) fn split(&mut self) -> (&mut Inflater, &mut DeflateTx) {
        (&mut self.inflater, &mut self.tx)
    }

    /// Bytes the inflater moved inside its buffer so far.
    pub(crate) fn bytes_moved(&self) -> u64 {
        self.inflater.bytes_moved()
    }

    /// Heap bytes held by the box and what it owns.
    pub(crate) fn heap_usage(&self) -> usize {
        core::mem::size_of::<Deflate>()
            + self.inflater.heap_usage()
            + self.tx.compressor.heap_usage()
            + self.tx.scratch.capacity()
    }

    /// Free what an idle connection need not keep: everything but
    /// the history a kept context needs (the last `2^window` bytes or
    /// fewer each way, each in an allocation of its exact size; nothing
    /// for a side that resets). The decoder's tables, the hash chains
    /// and the scratch go; the next message rebuilds them from the
    /// history. `receiving` says a compressed message is half
    /// received, so the inflater's state is needed. `closed`: our
    /// Close went out, so nothing will be compressed again, whatever
    /// the context rules. A message being sent in pieces is no
    /// obstacle: the compressor stops at a sync flush after each piece,
    /// so its history is all it needs there too.
    pub(crate) fn release(&mut self, receiving: bool, closed: bool) {
        self.inflater.release(!receiving);
        self.tx.scratch = Vec::new();
        self.tx.compressor.release(!closed);
    }
}

/// The sending direction.
#[derive(Debug)]
pub(crate) struct DeflateTx {
    compressor: Compressor,
    /// The compressed payload of the message being sent, kept for reuse.
    scratch: Vec<u8>,
    /// Forget the context after every message (our side's
    /// `*_no_context_takeover`, agreed or chosen).
    reset: bool,
    min_size: u32,
    /// A message sent in pieces is being compressed.
    fragments: bool,
}

impl DeflateTx {
    /// Whether the message being sent in pieces is compressed.
    pub(crate) fn fragments(&self) -> bool {
        self.fragments
    }

    /// Start or end compressing a message sent in pieces.
    pub(crate) fn set_fragments(&mut self, on: bool) {
        self.fragments = on;
    }

    /// Whether a whole message of `len` bytes goes compressed.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.min_size as usize
    }

    /// A message compressed elsewhere (a prepared one, compressed from an
    /// empty history) went out. The peer's window now ends with its
    /// plaintext, ours does not: with context kept, our next message could
    /// refer to bytes that sit elsewhere in the peer's window, and inflate
    /// to garbage. Forgetting our history makes the next message refer to
    /// nothing before it, which every window decodes. O(1) (see
    /// `Window::reset`), where feeding the plaintext in would hash every
    /// byte of it once per member, the work preparing saves.
    pub(crate) fn forget_history(&mut self) {
        self.compressor.reset();
    }

    /// Compress the next piece of a message (all of it when `fin`
    /// comes with the first) and return the payload to frame.
    pub(crate) fn compress(&mut self, data: &[u8], fin: bool, retain: usize) -> &[u8] {
        if self.scratch.capacity() > retain.max(data.len() + 64) {
            self.scratch = Vec::new();
        }
        self.scratch.clear();
        self.compressor.compress(data, fin, &mut self.scratch);
        if fin && self.reset {
            self.compressor.reset();
        }
        &self.scratch
    }
}

/// A prepared message's compressed forms: one per window size (8 to 15
/// bits), each made on first use from an empty history, so that it
/// decodes in any peer's window of at least that size whatever the peer
/// holds from before (RFC 7692 section 7.2.3.5's no-context case).
///
/// A message of `n` bytes compressed fresh never reaches back further
/// than `n - 1` bytes, so every window of at least `n` bytes gets the same
/// form, made with the smallest such window: a chat line is compressed
/// once for every connection, by a compressor of the 8-bit window's
/// memory (about 22 KB) instead of the connection's (74 KB at 13 bits).
///
/// `OnceBox` is lock-free and `no_std`: if two tasks need the same form at
/// once, both compress and one result is dropped; every later send reads
/// it with one atomic load.
pub(crate) struct PreparedDeflate<T> {
    forms: [OnceBox<T>; 8],
}

impl<T> PreparedDeflate<T> {
    /// No form made yet; allocates nothing.
    pub(crate) fn new() -> PreparedDeflate<T> {
        PreparedDeflate {
            forms: core::array::from_fn(|_| OnceBox::new()),
        }
    }

    /// The form for `tx`'s window: `data` compressed fresh as one whole
    /// message (tail stripped, section 7.2.1) at `tx`'s level, then
    /// handed to `build`; made by the first caller that needs it.
    pub(crate) fn get_or_make(
        &self,
        tx: &DeflateTx,
        data: &[u8],
        build: impl FnOnce(&[u8]) -> T,
    ) -> &T {
        let bits = tx.compressor.window_bits().min(bits_to_cover(data.len()));
        self.forms[usize::from(bits - 8)].get_or_init(|| {
            let mut payload = Vec::new();
            Compressor::compress_once(bits, tx.compressor.level(), data, &mut payload);
            Box::new(build(&payload))
        })
    }

    /// The window sizes a form was made with, as a bit set (bit `w - 8`).
    pub(crate) fn made(&self) -> u8 {
        (0..8).fold(0, |set, i| {
            set | (u8::from(self.forms[i].get().is_some()) << i)
        })
    }
}

/// The smallest window size, in bits (8 to 16), of at least `len` bytes:
/// past it a fresh message has nothing to refer to.
fn bits_to_cover(len: usize) -> u8 {
    (8..16).find(|&b| len <= 1 << b).unwrap_or(16)
}

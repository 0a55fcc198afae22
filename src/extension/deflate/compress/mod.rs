//! The compressor (RFC 7692 section 7.2.1): raw deflate (RFC 1951) whose
//! match distances never exceed the negotiated window, 8 to 15 bits.
//!
//! miniz_oxide (our inflater) compresses with a fixed 32 KiB window and
//! zlib cannot use a 256-byte one, so the encoder is our own:
//! - `lz77`: hash-chain matching over a window of `2^w` bytes, with chain
//!   length and lazy matching set by the level;
//! - `tokens`: the matches and literals of a block and their counts;
//! - `huffman`: length-limited code lengths;
//! - `block`: each block as dynamic Huffman, fixed Huffman or stored,
//!   whichever is smallest;
//! - `bits`, `symbols`: the bit writer and the format's tables.
//!
//! The window limit is enforced where candidates are accepted (`lz77`): a
//! position is used only if it is at most `2^w` bytes back and not before
//! the last reset, whatever the hash tables say, and its bytes are
//! compared for real. Memory grows with the window: a history buffer of
//! `2^w + max(2^w, 2 KiB)` bytes, a chain of `2^w` and a hash head of
//! `2^(w+1)` (10 to 15 bits) `u16` entries, a token buffer of
//! `2^(w+1)` (2Ki to 16Ki) `u32` entries, and ~9 KB of fixed-size tables:
//! about 22 KB at w=8, 74 KB at w=12 and 271 KB at w=15. A message
//! compressed on its own (`Compressor::compress_once`, what a prepared
//! message uses) gets a buffer and token list sized to it, and its fixed
//! tables on the stack: a few KB for a short one.
//!
//! That is working memory, not state: between messages the only thing the
//! stream depends on is the history, the last `min(2^w, bytes fed since
//! the last reset)` bytes. `Compressor::release` keeps just that, in an
//! allocation of its exact size, and the next message rebuilds the engine
//! and links the history back into fresh hash chains, so it still finds
//! matches in the messages before the release.

use alloc::boxed::Box;
use alloc::vec::Vec;

mod bits;
mod block;
mod huffman;
mod lz77;
#[cfg(test)]
mod reference;
mod symbols;
#[cfg(test)]
mod tests;
mod tokens;

use bits::BitWriter;
use block::{BlockCodes, write_block};
use lz77::{Effort, Window};
use tokens::Tokens;

/// Compresses the data messages of one connection (RFC 7692 section 7.2.1).
#[derive(Debug)]
pub(crate) struct Compressor {
    /// Window size in bits, 8..=15.
    window_bits: u8,
    /// Compression level, 1..=9.
    level: u8,
    /// Working memory, allocated at the first non-empty message after
    /// creation or a release.
    engine: Option<Box<Engine>>,
    /// While `engine` is released: the history the next message may refer
    /// to (empty without one). Boxed slice: exactly its length in heap.
    history: Box<[u8]>,
}

/// Everything a compressor allocates.
#[derive(Debug)]
struct Engine {
    /// History and hash chains.
    window: Window,
    /// The block being built.
    tokens: Tokens,
    /// Scratch for the block's codes.
    codes: BlockCodes,
    /// Search parameters of the level.
    effort: Effort,
}

impl Compressor {
    /// A compressor whose match distances stay within `2^window_bits`
    /// (8..=15; clamped), at `level` 1..=9 (clamped; 0 acts as 1).
    /// Allocates nothing until the first message.
    pub(crate) fn new(window_bits: u8, level: u8) -> Compressor {
        Compressor {
            window_bits: window_bits.clamp(8, 15),
            level: level.clamp(1, 9),
            engine: None,
            history: Box::default(),
        }
    }

    /// The window size in bits (8..=15) its matches stay within.
    pub(crate) fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// The compression level, 1..=9.
    pub(crate) fn level(&self) -> u8 {
        self.level
    }

    /// Compress `input` as the next piece of the current message and append
    /// the deflate data to `out`. The output always ends on a byte boundary
    /// holding every input byte (a sync flush); with `fin` (the message's
    /// last piece) the flush's `00 00 ff ff` tail is left off (section
    /// 7.2.1). BFINAL is never set, so the stream goes on.
    pub(crate) fn compress(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let mut w = BitWriter::new(out);
        if !input.is_empty() {
            let engine = match &mut self.engine {
                Some(engine) => engine,
                None => {
                    let history = core::mem::take(&mut self.history);
                    let engine = Engine::new(self.window_bits, self.level, &history, usize::MAX);
                    self.engine.insert(Box::new(engine))
                }
            };
            engine.compress(input, &mut w);
        }
        // Sync flush: an empty stored block, whose header ends the last
        // byte. Its LEN/NLEN are the 00 00 ff ff that `fin` leaves off.
        w.put(0, 3);
        w.align();
        if !fin {
            w.bytes(&[0, 0, 0xff, 0xff]);
        }
    }

    /// Compress `input` as one whole message from an empty history, for a
    /// window of `2^window_bits` bytes at `level` (both clamped as in
    /// [`new`](Self::new)), appending the deflate data, tail left off, to
    /// `out`: the same bytes a fresh compressor's `compress(input, true,
    /// out)` gives. Its working memory is sized to `input` and freed on
    /// return, and the fixed-size tables live on the stack (about 9 KB),
    /// so a short message costs a few KB of heap instead of a whole
    /// window's engine (22 KB at w=8): what a prepared message pays once.
    pub(crate) fn compress_once(window_bits: u8, level: u8, input: &[u8], out: &mut Vec<u8>) {
        let mut w = BitWriter::new(out);
        if !input.is_empty() {
            let (bits, level) = (window_bits.clamp(8, 15), level.clamp(1, 9));
            Engine::new(bits, level, &[], input.len()).compress(input, &mut w);
        }
        w.put(0, 3);
        w.align();
    }

    /// Forget the history (no context takeover), keeping the allocations.
    pub(crate) fn reset(&mut self) {
        if let Some(engine) = &mut self.engine {
            engine.window.reset();
        }
        self.history = Box::default();
    }

    /// Free the working memory between two calls of [`compress`](Self::compress)
    /// (which always end on a sync flush, so between messages or between
    /// the pieces of one). With `keep_history`, the history the stream
    /// may still refer to is kept (nothing after a `reset`); without, it
    /// goes too, for a compressor that will never run again. The next
    /// call rebuilds the engine from the history.
    pub(crate) fn release(&mut self, keep_history: bool) {
        if let Some(engine) = self.engine.take() {
            if keep_history {
                self.history = Box::from(engine.window.history());
            }
        }
        if !keep_history {
            self.history = Box::default();
        }
    }

    /// Heap bytes held now.
    pub(crate) fn heap_usage(&self) -> usize {
        self.history.len()
            + self.engine.as_ref().map_or(0, |e| {
                core::mem::size_of::<Engine>()
                    + e.window.heap_usage()
                    + 4 * e.tokens.list.capacity()
            })
    }
}

impl Engine {
    /// Working memory for a `2^window_bits` window at `level`, with
    /// `history` (at most `2^window_bits` bytes: what a released engine
    /// kept) as the data already sent, for at most `input` bytes to come
    /// (`usize::MAX`: a stream of any length).
    fn new(window_bits: u8, level: u8, history: &[u8], input: usize) -> Engine {
        // Blocks of up to 16Ki tokens amortise a dynamic header well; a
        // small window gets fewer (2^(w+1), at least 2Ki) so the token
        // buffer does not dwarf the window's own memory. Every token
        // covers at least one byte, so `input` tokens always suffice.
        let tokens = (2usize << window_bits).clamp(2048, 16384).min(input.max(1));
        Engine {
            window: Window::new(window_bits, history, input),
            tokens: Tokens::new(tokens),
            codes: BlockCodes::new(),
            effort: Effort::for_level(level),
        }
    }

    /// Encode all of `input` as blocks. Blocks never span calls, so a
    /// block's bytes are always a slice of `input` (what a stored block
    /// copies), whatever the window has slid past.
    fn compress(&mut self, input: &[u8], w: &mut BitWriter<'_>) {
        let mut taken = 0;
        let mut block_start = 0;
        loop {
            taken += self.window.fill(&input[taken..]);
            let more = taken < input.len();
            loop {
                self.window.tokenize(&mut self.tokens, &self.effort, more);
                if !self.tokens.is_full() {
                    break;
                }
                block_start = self.flush(input, block_start, w);
            }
            if !more {
                break;
            }
        }
        self.flush(input, block_start, w);
    }

    /// Write the pending tokens as a block; return where the next starts.
    fn flush(&mut self, input: &[u8], start: usize, w: &mut BitWriter<'_>) -> usize {
        let end = start + self.tokens.bytes;
        write_block(&mut self.tokens, &input[start..end], &mut self.codes, w);
        self.tokens.clear();
        end
    }
}

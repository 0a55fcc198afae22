//! The compressor. PLACEHOLDER: stored blocks only (valid deflate that
//! honours every window trivially, since it has no matches); the real
//! encoder replaces it.

use alloc::vec::Vec;

/// Compresses the data messages of one connection (RFC 7692 section 7.2.1).
#[derive(Debug)]
pub(crate) struct Compressor {
    window_bits: u8,
    level: u8,
}

impl Compressor {
    /// A compressor whose match distances stay within `2^window_bits`
    /// (8..=15). Allocates nothing until the first message.
    pub(crate) fn new(window_bits: u8, level: u8) -> Compressor {
        Compressor { window_bits, level }
    }

    /// Compress `input` as the next piece of the current message and append
    /// the deflate data to `out`. The output always ends on a byte boundary
    /// holding every input byte (a sync flush); with `fin` (the message's
    /// last piece) the flush's `00 00 ff ff` tail is left off (section
    /// 7.2.1).
    pub(crate) fn compress(&mut self, input: &[u8], fin: bool, out: &mut Vec<u8>) {
        let _ = (self.window_bits, self.level);
        for chunk in input.chunks(0xffff) {
            let len = chunk.len() as u16;
            out.push(0);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        out.push(0);
        if !fin {
            out.extend_from_slice(&[0, 0, 0xff, 0xff]);
        }
    }

    /// Forget the history (no context takeover), keeping the allocations.
    pub(crate) fn reset(&mut self) {}

    /// Free the working memory. Only for a compressor whose history may be
    /// dropped (after `reset`); the next message allocates again.
    pub(crate) fn release(&mut self) {}

    /// Heap bytes held.
    pub(crate) fn heap_usage(&self) -> usize {
        0
    }
}

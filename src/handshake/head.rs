//! The bounded, incremental reader of an HTTP/1.1 message head.
//!
//! It looks for the empty line that ends the head one byte at a time, with
//! a four-state machine that survives between calls, so every received
//! byte is examined exactly once however the input is chunked, and
//! `httparse` runs once, on the complete head. Re-parsing the whole buffer
//! on every call instead would make a head fed in tiny pieces cost
//! quadratic work (CVE-2023-43669 in another crate).

use alloc::vec::Vec;

/// Where the terminator search stands at the end of the bytes seen so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// Inside a line with content (or before the first byte).
    Content,
    /// A CR inside a line with content.
    ContentCr,
    /// Right after a line feed: an LF here would end the head.
    Start,
    /// A CR at the start of a line: an LF here ends the head.
    StartCr,
}

/// The head has grown past the configured maximum without ending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeadTooLong;

/// The outcome of feeding bytes to a [`HeadReader`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fill {
    /// The head ended after this many bytes of the input just given.
    Complete(usize),
    /// The head has not ended; every byte of the input was buffered.
    Partial,
}

/// Buffers a message head up to and including its terminating empty line,
/// never more than `max_len` bytes and never a byte past the head.
#[derive(Clone, Debug)]
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    line: Line,
    /// Line feeds seen: an upper bound on the number of header lines (each
    /// ends with one), used to size the header array handed to `httparse`.
    line_feeds: usize,
    max_len: usize,
    /// Bytes scanned for the terminator, copied, or handed to a parser.
    examined: usize,
}

impl HeadReader {
    pub(crate) fn new(max_len: usize) -> HeadReader {
        HeadReader {
            buf: Vec::new(),
            line: Line::Content,
            line_feeds: 0,
            max_len,
            examined: 0,
        }
    }

    /// Scan `input` for the end of the head and buffer the part of it that
    /// belongs to the head.
    ///
    /// A head may be exactly `max_len` bytes long, terminator included; as
    /// soon as the bytes prove it longer, this fails, so the buffer never
    /// exceeds `max_len`.
    pub(crate) fn fill(&mut self, input: &[u8]) -> Result<Fill, HeadTooLong> {
        // How many more bytes the head may take.
        let room = self.max_len.saturating_sub(self.buf.len());
        let mut end = None;
        for (i, &b) in input.iter().enumerate() {
            if i == room {
                self.examined += i;
                return Err(HeadTooLong);
            }
            self.line = match (self.line, b) {
                (Line::Start | Line::StartCr, b'\n') => {
                    end = Some(i + 1);
                    break;
                }
                (_, b'\n') => {
                    self.line_feeds += 1;
                    Line::Start
                }
                (Line::Start, b'\r') => Line::StartCr,
                (_, b'\r') => Line::ContentCr,
                // A stray CR followed by something else is not a line end;
                // httparse refuses it once the head is complete.
                _ => Line::Content,
            };
        }
        let taken = end.unwrap_or(input.len());
        self.examined += taken;
        self.append(&input[..taken]);
        match end {
            Some(n) => {
                self.line_feeds += 1;
                Ok(Fill::Complete(n))
            }
            // Full without an end: the next byte could only make it longer.
            None if self.buf.len() >= self.max_len => Err(HeadTooLong),
            None => Ok(Fill::Partial),
        }
    }

    /// Append within the cap, growing the allocation geometrically but never
    /// past `max_len`, so even the capacity stays bounded.
    fn append(&mut self, bytes: &[u8]) {
        let needed = self.buf.len() + bytes.len();
        if needed > self.buf.capacity() {
            let target = needed
                .max(self.buf.capacity().saturating_mul(2))
                .max(256)
                .min(self.max_len)
                .max(needed);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
        self.examined += bytes.len();
    }

    /// Take the complete head out, leaving the reader empty, and count the
    /// parse over it as examined work.
    pub(crate) fn take_head(&mut self) -> Vec<u8> {
        let head = core::mem::take(&mut self.buf);
        self.examined += head.len();
        head
    }

    /// Drop whatever is buffered (after a failure).
    pub(crate) fn clear(&mut self) {
        self.buf = Vec::new();
    }

    /// An upper bound on the number of header lines in the head.
    pub(crate) fn line_feeds(&self) -> usize {
        self.line_feeds
    }

    pub(crate) fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    #[cfg(test)]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub(crate) fn examined(&self) -> usize {
        self.examined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_crlf_and_bare_lf_terminators_across_calls() {
        let mut r = HeadReader::new(64);
        assert_eq!(r.fill(b"GET / HTTP/1.1\r\nA: b\r"), Ok(Fill::Partial));
        assert_eq!(r.fill(b"\n\r"), Ok(Fill::Partial));
        assert_eq!(r.fill(b"\nrest"), Ok(Fill::Complete(1)));
        assert_eq!(r.take_head(), b"GET / HTTP/1.1\r\nA: b\r\n\r\n");

        let mut r = HeadReader::new(64);
        assert_eq!(r.fill(b"GET / HTTP/1.1\nA: b\n\nx"), Ok(Fill::Complete(21)));
    }

    #[test]
    fn cap_is_inclusive() {
        let head = b"GET / HTTP/1.1\r\n\r\n";
        let mut r = HeadReader::new(head.len());
        assert_eq!(r.fill(head), Ok(Fill::Complete(head.len())));

        let mut r = HeadReader::new(head.len() - 1);
        assert_eq!(r.fill(head), Err(HeadTooLong));
        assert!(r.buffered_len() < head.len());
    }

    #[test]
    fn full_buffer_without_end_fails_at_once() {
        let mut r = HeadReader::new(8);
        assert_eq!(r.fill(b"GET / HT"), Err(HeadTooLong));
    }

    #[test]
    fn capacity_never_exceeds_cap() {
        let mut r = HeadReader::new(1000);
        for _ in 0..999 {
            assert_eq!(r.fill(b"a"), Ok(Fill::Partial));
            assert!(r.buffered_capacity() <= 1000);
        }
    }
}

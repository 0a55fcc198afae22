//! What the connection reports, and the arena it reports it from.
//!
//! Received payloads are copied once, from the input into one reusable byte
//! arena, as records `[tag][len: u64 LE][payload]`. `poll_event` hands out
//! borrowed views of the oldest record, so delivering a message allocates
//! nothing once the arena has grown to the traffic's size.

use alloc::vec::Vec;
use core::fmt;

use crate::close::CloseCode;
use crate::error::ProtocolError;

/// Something the connection reports to the application, borrowed from the
/// connection until the next call that takes `&mut self`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A whole text message (valid UTF-8).
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// In streaming mode, the next piece of a text message. Pieces are cut at
    /// character boundaries; `fin` marks the message's last piece.
    TextFragment {
        /// The piece (possibly empty when it only marks the end).
        data: &'a str,
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// In streaming mode, the next piece of a binary message.
    BinaryFragment {
        /// The piece (possibly empty when it only marks the end).
        data: &'a [u8],
        /// Whether the message ends with this piece.
        fin: bool,
    },
    /// A Ping arrived (already answered if `auto_pong` is on).
    Ping(&'a [u8]),
    /// A Pong arrived.
    Pong(&'a [u8]),
    /// The peer sent a Close frame (already answered if `auto_close` is on).
    Close {
        /// The peer's code, or [`CloseCode::NO_STATUS_RECEIVED`] (1005) if its
        /// Close carried none (section 7.1.5).
        code: CloseCode,
        /// The peer's reason (valid UTF-8, possibly empty).
        reason: &'a str,
    },
    /// The connection is over: write out what `poll_transmit` still holds,
    /// then close the transport. Always the last event.
    Closed(ClosedReason),
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosedReason {
    /// The close handshake completed (section 7.1.4: "the WebSocket connection
    /// is closed" cleanly). `code` is the peer's close code, 1005 if it sent none.
    Clean {
        /// The code of the peer's Close.
        code: CloseCode,
    },
    /// The peer broke the protocol; a Close with
    /// [`ProtocolError::close_code`] was queued for it.
    ProtocolError(ProtocolError),
    /// The transport ended before the close handshake did (reported as 1006).
    Eof,
    /// The peer did not answer a keepalive Ping in time (reported as 1006).
    KeepaliveTimeout,
    /// The close handshake did not finish in time (reported as 1006).
    CloseTimeout,
}

impl ClosedReason {
    /// The code that describes this ending to the application (section 7.1.5):
    /// the peer's code for a clean close, the code we sent for a protocol
    /// error, and 1006 when the connection was lost.
    #[must_use]
    pub const fn code(self) -> CloseCode {
        match self {
            ClosedReason::Clean { code } => code,
            ClosedReason::ProtocolError(e) => e.close_code(),
            ClosedReason::Eof | ClosedReason::KeepaliveTimeout | ClosedReason::CloseTimeout => {
                CloseCode::ABNORMAL
            }
        }
    }

    /// Whether the close handshake completed.
    #[must_use]
    pub const fn is_clean(self) -> bool {
        matches!(self, ClosedReason::Clean { .. })
    }
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedReason::Clean { code } => write!(f, "closed cleanly by the peer with {code}"),
            ClosedReason::ProtocolError(e) => write!(f, "the peer broke the protocol: {e}"),
            ClosedReason::Eof => f.write_str("the transport ended before the close handshake"),
            ClosedReason::KeepaliveTimeout => {
                f.write_str("the peer did not answer a keepalive ping")
            }
            ClosedReason::CloseTimeout => f.write_str("the close handshake timed out"),
        }
    }
}

/// Record tags in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    Text = 0,
    Binary = 1,
    TextPiece = 2,
    TextPieceFin = 3,
    BinaryPiece = 4,
    BinaryPieceFin = 5,
    Ping = 6,
    Pong = 7,
    Close = 8,
}

impl Tag {
    fn from_u8(v: u8) -> Tag {
        match v {
            0 => Tag::Text,
            1 => Tag::Binary,
            2 => Tag::TextPiece,
            3 => Tag::TextPieceFin,
            4 => Tag::BinaryPiece,
            5 => Tag::BinaryPieceFin,
            6 => Tag::Ping,
            7 => Tag::Pong,
            // Only this module writes tags, and only the values above.
            _ => Tag::Close,
        }
    }
}

/// Bytes before each record's payload: the tag and a u64 length.
pub(crate) const RECORD_HEADER: usize = 9;

/// The queue of received events, as records in one byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    pub(crate) buf: Vec<u8>,
    /// Records before this offset were handed out and may be dropped.
    read: usize,
    /// Records before this offset are complete; a control frame still
    /// arriving may sit after it.
    complete: usize,
}

impl Arena {
    /// Drop the records already handed out. Called at the top of every
    /// `&mut self` entry point, when no borrowed event can be alive.
    pub(crate) fn compact(&mut self, retain: usize) {
        if self.read == 0 {
            return;
        }
        if self.read == self.buf.len() {
            self.buf.clear();
            if self.buf.capacity() > retain {
                self.buf = Vec::new();
            }
        } else {
            self.buf.drain(..self.read);
        }
        self.complete -= self.read;
        self.read = 0;
    }

    /// Whether nothing, complete or partial, is stored.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether a complete record is waiting to be handed out.
    pub(crate) fn has_pending(&self) -> bool {
        self.read < self.complete
    }

    /// Start a record whose payload will be appended to `buf`; returns its
    /// start offset for [`Arena::finish`].
    pub(crate) fn begin(&mut self, tag: Tag) -> usize {
        let start = self.buf.len();
        self.buf.push(tag as u8);
        self.buf.extend_from_slice(&[0; RECORD_HEADER - 1]);
        start
    }

    /// Seal the record begun at `start`: its payload is everything after its header.
    pub(crate) fn finish(&mut self, start: usize) {
        let len = (self.buf.len() - start - RECORD_HEADER) as u64;
        self.buf[start + 1..start + RECORD_HEADER].copy_from_slice(&len.to_le_bytes());
        self.complete = self.buf.len();
    }

    /// Where the record still being filled starts.
    pub(crate) fn partial_start(&self) -> usize {
        self.complete
    }

    /// Drop a record begun at `start` that will not be finished.
    pub(crate) fn abandon(&mut self, start: usize) {
        self.buf.truncate(start);
    }

    /// Drop any record still being filled (on a fatal error).
    pub(crate) fn abandon_partial(&mut self) {
        self.buf.truncate(self.complete);
    }

    /// Take a buffer that already holds one complete record (a whole message
    /// assembled with a placeholder header), by swapping buffers when the
    /// arena is empty and copying otherwise. Returns the buffer to reuse.
    pub(crate) fn push_assembled(&mut self, mut record: Vec<u8>) -> Vec<u8> {
        if self.buf.is_empty() {
            core::mem::swap(&mut self.buf, &mut record);
            self.complete = self.buf.len();
            record
        } else {
            self.buf.extend_from_slice(&record);
            self.complete = self.buf.len();
            record.clear();
            record
        }
    }

    /// Hand out the oldest complete record.
    pub(crate) fn pop(&mut self) -> Option<Event<'_>> {
        if !self.has_pending() {
            return None;
        }
        let start = self.read;
        let tag = Tag::from_u8(self.buf[start]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&self.buf[start + 1..start + RECORD_HEADER]);
        let len = u64::from_le_bytes(len) as usize;
        let body = start + RECORD_HEADER;
        self.read = body + len;
        let payload = &self.buf[body..body + len];
        Some(decode(tag, payload))
    }
}

/// Text records were validated as they arrived; this second check only turns
/// them into `&str` without `unsafe`, and cannot fail.
fn text(payload: &[u8]) -> &str {
    core::str::from_utf8(payload).unwrap_or_default()
}

fn decode(tag: Tag, payload: &[u8]) -> Event<'_> {
    match tag {
        Tag::Text => Event::Text(text(payload)),
        Tag::Binary => Event::Binary(payload),
        Tag::TextPiece | Tag::TextPieceFin => Event::TextFragment {
            data: text(payload),
            fin: tag == Tag::TextPieceFin,
        },
        Tag::BinaryPiece | Tag::BinaryPieceFin => Event::BinaryFragment {
            data: payload,
            fin: tag == Tag::BinaryPieceFin,
        },
        Tag::Ping => Event::Ping(payload),
        Tag::Pong => Event::Pong(payload),
        Tag::Close => match payload {
            [hi, lo, reason @ ..] => Event::Close {
                code: CloseCode(u16::from_be_bytes([*hi, *lo])),
                reason: text(reason),
            },
            _ => Event::Close {
                code: CloseCode::NO_STATUS_RECEIVED,
                reason: "",
            },
        },
    }
}

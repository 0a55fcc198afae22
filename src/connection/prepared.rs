//! A message framed once, and compressed once per window size, for many
//! connections: a broadcast's fan-out copies bytes instead of framing and
//! compressing the same payload for every member.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::deflate::PreparedDeflate;
use super::event::MessageKind;
use crate::frame::{FrameHeader, Opcode};

/// A whole data message framed once, to be sent on any number of
/// connections with [`Connection::send_prepared`](crate::Connection::send_prepared)
/// (or [`Sender::send_prepared`](crate::Sender::send_prepared)).
///
/// A server's frames are not masked (RFC 6455 section 5.1), so one frame,
/// header and payload, is byte for byte the same on every server
/// connection: it is built here, once, and each connection copies it into
/// its transmit queue. With permessage-deflate (RFC 7692), the payload is
/// compressed on first use for each window size a connection needs (8 to
/// 15 bits, from what it agreed and its
/// [`DeflateConfig::max_window_bits`](crate::extension::deflate::DeflateConfig::max_window_bits)),
/// from an empty history, so that it decodes on any connection using that
/// window whatever the peer kept from earlier messages. With the default
/// configuration every connection needs the same window, 13 bits, and the
/// message is compressed once; a message no longer than a window (a chat
/// line: 256 bytes or fewer for every window) is compressed once for all
/// windows, since a fresh message cannot refer further back than itself.
/// Each form is compressed at the
/// [`DeflateConfig::level`](crate::extension::deflate::DeflateConfig::level)
/// of the first connection that needs it; any level decodes the same.
///
/// Share it across tasks as `Arc<PreparedMessage>`: it is `Send + Sync`,
/// and a compressed form is made lock-free (`once_cell::race::OnceBox`)
/// by the first task that needs it; if two race, both compress and one
/// result is kept.
///
/// Cost: building copies the payload once, into the frame (header
/// included), in one allocation. Each compressed form is one compression
/// of the payload, made once per window size and kept until the message
/// is dropped. The compressor's working memory for it is sized to the
/// payload rather than to a window (its fixed tables are on the stack)
/// and freed at once: under 4 KiB of heap in all for a chat line
/// (`tests/prepared.rs`: `preparing_costs_heap_sized_to_the_message`).
pub struct PreparedMessage {
    /// The uncompressed frame; also the payload each compressed form is
    /// made from.
    plain: PreparedFrame,
    /// The compressed frames, one per window size, made on first use.
    deflate: PreparedDeflate<PreparedFrame>,
}

/// One frame, header and payload, for a whole message.
pub(crate) struct PreparedFrame {
    /// The encoded frame, unmasked, FIN set.
    bytes: Box<[u8]>,
    /// Where the payload starts in `bytes`.
    head: u8,
    /// Text or Binary.
    pub(crate) opcode: Opcode,
    /// A compressed message's first frame (RFC 7692 section 6).
    pub(crate) rsv1: bool,
}

impl PreparedFrame {
    fn new(opcode: Opcode, rsv1: bool, payload: &[u8]) -> PreparedFrame {
        let header = FrameHeader {
            rsv1,
            ..FrameHeader::new(opcode, payload.len() as u64)
        };
        let head = header.to_bytes();
        let mut bytes = Vec::with_capacity(head.as_bytes().len() + payload.len());
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(payload);
        PreparedFrame {
            bytes: bytes.into_boxed_slice(),
            head: head.as_bytes().len() as u8,
            opcode,
            rsv1,
        }
    }

    /// The whole frame, as a server sends it.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The payload alone, for a connection that must frame it itself.
    #[inline]
    pub(crate) fn payload(&self) -> &[u8] {
        &self.bytes[usize::from(self.head)..]
    }
}

impl PreparedMessage {
    /// A text message.
    #[must_use]
    pub fn text(text: &str) -> PreparedMessage {
        PreparedMessage::new(Opcode::Text, text.as_bytes())
    }

    /// A binary message.
    #[must_use]
    pub fn binary(data: &[u8]) -> PreparedMessage {
        PreparedMessage::new(Opcode::Binary, data)
    }

    fn new(opcode: Opcode, payload: &[u8]) -> PreparedMessage {
        PreparedMessage {
            plain: PreparedFrame::new(opcode, false, payload),
            deflate: PreparedDeflate::new(),
        }
    }

    /// Text or binary.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self.plain.opcode {
            Opcode::Text => MessageKind::Text,
            _ => MessageKind::Binary,
        }
    }

    /// The message's payload, uncompressed.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.plain.payload()
    }

    /// The window sizes (in bits, 8 to 15, ascending) a compressed form
    /// was made with so far, each once: the windows of the connections it
    /// was sent on, each capped by the smallest window that holds the
    /// whole message (one form serves every window from there up).
    pub fn compressed_window_bits(&self) -> impl Iterator<Item = u8> + '_ {
        let made = self.deflate.made();
        (8..=15).filter(move |bits| made & (1 << (bits - 8)) != 0)
    }

    /// The uncompressed frame.
    pub(crate) fn plain(&self) -> &PreparedFrame {
        &self.plain
    }

    /// The frame compressed for `tx`'s window, made now if no connection
    /// needed that window before.
    pub(crate) fn compressed(&self, tx: &super::deflate::DeflateTx) -> &PreparedFrame {
        let opcode = self.plain.opcode;
        self.deflate
            .get_or_make(tx, self.plain.payload(), |payload| {
                PreparedFrame::new(opcode, true, payload)
            })
    }
}

impl core::fmt::Debug for PreparedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedMessage")
            .field("kind", &self.kind())
            .field("len", &self.payload().len())
            .field("compressed", &self.deflate.made())
            .finish()
    }
}

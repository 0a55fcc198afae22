//! The frame codec (RFC 6455 section 5): header parsing and encoding, and
//! masking. Pure functions over borrowed bytes: nothing here allocates,
//! except that [`FrameHeader::encode_to_vec`] and [`append_masked`] append
//! to a `Vec` the caller owns (and so may grow it).

mod header;
mod mask;

pub use header::{EncodedHeader, FrameHeader, FrameRules, MAX_HEADER_LEN, Opcode, Rsv};
pub(crate) use mask::copy_masked;
pub(crate) use mask::rotate as rotate_key;
pub use mask::{append_masked, apply_mask};

/// The outcome of an incremental parse that did not fail, in the style of
/// `httparse`: either a complete value, or a request for more bytes.
///
/// `Partial` is never an error. What it consumed depends on the parser, and
/// each says so: a stateless one over borrowed bytes
/// ([`FrameHeader::parse`]) consumed nothing, so call again with the same
/// bytes plus more; a stateful one that buffers (the handshakes'
/// `handle_input`) consumed all of its input, so call again with only the
/// new bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Status<T> {
    /// The value is complete.
    Complete(T),
    /// More bytes are needed (see the type's docs for what was consumed).
    Partial,
}

impl<T> Status<T> {
    /// The complete value, if there is one.
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(v) => Some(v),
            Status::Partial => None,
        }
    }

    /// Whether more bytes are needed.
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }
}

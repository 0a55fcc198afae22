//! Frame header parsing and encoding (RFC 6455 section 5.2).

use crate::error::ProtocolError;
use crate::frame::Status;
use crate::role::Role;

/// The longest possible header: 2 fixed bytes, an 8-byte extended length and
/// a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// A frame opcode (section 5.2). The RFC reserves the other ten values;
/// parsing one of them is a protocol error, so they have no variant here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// 0x0: the continuation of a fragmented message.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: a Close control frame.
    Close = 0x8,
    /// 0x9: a Ping control frame.
    Ping = 0x9,
    /// 0xA: a Pong control frame.
    Pong = 0xA,
}

impl Opcode {
    /// The opcode for a 4-bit value, or `None` for a reserved one.
    #[must_use]
    pub const fn from_u8(value: u8) -> Option<Opcode> {
        Some(match value {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether this is a control opcode (the high bit of the nibble, section 5.5).
    #[must_use]
    pub const fn is_control(self) -> bool {
        self as u8 & 0x8 != 0
    }
}

/// A set of RSV bits, as the bits sit in the first header byte.
///
/// Used to say which bits negotiated extensions claim: permessage-deflate
/// claims [`Rsv::RSV1`] (RFC 7692 section 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rsv(u8);

impl Rsv {
    /// No bits.
    pub const NONE: Rsv = Rsv(0);
    /// RSV1 (0x40), the "per-message compressed" bit of RFC 7692.
    pub const RSV1: Rsv = Rsv(0x40);
    /// RSV2 (0x20).
    pub const RSV2: Rsv = Rsv(0x20);
    /// RSV3 (0x10).
    pub const RSV3: Rsv = Rsv(0x10);

    /// The union of two sets.
    #[must_use]
    pub const fn union(self, other: Rsv) -> Rsv {
        Rsv(self.0 | other.0)
    }

    /// Whether every bit of `other` is in `self`.
    #[must_use]
    pub const fn contains(self, other: Rsv) -> bool {
        self.0 & other.0 == other.0
    }
}

/// What a receiver accepts, beyond the rules every frame must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRules {
    /// The receiving endpoint's role: a server requires masked frames and a
    /// client refuses them (section 5.1).
    pub receiver: Role,
    /// The RSV bits negotiated extensions claim; any other set bit is an error.
    pub allowed_rsv: Rsv,
    /// The largest payload a single frame may announce. A header announcing
    /// more fails with [`ProtocolError::FrameTooLarge`] (close code 1009)
    /// before any payload byte is read.
    pub max_payload: u64,
}

impl FrameRules {
    /// Rules for `receiver` with no extension bits and no size limit beyond the RFC's.
    #[must_use]
    pub const fn new(receiver: Role) -> FrameRules {
        FrameRules {
            receiver,
            allowed_rsv: Rsv::NONE,
            max_payload: u64::MAX >> 1,
        }
    }
}

/// An encoded frame header: 2 to 14 bytes, by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The header's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// A frame header (section 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Whether this is the final fragment of a message.
    pub fin: bool,
    /// RSV1 (claimed by permessage-deflate when negotiated).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, present exactly on frames a client sends.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes (at most 2^63 - 1).
    pub payload_len: u64,
}

impl FrameHeader {
    /// A final, unmasked frame without RSV bits.
    #[must_use]
    pub const fn new(opcode: Opcode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// The RSV bits as a set.
    #[must_use]
    pub const fn rsv(&self) -> Rsv {
        Rsv((self.rsv1 as u8) << 6 | (self.rsv2 as u8) << 5 | (self.rsv3 as u8) << 4)
    }

    /// The number of bytes [`FrameHeader::encode`] writes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        if self.mask.is_some() { len + 4 } else { len }
    }

    /// The two bytes every header starts with: FIN, the RSV bits and the
    /// opcode, then the mask bit and `len7`, the 7-bit length (the length
    /// itself below 126; 126 or 127 announce the extended forms).
    #[inline]
    const fn fixed_bytes(&self, len7: u8) -> [u8; 2] {
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        [
            (self.fin as u8) << 7 | self.rsv().0 | self.opcode.as_u8(),
            mask_bit | len7,
        ]
    }

    /// The whole header when it is two bytes long (no mask, a payload under
    /// 126 bytes: a server's small frame), as [`encode`](Self::encode)
    /// writes it. A value of known length, so the send path appends it
    /// with one fixed two-byte copy: the small-message fast path.
    #[inline]
    pub(crate) const fn encode_short(&self) -> Option<[u8; 2]> {
        if self.mask.is_none() && self.payload_len < 126 {
            Some(self.fixed_bytes(self.payload_len as u8))
        } else {
            None
        }
    }

    /// Write the header into `out` using the minimal length form, and return
    /// how many bytes were written (2 to 14). Never allocates.
    ///
    /// A `payload_len` with the top bit set cannot be represented; it is
    /// truncated to 63 bits, so callers must keep lengths below 2^63 (any real
    /// buffer is).
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let (len7, mut n) = match self.payload_len {
            len @ 0..=125 => (len as u8, 2),
            len @ 126..=0xFFFF => {
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                (126, 4)
            }
            len => {
                out[2..10].copy_from_slice(&(len & (u64::MAX >> 1)).to_be_bytes());
                (127, 10)
            }
        };
        out[..2].copy_from_slice(&self.fixed_bytes(len7));
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }

    /// The encoded header as a value (for writing it separately from its
    /// payload, e.g. in a vectored write). Never allocates: the value is
    /// 15 bytes on the stack.
    pub fn to_bytes(&self) -> EncodedHeader {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let len = self.encode(&mut bytes) as u8;
        EncodedHeader { bytes, len }
    }

    /// Append the encoded header (2 to 14 bytes) to `out`, which grows if
    /// it has no room.
    pub fn encode_to_vec(&self, out: &mut alloc::vec::Vec<u8>) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = self.encode(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }

    /// Parse a header from the start of `buf`.
    ///
    /// Returns the header and the number of bytes it took, or
    /// [`Status::Partial`] if `buf` ends before the header does (nothing is
    /// consumed then). Errors are reported as soon as the bytes prove them,
    /// even before the header is complete, so a header announcing an
    /// oversized payload is refused before any payload byte is buffered.
    ///
    /// Cost: never allocates or copies, and reads at most
    /// [`MAX_HEADER_LEN`] bytes of `buf`, however long it is.
    ///
    /// Refuses, each with its [`ProtocolError`] (close code 1002 unless
    /// noted): a reserved opcode ([`ReservedOpcode`](ProtocolError::ReservedOpcode)),
    /// an RSV bit outside `rules.allowed_rsv` ([`ReservedBits`](ProtocolError::ReservedBits)),
    /// a control frame that is fragmented ([`FragmentedControl`](ProtocolError::FragmentedControl))
    /// or longer than 125 bytes ([`ControlTooLong`](ProtocolError::ControlTooLong)),
    /// a mask bit that does not fit `rules.receiver`
    /// ([`UnmaskedFrame`](ProtocolError::UnmaskedFrame), [`MaskedFrame`](ProtocolError::MaskedFrame)),
    /// a 64-bit length with its top bit set ([`LengthOverflow`](ProtocolError::LengthOverflow)),
    /// a length not in its shortest form ([`NonMinimalLength`](ProtocolError::NonMinimalLength)),
    /// and a length over `rules.max_payload`
    /// ([`FrameTooLarge`](ProtocolError::FrameTooLarge), 1009).
    #[inline]
    pub fn parse(
        buf: &[u8],
        rules: &FrameRules,
    ) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        // The most common header first: complete, a 7-bit length, no RSV
        // bits, masked as the receiver's role requires, a defined opcode,
        // and no control frame rule to break. It is what the checks below
        // accept for these bytes, found in a few instructions (W1 in the
        // peers benchmark); anything else takes the checks.
        if let [b0, b1, ref rest @ ..] = *buf {
            let len7 = b1 & 0x7F;
            let masked = b1 & 0x80 != 0;
            let fin = b0 & 0x80 != 0;
            let common = b0 & 0x70 == 0
                && len7 < 126
                && masked == (rules.receiver == Role::Server)
                && u64::from(len7) <= rules.max_payload;
            let opcode = match b0 & 0x0F {
                0x1 if common => Some(Opcode::Text),
                0x2 if common => Some(Opcode::Binary),
                0x0 if common => Some(Opcode::Continuation),
                0x8 if common && fin => Some(Opcode::Close),
                0x9 if common && fin => Some(Opcode::Ping),
                0xA if common && fin => Some(Opcode::Pong),
                _ => None,
            };
            let mask = match (masked, rest) {
                (false, _) => Some(None),
                (true, [k0, k1, k2, k3, ..]) => Some(Some([*k0, *k1, *k2, *k3])),
                (true, _) => None,
            };
            if let (Some(opcode), Some(mask)) = (opcode, mask) {
                let header = FrameHeader {
                    fin,
                    rsv1: false,
                    rsv2: false,
                    rsv3: false,
                    opcode,
                    mask,
                    payload_len: u64::from(len7),
                };
                return Ok(Status::Complete((header, if masked { 6 } else { 2 })));
            }
        }
        Self::parse_checked(buf, rules)
    }

    /// [`parse`](Self::parse), every check in the order the bytes arrive.
    #[inline(never)]
    fn parse_checked(
        buf: &[u8],
        rules: &FrameRules,
    ) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
        let Some(&b0) = buf.first() else {
            return Ok(Status::Partial);
        };
        let opcode = Opcode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        let rsv = Rsv(b0 & 0x70);
        if !rules.allowed_rsv.contains(rsv) {
            return Err(ProtocolError::ReservedBits);
        }
        if opcode.is_control() && !fin {
            return Err(ProtocolError::FragmentedControl);
        }

        let Some(&b1) = buf.get(1) else {
            return Ok(Status::Partial);
        };
        let masked = b1 & 0x80 != 0;
        match (rules.receiver, masked) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let len7 = b1 & 0x7F;
        if opcode.is_control() && len7 > 125 {
            return Err(ProtocolError::ControlTooLong);
        }

        let (payload_len, mut pos) = match len7 {
            126 => {
                let Some(bytes) = buf.get(2..4) else {
                    return Ok(Status::Partial);
                };
                let len = u16::from_be_bytes([bytes[0], bytes[1]]) as u64;
                if len < 126 {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10) else {
                    return Ok(Status::Partial);
                };
                let mut be = [0u8; 8];
                be.copy_from_slice(bytes);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                if len <= 0xFFFF {
                    return Err(ProtocolError::NonMinimalLength);
                }
                (len, 10)
            }
            len => (len as u64, 2),
        };
        if payload_len > rules.max_payload {
            return Err(ProtocolError::FrameTooLarge);
        }

        let mask = if masked {
            let Some(bytes) = buf.get(pos..pos + 4) else {
                return Ok(Status::Partial);
            };
            pos += 4;
            Some([bytes[0], bytes[1], bytes[2], bytes[3]])
        } else {
            None
        };

        Ok(Status::Complete((
            FrameHeader {
                fin,
                rsv1: rsv.contains(Rsv::RSV1),
                rsv2: rsv.contains(Rsv::RSV2),
                rsv3: rsv.contains(Rsv::RSV3),
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> impl Strategy<Value = FrameRules> {
        (
            any::<bool>(),
            0u8..8,
            prop_oneof![Just(u64::MAX >> 1), 0u64..300],
        )
            .prop_map(|(server, rsv, max_payload)| FrameRules {
                receiver: if server { Role::Server } else { Role::Client },
                allowed_rsv: Rsv(rsv << 4),
                max_payload,
            })
    }

    proptest! {
        // Random bytes reach the fast path about one time in fifty.
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The short-header fast path of `parse` accepts exactly what the
        /// full checks accept for the same bytes, with the same result.
        #[test]
        fn the_fast_path_agrees_with_the_checks(
            bytes in prop::collection::vec(any::<u8>(), 0..16),
            rules in rules(),
        ) {
            prop_assert_eq!(
                FrameHeader::parse(&bytes, &rules),
                FrameHeader::parse_checked(&bytes, &rules)
            );
        }
    }
}

//! UTF-8 validation (RFC 6455 section 8.1), whole and incremental.
//!
//! With the `simdutf8` feature (on by default) the checks run on simdutf8's
//! SIMD validator, several times faster than core's on non-ASCII text;
//! without it, on `core::str::from_utf8`. Both tell a sequence that is wrong
//! (`error_len() == Some(_)`) from one that is only cut short (`None`), which
//! is what failing fast across pieces needs.

/// The text of `bytes`, if it is valid UTF-8: one pass that both checks and
/// yields the `&str`.
pub(crate) fn as_str(bytes: &[u8]) -> Option<&str> {
    #[cfg(feature = "simdutf8")]
    {
        simdutf8::basic::from_utf8(bytes).ok()
    }
    #[cfg(not(feature = "simdutf8"))]
    {
        core::str::from_utf8(bytes).ok()
    }
}

/// How `bytes` splits into valid text and a cut-short tail: `Ok(n)` when
/// `bytes[..n]` is valid and `bytes[n..]` (at most 3 bytes) could still
/// become a character; `Err` when no continuation can make it valid.
pub(crate) fn valid_prefix(bytes: &[u8]) -> Result<usize, ()> {
    // simdutf8's `basic` check is faster than its `compat` one, which
    // locates errors: run `basic` up to the start of a last character that
    // may be cut short, and `compat` only when that fails.
    #[cfg(feature = "simdutf8")]
    {
        let cut = last_char_start(bytes);
        if simdutf8::basic::from_utf8(&bytes[..cut]).is_ok() {
            let tail = &bytes[cut..];
            return match core::str::from_utf8(tail) {
                Ok(_) => Ok(bytes.len()),
                Err(e) if e.error_len().is_none() => Ok(cut + e.valid_up_to()),
                Err(_) => Err(()),
            };
        }
    }
    #[cfg(feature = "simdutf8")]
    let result = simdutf8::compat::from_utf8(bytes).map_err(|e| (e.valid_up_to(), e.error_len()));
    #[cfg(not(feature = "simdutf8"))]
    let result = core::str::from_utf8(bytes).map_err(|e| (e.valid_up_to(), e.error_len()));
    match result {
        Ok(_) => Ok(bytes.len()),
        Err((valid, None)) => Ok(valid),
        Err((_, Some(_))) => Err(()),
    }
}

/// Where the last character of `bytes` starts, if it may be cut short (a
/// lead byte in the last 3 positions); else `bytes.len()`.
#[cfg(feature = "simdutf8")]
fn last_char_start(bytes: &[u8]) -> usize {
    let from = bytes.len().saturating_sub(3);
    bytes[from..]
        .iter()
        .rposition(|&b| b >= 0xC0)
        .map_or(bytes.len(), |i| from + i)
}

/// Validate `buf[*checked..]`, moving `*checked` past every complete
/// character. `Err` means the bytes can never become valid UTF-8.
pub(crate) fn advance(buf: &[u8], checked: &mut usize) -> Result<(), ()> {
    *checked += valid_prefix(&buf[*checked..])?;
    Ok(())
}

/// The expected length of a character from its first byte (0 for a byte
/// that cannot start one).
fn char_width(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// Up to 4 bytes of one character cut between two pieces of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Carry {
    bytes: [u8; 4],
    len: u8,
}

impl Carry {
    /// The carried bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Whether no character is cut.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Carry `tail`, the cut-short end of a piece ([`valid_prefix`] leaves
    /// at most 3 bytes).
    pub(crate) fn set(&mut self, tail: &[u8]) {
        self.bytes[..tail.len()].copy_from_slice(tail);
        self.len = tail.len() as u8;
    }

    /// How many more bytes the carried character needs.
    pub(crate) fn missing(&self) -> usize {
        char_width(self.bytes[0]).saturating_sub(self.len as usize)
    }

    /// Add the next bytes of the carried character (at most
    /// [`missing`](Self::missing)). `Ok(true)`: the character is complete
    /// and valid; `Ok(false)`: still cut short; `Err`: it can never be valid.
    pub(crate) fn extend(&mut self, more: &[u8]) -> Result<bool, ()> {
        let n = self.len as usize + more.len();
        self.bytes[self.len as usize..n].copy_from_slice(more);
        self.len = n as u8;
        match valid_prefix(self.as_slice())? {
            v if v == n => Ok(true),
            _ => Ok(false),
        }
    }

    /// Check that `piece` continues valid UTF-8 after the carried bytes, and
    /// return the carry that would follow it, without changing `self` (so a
    /// refused send leaves no trace).
    pub(crate) fn check(&self, piece: &[u8]) -> Result<Carry, ()> {
        let mut next = *self;
        let mut rest = piece;
        if !next.is_empty() {
            let take = next.missing().min(rest.len());
            if !next.extend(&rest[..take])? {
                return Ok(next);
            }
            next.len = 0;
            rest = &rest[take..];
        }
        let valid = valid_prefix(rest)?;
        next.set(&rest[valid..]);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_at_the_first_certain_byte() {
        // 0xF4 0x90 can never start a valid character (above U+10FFFF).
        let mut checked = 0;
        assert!(advance(&[b'a', 0xF4], &mut checked).is_ok());
        assert_eq!(checked, 1);
        assert!(advance(&[b'a', 0xF4, 0x90], &mut checked).is_err());
    }

    #[test]
    fn carry_check_agrees_with_whole_validation_at_every_split() {
        let samples: [&[u8]; 6] = [
            "κόσμε €𝄞 ok".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf0\x90\x80",
            b"\xc0\xaf",
            b"\xf0\x9d\x84\x9e\xf0\x9d",
            b"plain ascii",
        ];
        for s in samples {
            let whole_ok = core::str::from_utf8(s).is_ok();
            for a in 0..=s.len() {
                for b in a..=s.len() {
                    let mut carry = Carry::default();
                    let mut ok = true;
                    for piece in [&s[..a], &s[a..b], &s[b..]] {
                        match carry.check(piece) {
                            Ok(next) => carry = next,
                            Err(()) => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    assert_eq!(ok && carry.is_empty(), whole_ok, "{s:?} split {a} {b}");
                }
            }
        }
    }
}

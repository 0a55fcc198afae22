//! Incremental UTF-8 validation (RFC 6455 section 8.1) on top of the
//! standard library's validator.
//!
//! `core::str::from_utf8` already tells a sequence that is wrong (error with
//! `error_len() == Some(_)`) from one that is only cut short (`None`), and it
//! reports a wrong byte as soon as it sees it. So validating each new piece
//! and carrying at most 3 bytes of an unfinished character over to the next
//! piece fails as early as the bytes allow (Autobahn 6.4.x grades this) and
//! examines every byte a bounded number of times.

/// Validate `buf[*checked..]`, moving `*checked` past every complete
/// character. Bytes of an unfinished last character stay unchecked until more
/// arrive. `Err` means the bytes can never become valid UTF-8.
pub(crate) fn advance(buf: &[u8], checked: &mut usize) -> Result<(), ()> {
    match core::str::from_utf8(&buf[*checked..]) {
        Ok(_) => {
            *checked = buf.len();
            Ok(())
        }
        Err(e) if e.error_len().is_none() => {
            *checked += e.valid_up_to();
            Ok(())
        }
        Err(_) => Err(()),
    }
}

/// Up to 3 bytes of a character cut between two pieces of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Carry {
    bytes: [u8; 3],
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

    /// Given a buffer whose bytes from `from` on are the carried bytes
    /// followed by new ones, validate them; on success move the bytes of an
    /// unfinished last character out of the buffer into the carry, so the
    /// buffer ends on a character boundary.
    pub(crate) fn settle(&mut self, buf: &mut alloc::vec::Vec<u8>, from: usize) -> Result<(), ()> {
        let mut checked = from;
        advance(buf, &mut checked)?;
        let tail = &buf[checked..];
        // `advance` leaves at most 3 bytes: a longer unfinished tail would
        // already be a wrong sequence.
        self.len = tail.len() as u8;
        self.bytes[..tail.len()].copy_from_slice(tail);
        buf.truncate(checked);
        Ok(())
    }

    /// Check that `piece` continues valid UTF-8 after the carried bytes, and
    /// return the carry that would follow it, without changing `self` (so a
    /// refused send leaves no trace).
    pub(crate) fn check(&self, piece: &[u8]) -> Result<Carry, ()> {
        // Finish the carried character with the first bytes of the piece.
        let mut rest = piece;
        if !self.is_empty() {
            let mut joined = [0u8; 4];
            let carried = self.as_slice();
            joined[..carried.len()].copy_from_slice(carried);
            let take = (4 - carried.len()).min(rest.len());
            joined[carried.len()..carried.len() + take].copy_from_slice(&rest[..take]);
            let n = carried.len() + take;
            match core::str::from_utf8(&joined[..n]) {
                Ok(_) => rest = &rest[take..],
                Err(e) if e.valid_up_to() > 0 => rest = &rest[e.valid_up_to() - carried.len()..],
                Err(e) if e.error_len().is_none() => {
                    // Still unfinished: the whole piece joined the carry.
                    let mut next = Carry::default();
                    next.bytes[..n].copy_from_slice(&joined[..n]);
                    next.len = n as u8;
                    return Ok(next);
                }
                Err(_) => return Err(()),
            }
        }
        let mut checked = 0;
        advance(rest, &mut checked)?;
        let tail = &rest[checked..];
        let mut next = Carry::default();
        next.bytes[..tail.len()].copy_from_slice(tail);
        next.len = tail.len() as u8;
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
        let samples: [&[u8]; 5] = [
            "κόσμε €𝄞 ok".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf0\x90\x80",
            b"\xc0\xaf",
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

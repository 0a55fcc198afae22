//! Helpers the fuzz targets share.

use wscore::frame::{FrameHeader, FrameRules, Opcode, Rsv, Status, apply_mask};
use wscore::{CloseCode, Role};

/// Split `data` into pieces whose sizes come from a tiny xorshift seeded by
/// `seed`, so one control byte gives a varied chunking (0: one piece).
pub fn chunks(seed: u8, data: &[u8]) -> Vec<&[u8]> {
    if seed == 0 {
        return vec![data];
    }
    let mut state = u32::from(seed).wrapping_mul(0x9E37_79B9) | 1;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state % u32::from(seed)) as usize + 1;
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

/// Check everything `sender` wrote, as its peer would read it: only valid
/// frames, nothing after a Close, and every Close well-formed with a code
/// that may be sent and a UTF-8 reason.
pub fn check_wire(wire: &[u8], sender: Role) {
    let rules = FrameRules {
        allowed_rsv: Rsv::NONE,
        ..FrameRules::new(sender.peer())
    };
    let mut rest = wire;
    let mut saw_close = false;
    while !rest.is_empty() {
        let Ok(Status::Complete((h, n))) = FrameHeader::parse(rest, &rules) else {
            panic!("the connection wrote an invalid frame");
        };
        assert!(!saw_close, "a frame after Close");
        let len = usize::try_from(h.payload_len).expect("frames we wrote fit in memory");
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        if h.opcode == Opcode::Close {
            saw_close = true;
            assert_ne!(payload.len(), 1, "a 1-byte Close");
            if payload.len() >= 2 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                assert!(
                    CloseCode(code).is_allowed_on_wire(),
                    "sent close code {code}"
                );
                assert!(
                    std::str::from_utf8(&payload[2..]).is_ok(),
                    "close reason not UTF-8"
                );
            }
        }
        rest = &rest[n + len..];
    }
}

//! Arbitrary bytes into the frame header parser, under every rule set.
//!
//! Invariants: no panic; a parsed header never claims more bytes than it was
//! given; it re-encodes to exactly the bytes it was read from (the parser
//! accepts only minimal length forms); every strict prefix of those bytes is
//! `Partial`; an error maps to a close code that may be sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::Role;
use wscore::frame::{FrameHeader, FrameRules, Rsv, Status};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the rules so one corpus covers all of them.
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let rules = FrameRules {
        receiver: if sel & 1 == 0 {
            Role::Client
        } else {
            Role::Server
        },
        allowed_rsv: if sel & 2 == 0 { Rsv::NONE } else { Rsv::RSV1 },
        max_payload: match sel >> 2 & 3 {
            0 => u64::MAX >> 1,
            1 => 0,
            2 => 125,
            _ => 1 << 20,
        },
    };
    match FrameHeader::parse(bytes, &rules) {
        Ok(Status::Complete((header, n))) => {
            assert!(n <= bytes.len(), "claimed {n} of {} bytes", bytes.len());
            let mut out = Vec::new();
            header.encode_to_vec(&mut out);
            assert_eq!(out, &bytes[..n], "re-encoding differs");
            assert!(header.payload_len <= rules.max_payload);
            for cut in 0..n {
                assert_eq!(
                    FrameHeader::parse(&bytes[..cut], &rules),
                    Ok(Status::Partial)
                );
            }
        }
        Ok(Status::Partial) => assert!(bytes.len() < wscore::frame::MAX_HEADER_LEN),
        Err(e) => assert!(e.close_code().is_allowed_on_wire()),
    }
});

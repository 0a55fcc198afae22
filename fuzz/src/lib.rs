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

/// A client and a server connection that agreed on permessage-deflate with
/// the parameters `bits` picks (its low bits: the two no-context-takeover
/// flags; the next six: both window sizes), through the real handshake.
pub fn deflate_pair(
    bits: u8,
    bits2: u8,
    client_config: &wscore::Config,
    server_config: &wscore::Config,
) -> (wscore::Connection, wscore::Connection) {
    use wscore::handshake::client::ClientRequest;
    use wscore::handshake::server::{Accept, ServerHandshake};
    use wscore::handshake::{Extension, HandshakeLimits};
    use wscore::{Instant, Status};
    let server_bits = 8 + (bits >> 2) % 8;
    let client_bits = 8 + bits2 % 8;
    let mut offer = Extension::new("permessage-deflate");
    let mut response = Extension::new("permessage-deflate");
    for (flag, name) in [
        (1, "server_no_context_takeover"),
        (2, "client_no_context_takeover"),
    ] {
        if bits & flag != 0 {
            offer = offer.with_param(name);
            response = response.with_param(name);
        }
    }
    offer = offer
        .with_param_value("server_max_window_bits", server_bits.to_string())
        .with_param("client_max_window_bits");
    response = response
        .with_param_value("server_max_window_bits", server_bits.to_string())
        .with_param_value("client_max_window_bits", client_bits.to_string());
    let mut request = Vec::new();
    let mut client_hs = ClientRequest::new("example.com", [1; 16])
        .extension(offer)
        .write(client_config, &mut request)
        .expect("a valid request");
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Ok(Status::Complete((req, _))) = server_hs.handle_input(&request) else {
        panic!("our own request is valid");
    };
    let mut answer = Vec::new();
    let (server, _) = req
        .accept(
            &Accept::new().extension(response),
            server_config,
            Instant::ZERO,
            &[],
            &mut answer,
        )
        .expect("the response answers the offer");
    let Ok(Status::Complete((res, _))) = client_hs.handle_input(&answer) else {
        panic!("the client accepts an answer to its offer");
    };
    let client = res.open(Instant::ZERO, &[], || [9, 8, 7, 6]);
    (client, server)
}

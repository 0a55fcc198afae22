//! Arbitrary bytes, in arbitrary chunks, into the client handshake.
//!
//! The request is fixed: the nonce of RFC 6455 section 1.3 (so the accept
//! value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`), subprotocols `chat` and
//! `superchat`, and a permessage-deflate offer. The first input byte is a
//! control byte: bit 7 picks small caps (256 bytes, 8 headers) over the
//! defaults, and the low seven bits seed the chunk sizes (0: one piece). The
//! rest is the stream from the server.
//!
//! Invariants: no panic; the buffered head never exceeds the cap; a
//! completed head never claims more bytes than the piece it ended in, nor
//! more than the cap in total; a refused response never carries more than
//! the caps; the outcome is final; the outcome does not depend on the
//! chunking (except how much body arrived with a refused response's head);
//! what a valid 101 negotiates was offered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::Role;
use wscore::handshake::client::{ClientHandshake, ClientRequest, Response};
use wscore::handshake::{ClientHandshakeError, Extension, HandshakeLimits};
use wscore_fuzz::chunks;

#[derive(Debug, PartialEq)]
enum Outcome {
    Partial,
    Complete(Response, Vec<u8>),
    Failed(ClientHandshakeError),
}

fn handshake(limits: HandshakeLimits) -> ClientHandshake {
    ClientRequest::new("server.example.com", *b"the sample nonce")
        .target("/chat")
        .protocol("chat")
        .protocol("superchat")
        .extension(Extension::new("permessage-deflate").with_param("client_max_window_bits"))
        .limits(limits)
        .write(&wscore::Config::default(), &mut Vec::new())
        .expect("the fixed request is valid")
}

fn feed(limits: HandshakeLimits, data: &[u8], pieces: &[&[u8]]) -> Outcome {
    let mut client = handshake(limits);
    let mut offset = 0;
    for piece in pieces {
        let result = client
            .handle_input(piece)
            .map(|s| s.complete().map(|(r, used)| (r.clone(), used)));
        assert!(
            client.buffered_len() <= limits.max_head_len,
            "buffer over the cap"
        );
        match result {
            Ok(None) => offset += piece.len(),
            Ok(Some((response, used))) => {
                assert!(
                    used <= piece.len(),
                    "used {used} of a {}-byte piece",
                    piece.len()
                );
                assert!(offset + used <= limits.max_head_len, "head over the cap");
                assert!(response.headers().len() <= limits.max_headers);
                let again = client
                    .handle_input(b"more")
                    .map(|s| s.complete().map(|(_, n)| n));
                assert_eq!(again, Ok(Some(0)));
                return Outcome::Complete(response, data[offset + used..].to_vec());
            }
            Err(e) => {
                if let ClientHandshakeError::Status(r) = &e {
                    assert_ne!(r.status(), 101);
                    assert!(r.body_start().len() <= limits.max_head_len);
                    assert!(r.body_start().len() <= piece.len());
                    assert!(r.headers().len() <= limits.max_headers);
                }
                assert_eq!(client.handle_input(b"more").map(|_| ()), Err(e.clone()));
                assert_eq!(client.buffered_len(), 0);
                return Outcome::Failed(e);
            }
        }
    }
    Outcome::Partial
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else {
        return;
    };
    let limits = if control & 0x80 != 0 {
        HandshakeLimits::new(256, 8)
    } else {
        HandshakeLimits::default()
    };
    let chunked = feed(limits, data, &chunks(control & 0x7F, data));
    let whole = feed(limits, data, &[data]);
    match (&chunked, &whole) {
        (
            Outcome::Failed(ClientHandshakeError::Status(a)),
            Outcome::Failed(ClientHandshakeError::Status(b)),
        ) => {
            // How much body came with the head depends on where the pieces end.
            assert_eq!(
                (a.status(), a.reason(), a.headers()),
                (b.status(), b.reason(), b.headers())
            );
            assert!(b.body_start().starts_with(a.body_start()));
        }
        _ => assert_eq!(chunked, whole, "outcome depends on chunking"),
    }

    if let Outcome::Complete(response, rest) = whole {
        // The connection the response opens is a client's, and takes the
        // bytes behind the head (whatever they are) without panicking.
        let conn = response.open(wscore::Instant::ZERO, &rest, || [1, 2, 3, 4]);
        assert_eq!(conn.role(), Role::Client);
        let negotiated = response.negotiated();
        if let Some(p) = &negotiated.protocol {
            assert!(p == "chat" || p == "superchat");
        }
        assert!(
            negotiated
                .extensions
                .iter()
                .all(|e| e.name() == "permessage-deflate")
        );
    }
});

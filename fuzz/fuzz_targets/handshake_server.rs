//! Arbitrary bytes, in arbitrary chunks, into the server handshake.
//!
//! The first input byte is a control byte: bit 7 picks small caps (256
//! bytes, 8 headers) over the defaults, and the low seven bits seed the
//! chunk sizes (0: one piece). The rest is the stream from the client.
//!
//! Invariants: no panic; the buffered head never exceeds the cap; a
//! completed head never claims more bytes than the piece it ended in, nor
//! more than the cap in total; the outcome is final (sticky error, and
//! `used == 0` after completion); the outcome and the bytes left over do not
//! depend on the chunking; a valid request can be accepted, and an error's
//! response is a complete HTTP response with its status; the host a request
//! reports is an authority (RFC 3986 characters only, never empty), and is
//! the target's authority for an absolute-form target (RFC 9112 section
//! 3.2.2), the `Host` header otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscore::handshake::server::{Accept, Request, ServerHandshake};
use wscore::handshake::{HandshakeError, HandshakeLimits, accept_key};
use wscore::{Config, Instant, Role};
use wscore_fuzz::chunks;

#[derive(Debug, PartialEq)]
enum Outcome {
    Partial,
    Complete(Request, Vec<u8>),
    Failed(HandshakeError),
}

fn feed(limits: HandshakeLimits, data: &[u8], pieces: &[&[u8]]) -> Outcome {
    let mut server = ServerHandshake::new(limits);
    let mut offset = 0;
    for piece in pieces {
        let result = server
            .handle_input(piece)
            .map(|s| s.complete().map(|(r, used)| (r.clone(), used)));
        assert!(
            server.buffered_len() <= limits.max_head_len,
            "buffer over the cap"
        );
        match result {
            Ok(None) => offset += piece.len(),
            Ok(Some((request, used))) => {
                assert!(
                    used <= piece.len(),
                    "used {used} of a {}-byte piece",
                    piece.len()
                );
                assert!(offset + used <= limits.max_head_len, "head over the cap");
                assert!(request.headers().len() <= limits.max_headers);
                // Final: later input is the connection's.
                let again = server
                    .handle_input(b"more")
                    .map(|s| s.complete().map(|(_, n)| n));
                assert_eq!(again, Ok(Some(0)));
                return Outcome::Complete(request, data[offset + used..].to_vec());
            }
            Err(e) => {
                assert_eq!(
                    server.handle_input(b"more").map(|_| ()),
                    Err(e),
                    "error not sticky"
                );
                assert_eq!(server.buffered_len(), 0);
                return Outcome::Failed(e);
            }
        }
    }
    Outcome::Partial
}

/// The host a request reports: only characters an authority may hold, and
/// taken from the target when the target is absolute-form.
fn check_host(request: &Request) {
    let host = request.host();
    assert!(!host.is_empty(), "empty host");
    assert!(
        host.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b)),
        "host {host:?} holds a byte no authority may hold"
    );
    let target = request.target();
    if target.starts_with('/') {
        assert_eq!(request.headers().get("host"), Some(host.as_bytes()));
    } else {
        let (_, rest) = target
            .split_once("://")
            .expect("an accepted absolute-form target has `://`");
        let after = rest
            .strip_prefix(host)
            .expect("host is the target's authority");
        assert!(matches!(after.bytes().next(), None | Some(b'/' | b'?')));
    }
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
    assert_eq!(chunked, whole, "outcome depends on chunking");

    match whole {
        Outcome::Complete(request, _) => {
            check_host(&request);
            let mut accept = Accept::new();
            if let Some(p) = request.protocols().first() {
                accept = accept.protocol(p.clone());
            }
            // An offer copied back is a valid answer for extensions we do
            // not run; permessage-deflate's answer follows RFC 7692 7.1
            // (an offer's valueless `client_max_window_bits` is not a
            // valid answer), so it is chosen by the negotiation instead.
            if let Some(e) = request
                .extensions()
                .iter()
                .find(|e| e.name() != "permessage-deflate")
            {
                accept = accept.extension(e.clone());
            }
            // The default config adds its permessage-deflate answer.
            let mut out = Vec::new();
            let (conn, _) = request
                .accept(&accept, &Config::default(), Instant::ZERO, &[], &mut out)
                .expect("accepting an offered choice succeeds");
            assert_eq!(conn.role(), Role::Server);
            let expected = format!(
                "Sec-WebSocket-Accept: {}\r\n",
                accept_key(request.key().as_bytes())
            );
            assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(
                out.windows(expected.len())
                    .any(|w| w == expected.as_bytes())
            );
            assert!(out.ends_with(b"\r\n\r\n"));
        }
        Outcome::Failed(e) => {
            let response = e.response();
            let status_line = format!("HTTP/1.1 {} ", e.status());
            assert!(response.starts_with(status_line.as_bytes()));
            assert!(response.ends_with(format!("{}\n", e.reason()).as_bytes()));
        }
        Outcome::Partial => {}
    }
});

//! Helpers for the opening-handshake tests shared by the server and client
//! sides: building a request head and feeding it to a server handshake.
#![allow(dead_code)]
#![allow(unused_imports)]

use wscore::frame::Status;
use wscore::handshake::server::{Request, ServerHandshake};
use wscore::handshake::{HandshakeError, HandshakeLimits};

/// A request line and header lines, joined into a head.
pub fn head(request_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{request_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Feed `bytes` in one piece to a fresh server handshake.
pub fn serve(bytes: &[u8]) -> Result<(Request, usize), HandshakeError> {
    serve_with(HandshakeLimits::default(), bytes)
}

pub fn serve_with(
    limits: HandshakeLimits,
    bytes: &[u8],
) -> Result<(Request, usize), HandshakeError> {
    let mut server = ServerHandshake::new(limits);
    match server.handle_input(bytes)? {
        Status::Complete((request, used)) => Ok((request.clone(), used)),
        Status::Partial => panic!("the head is complete, yet the server wants more"),
    }
}

pub const VALID: [&str; 5] = [
    "Host: example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// The valid headers with the one starting with `replace` (a header name
/// and colon) swapped for `with` (or dropped, if `with` is empty).
pub fn valid_but(replace: &str, with: &[&str]) -> Vec<u8> {
    let mut lines: Vec<&str> = Vec::new();
    for h in VALID {
        if h.starts_with(replace) {
            lines.extend_from_slice(with);
        } else {
            lines.push(h);
        }
    }
    head("GET /chat HTTP/1.1", &lines)
}

/// Parse an HTTP response (one of ours) with httparse, to check it is well formed.
pub fn parse_response(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut res = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(n) = res.parse(bytes).unwrap() else {
        panic!("incomplete response");
    };
    let headers = res
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8(h.value.to_vec()).unwrap(),
            )
        })
        .collect();
    (res.code.unwrap(), headers, bytes[n..].to_vec())
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The config of the handshake tests: the defaults without
/// permessage-deflate, so the heads written hold only what each test
/// spells out (the config's own offers and answers have tests of their
/// own, in handshake_to_connection.rs and deflate_negotiation.rs).
pub fn plain() -> wscore::Config {
    #[cfg(feature = "deflate")]
    return wscore::Config::default()
        .with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED);
    #[cfg(not(feature = "deflate"))]
    wscore::Config::default()
}

/// `request.accept` under [`plain`] for a test of the 101 it writes: the
/// response into `out`, and what was agreed (the connection is dropped).
pub fn accept_plain(
    request: &Request,
    accept: &wscore::handshake::server::Accept,
    out: &mut Vec<u8>,
) -> Result<wscore::handshake::Negotiated, wscore::handshake::BuildError> {
    request
        .accept(accept, &plain(), wscore::Instant::ZERO, &[], out)
        .map(|(_, agreed)| agreed)
}

//! The client side of the opening handshake (RFC 6455 section 4): the
//! request it writes, valid and bad responses, caps, pipelined bytes,
//! builder misuse, and linear work.

mod common;

use common::handshake::*;
use wscore::Role;
use wscore::frame::Status;
use wscore::handshake::client::{ClientHandshake, ClientRequest, Response};
use wscore::handshake::server::Accept;
use wscore::handshake::{BuildError, ClientHandshakeError, Extension, HandshakeLimits};

/// The 16 bytes whose base64 encoding is the RFC 6455 sections 1.2 key,
/// `dGhlIHNhbXBsZSBub25jZQ==`.
const RFC_NONCE: [u8; 16] = *b"the sample nonce";

/// A client handshake for `request`, with the bytes it wrote.
fn client(request: ClientRequest) -> (ClientHandshake, Vec<u8>) {
    let mut out = Vec::new();
    let handshake = request.write(&plain(), &mut out).unwrap();
    (handshake, out)
}

/// Feed `bytes` in one piece to `handshake`.
fn respond(
    handshake: &mut ClientHandshake,
    bytes: &[u8],
) -> Result<(Response, usize), ClientHandshakeError> {
    match handshake.handle_input(bytes)? {
        Status::Complete((response, used)) => Ok((response.clone(), used)),
        Status::Partial => panic!("the head is complete, yet the client wants more"),
    }
}

// ---------------------------------------------------------------- RFC example

#[test]
fn client_writes_the_rfc_request() {
    let (_, out) = client(
        ClientRequest::new("server.example.com", RFC_NONCE)
            .target("/chat")
            .origin("http://example.com")
            .protocol("chat")
            .protocol("superchat"),
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /chat HTTP/1.1\r\n\
         Host: server.example.com\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Origin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         \r\n"
    );
}

#[test]
fn client_accepts_the_rfc_response() {
    let (mut hs, _) = client(
        ClientRequest::new("server.example.com", RFC_NONCE)
            .protocol("chat")
            .protocol("superchat"),
    );
    let response = "HTTP/1.1 101 Switching Protocols\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
        Sec-WebSocket-Protocol: chat\r\n\
        \r\n";
    let (response_seen, used) = respond(&mut hs, response.as_bytes()).unwrap();
    assert_eq!(used, response.len());
    assert_eq!(response_seen.reason(), "Switching Protocols");
    // Only a client's connection can come of a client's response.
    let conn = response_seen.open(wscore::Instant::ZERO, &[], || [0; 4]);
    assert_eq!(conn.role(), Role::Client);
    let negotiated = response_seen.into_negotiated();
    assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
    assert!(negotiated.extensions.is_empty());
}

// ------------------------------------------------------- pipelined bytes

#[test]
fn client_hands_back_pipelined_frames_intact() {
    let (mut hs, out) = client(ClientRequest::new("example.com", RFC_NONCE));
    let (request, _) = serve(&out).unwrap();
    let mut input = Vec::new();
    accept_plain(&request, &Accept::new(), &mut input).unwrap();
    let head_len = input.len();
    let frame = [0x81, 0x05, b'h', b'e', b'l', b'l', b'o'];
    input.extend_from_slice(&frame);

    let mut pieces = input.chunks(7);
    let mut offset = 0;
    let leftover = loop {
        let piece = pieces.next().unwrap();
        match hs.handle_input(piece).unwrap() {
            Status::Partial => offset += piece.len(),
            Status::Complete((_, used)) => {
                assert_eq!(offset + used, head_len);
                let mut rest = piece[used..].to_vec();
                rest.extend(pieces.flatten());
                break rest;
            }
        }
    };
    assert_eq!(leftover, frame);
}

// ------------------------------------------------------------ client side

/// A client offering "chat" and permessage-deflate, and a valid 101 head
/// for it without the final empty line.
fn offering_client() -> ClientHandshake {
    client(
        ClientRequest::new("example.com", RFC_NONCE)
            .protocol("chat")
            .extension(Extension::new("permessage-deflate").with_param("client_max_window_bits")),
    )
    .0
}

fn response_head(status_line: &str, headers: &[&str]) -> Vec<u8> {
    head(status_line, headers)
}

const GOOD_101: [&str; 3] = [
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
];

fn good_101_with(extra: &[&str]) -> Vec<u8> {
    let mut lines = GOOD_101.to_vec();
    lines.extend_from_slice(extra);
    response_head("HTTP/1.1 101 Switching Protocols", &lines)
}

#[test]
fn client_accepts_variations_of_a_valid_101() {
    for (name, bytes) in [
        ("plain", good_101_with(&[])),
        ("empty reason", response_head("HTTP/1.1 101 ", &GOOD_101)),
        ("no reason", response_head("HTTP/1.1 101", &GOOD_101)),
        (
            "case and spacing",
            response_head(
                "HTTP/1.1 101 Web Socket Protocol Handshake",
                &[
                    "UPGRADE:WebSocket",
                    "connection:  keep-alive,upgrade ",
                    "sec-websocket-accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                ],
            ),
        ),
        (
            "protocol chosen",
            good_101_with(&["Sec-WebSocket-Protocol: chat"]),
        ),
        (
            "extension chosen",
            good_101_with(&[
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12",
            ]),
        ),
    ] {
        let mut hs = offering_client();
        let (response, used) = respond(&mut hs, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(used, bytes.len(), "{name}");
        let conn = response.open(wscore::Instant::ZERO, &[], || [0; 4]);
        assert_eq!(conn.role(), Role::Client);
        if name == "empty reason" || name == "no reason" {
            assert_eq!(response.reason(), "");
        }
        if name == "protocol chosen" {
            assert_eq!(response.negotiated().protocol.as_deref(), Some("chat"));
        }
        if name == "extension chosen" {
            assert_eq!(
                response.negotiated().extensions,
                [Extension::new("permessage-deflate")
                    .with_param_value("client_max_window_bits", "12")]
            );
        }
    }
}

#[test]
fn client_exposes_a_non_101_response() {
    let mut hs = offering_client();
    let bytes = b"HTTP/1.1 401 Unauthorized\r\n\
        WWW-Authenticate: Basic realm=\"ws\"\r\n\
        Content-Length: 12\r\n\
        \r\n\
        Unauthorized";
    let Err(ClientHandshakeError::Status(rejected)) = hs.handle_input(bytes) else {
        panic!("expected a status error");
    };
    assert_eq!(rejected.status(), 401);
    assert_eq!(rejected.reason(), "Unauthorized");
    assert_eq!(
        rejected.headers().get("www-authenticate"),
        Some(&b"Basic realm=\"ws\""[..])
    );
    assert_eq!(rejected.body_start(), b"Unauthorized");

    // A redirect, with the body start capped at the head limit.
    let mut hs =
        client(ClientRequest::new("example.com", RFC_NONCE).limits(HandshakeLimits::new(64, 8))).0;
    let mut bytes = b"HTTP/1.1 302 \r\nLocation: /elsewhere\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[b'x'; 100]);
    let Err(ClientHandshakeError::Status(rejected)) = hs.handle_input(&bytes) else {
        panic!("expected a status error");
    };
    assert_eq!(rejected.status(), 302);
    assert_eq!(rejected.reason(), "");
    assert_eq!(rejected.headers().get("location"), Some(&b"/elsewhere"[..]));
    assert_eq!(rejected.body_start(), [b'x'; 64]);
}

#[test]
fn bad_responses_fail_the_client() {
    use ClientHandshakeError::*;
    let without = |name: &str| {
        let lines: Vec<&str> = GOOD_101
            .iter()
            .copied()
            .filter(|l| !l.starts_with(name))
            .collect();
        response_head("HTTP/1.1 101 Switching Protocols", &lines)
    };
    let replaced = |name: &str, with: &'static str| {
        let lines: Vec<&str> = GOOD_101
            .iter()
            .map(|&l| if l.starts_with(name) { with } else { l })
            .collect();
        response_head("HTTP/1.1 101 Switching Protocols", &lines)
    };
    let cases: Vec<(&str, Vec<u8>, ClientHandshakeError)> = vec![
        (
            "wrong accept",
            replaced(
                "Sec-WebSocket-Accept",
                "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
            ),
            InvalidAccept,
        ),
        (
            "missing accept",
            without("Sec-WebSocket-Accept"),
            InvalidAccept,
        ),
        (
            "two accepts",
            good_101_with(&["Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]),
            InvalidAccept,
        ),
        (
            "accept of the key itself",
            replaced(
                "Sec-WebSocket-Accept",
                "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==",
            ),
            InvalidAccept,
        ),
        ("missing upgrade", without("Upgrade"), MissingUpgrade),
        (
            "upgrade h2c",
            replaced("Upgrade", "Upgrade: h2c"),
            MissingUpgrade,
        ),
        (
            "missing connection",
            without("Connection"),
            MissingConnectionUpgrade,
        ),
        (
            "connection close",
            replaced("Connection", "Connection: close"),
            MissingConnectionUpgrade,
        ),
        (
            "protocol not offered",
            good_101_with(&["Sec-WebSocket-Protocol: superchat"]),
            ProtocolNotOffered,
        ),
        (
            "protocol case differs",
            good_101_with(&["Sec-WebSocket-Protocol: Chat"]),
            ProtocolNotOffered,
        ),
        (
            "two protocols",
            good_101_with(&["Sec-WebSocket-Protocol: chat, chat"]),
            ProtocolNotOffered,
        ),
        (
            "protocol twice",
            good_101_with(&[
                "Sec-WebSocket-Protocol: chat",
                "Sec-WebSocket-Protocol: chat",
            ]),
            ProtocolNotOffered,
        ),
        (
            "protocol junk",
            good_101_with(&["Sec-WebSocket-Protocol: a b"]),
            ProtocolNotOffered,
        ),
        (
            "extension not offered",
            good_101_with(&["Sec-WebSocket-Extensions: x-webkit-deflate-frame"]),
            ExtensionNotOffered,
        ),
        (
            "extension junk",
            good_101_with(&["Sec-WebSocket-Extensions: permessage-deflate;;"]),
            InvalidExtensions,
        ),
        (
            "HTTP/1.0 101",
            {
                let mut v = good_101_with(&[]);
                v[7] = b'0';
                v
            },
            HttpVersion,
        ),
        ("garbage", b"HTTP/1.1 1O1 OK\r\n\r\n".to_vec(), Malformed),
        ("not HTTP", b"SSH-2.0-OpenSSH\r\n\r\n".to_vec(), Malformed),
    ];
    for (name, bytes, error) in cases {
        let mut hs = offering_client();
        assert_eq!(
            respond(&mut hs, &bytes).map(|_| ()),
            Err(error.clone()),
            "{name}"
        );
        // Sticky.
        assert_eq!(hs.handle_input(b"x").map(|_| ()), Err(error), "{name}");
        assert_eq!(hs.buffered_len(), 0);
    }

    // A protocol when none was offered.
    let mut hs = client(ClientRequest::new("example.com", RFC_NONCE)).0;
    assert_eq!(
        respond(&mut hs, &good_101_with(&["Sec-WebSocket-Protocol: chat"])).map(|_| ()),
        Err(ProtocolNotOffered)
    );
}

#[test]
fn client_response_caps() {
    // A 101 of exactly the cap is fine; one byte more is not.
    let limits = HandshakeLimits::new(256, 8);
    let make = |len: usize| {
        let base = good_101_with(&[]).len() + "X-Pad: \r\n".len();
        let pad = format!("X-Pad: {}", "a".repeat(len - base));
        good_101_with(&[&pad])
    };
    let request = ClientRequest::new("example.com", RFC_NONCE).limits(limits);
    let mut hs = client(request.clone()).0;
    assert_eq!(respond(&mut hs, &make(256)).unwrap().1, 256);
    let mut hs = client(request.clone()).0;
    assert_eq!(
        respond(&mut hs, &make(257)).map(|_| ()),
        Err(ClientHandshakeError::HeadTooLong)
    );

    // Header count: 8 is the cap.
    let five: Vec<&str> = vec!["A: 1", "B: 2", "C: 3", "D: 4", "E: 5"];
    let mut hs = client(request.clone()).0;
    assert!(respond(&mut hs, &good_101_with(&five)).is_ok());
    let mut six = five.clone();
    six.push("F: 6");
    let mut hs = client(request).0;
    assert_eq!(
        respond(&mut hs, &good_101_with(&six)).map(|_| ()),
        Err(ClientHandshakeError::TooManyHeaders)
    );
}

#[test]
fn request_builder_misuse_is_refused_and_writes_nothing() {
    let base = || ClientRequest::new("example.com", RFC_NONCE);
    let cases = [
        (ClientRequest::new("", RFC_NONCE), BuildError::InvalidHost),
        (
            ClientRequest::new("exa mple.com", RFC_NONCE),
            BuildError::InvalidHost,
        ),
        (
            ClientRequest::new("example.com\r\nX: y", RFC_NONCE),
            BuildError::InvalidHost,
        ),
        (base().target("chat"), BuildError::InvalidTarget),
        (base().target("/a b"), BuildError::InvalidTarget),
        (base().target("/\u{e9}"), BuildError::InvalidTarget),
        (base().origin("http://a\nb"), BuildError::InvalidOrigin),
        (
            base().protocol("chat").protocol("chat"),
            BuildError::InvalidProtocol,
        ),
        (base().protocol("a,b"), BuildError::InvalidProtocol),
        (base().protocol(""), BuildError::InvalidProtocol),
        (
            base().extension(Extension::new("a b")),
            BuildError::InvalidExtension,
        ),
        (
            base().extension(Extension::new("a").with_param_value("b", "\"c\"")),
            BuildError::InvalidExtension,
        ),
        (base().header("X-A", "a\rb"), BuildError::InvalidHeaderValue),
        (base().header("X-A", "a\nb"), BuildError::InvalidHeaderValue),
        (base().header("X-A", " a"), BuildError::InvalidHeaderValue),
        (base().header("X:A", "a"), BuildError::InvalidHeaderName),
        (base().header("Host", "a"), BuildError::ReservedHeader),
        (
            base().header("sec-websocket-key", "a"),
            BuildError::ReservedHeader,
        ),
        (base().header("Origin", "a"), BuildError::ReservedHeader),
    ];
    for (request, error) in cases {
        let mut out = Vec::new();
        assert_eq!(
            request.write(&plain(), &mut out).map(|_| ()),
            Err(error),
            "{request:?}"
        );
        assert!(out.is_empty());
    }
}

#[test]
fn client_offers_reach_the_server_intact() {
    let (_, out) = client(
        ClientRequest::new("example.com:9001", [0xAB; 16])
            .target("/a/b?c=d&e")
            .origin("https://example.com")
            .protocol("v1.chat")
            .protocol("v2.chat")
            .extension(Extension::new("permessage-deflate").with_param("client_max_window_bits"))
            .extension(Extension::new("permessage-deflate"))
            .header("Authorization", "Bearer abc")
            .header("X-Empty", ""),
    );
    let (request, _) = serve(&out).unwrap();
    assert_eq!(request.host(), "example.com:9001");
    assert_eq!(request.path(), "/a/b");
    assert_eq!(request.query(), Some("c=d&e"));
    assert_eq!(request.origin(), Some("https://example.com"));
    assert_eq!(request.protocols(), ["v1.chat", "v2.chat"]);
    assert_eq!(request.extensions().len(), 2);
    assert_eq!(
        request.headers().get("authorization"),
        Some(&b"Bearer abc"[..])
    );
    assert_eq!(request.headers().get("x-empty"), Some(&b""[..]));
}

// ------------------------------------------------------------ linear work

#[test]
fn client_maximal_response_one_byte_at_a_time_is_linear_work() {
    let limits = HandshakeLimits::default();
    let mut hs = client(ClientRequest::new("example.com", RFC_NONCE)).0;
    let base = good_101_with(&[]).len() + "X-Pad: \r\n".len();
    let pad = format!("X-Pad: {}", "a".repeat(limits.max_head_len - base));
    let bytes = good_101_with(&[&pad]);
    assert_eq!(bytes.len(), limits.max_head_len);
    for (i, b) in bytes.iter().enumerate() {
        let status = hs.handle_input(core::slice::from_ref(b)).unwrap();
        assert_eq!(status.is_partial(), i + 1 < bytes.len());
    }
    assert!(hs.bytes_examined() <= 3 * bytes.len());
}

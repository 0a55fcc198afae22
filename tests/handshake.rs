//! The opening handshake (RFC 6455 section 4), both sides: valid requests
//! and responses in their real-world variations, a table of bad ones with
//! the outcome each must get, caps, pipelined bytes, and linear work.

use wscore::Role;
use wscore::frame::Status;
use wscore::handshake::client::{ClientHandshake, ClientRequest, Response};
use wscore::handshake::server::{Accept, Reject, Request, ServerHandshake};
use wscore::handshake::{
    BuildError, ClientHandshakeError, Extension, HandshakeError, HandshakeLimits, accept_key,
};

/// The key and accept value of RFC 6455 sections 1.2 and 1.3.
const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// The 16 bytes whose base64 encoding is `RFC_KEY`.
const RFC_NONCE: [u8; 16] = *b"the sample nonce";

/// The client handshake of RFC 6455 section 1.2.
const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

/// A request line and header lines, joined into a head.
fn head(request_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("{request_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The headers of a minimal valid request.
const VALID: [&str; 5] = [
    "Host: example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// The valid headers with the one starting with `replace` (a header name
/// and colon) swapped for `with` (or dropped, if `with` is empty).
fn valid_but(replace: &str, with: &[&str]) -> Vec<u8> {
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

/// Feed `bytes` in one piece to a fresh server handshake.
fn serve(bytes: &[u8]) -> Result<(Request, usize), HandshakeError> {
    serve_with(HandshakeLimits::default(), bytes)
}

fn serve_with(limits: HandshakeLimits, bytes: &[u8]) -> Result<(Request, usize), HandshakeError> {
    let mut server = ServerHandshake::new(limits);
    match server.handle_input(bytes)? {
        Status::Complete((request, used)) => Ok((request.clone(), used)),
        Status::Partial => panic!("the head is complete, yet the server wants more"),
    }
}

/// A client handshake for `request`, with the bytes it wrote.
fn client(request: ClientRequest) -> (ClientHandshake, Vec<u8>) {
    let mut out = Vec::new();
    let handshake = request.write(&mut out).unwrap();
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

/// Parse an HTTP response (one of ours) with httparse, to check it is well formed.
fn parse_response(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
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

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------- RFC example

#[test]
fn rfc_example_accept_key() {
    assert_eq!(accept_key(RFC_KEY.as_bytes()), RFC_ACCEPT);
}

#[test]
fn rfc_example_request_is_accepted_with_the_rfc_response() {
    let (request, used) = serve(RFC_REQUEST.as_bytes()).unwrap();
    assert_eq!(used, RFC_REQUEST.len());
    assert_eq!(request.target(), "/chat");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), None);
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.key(), RFC_KEY);
    assert_eq!(request.protocols(), ["chat", "superchat"]);
    assert!(request.extensions().is_empty());
    assert_eq!(request.headers().len(), 7);
    assert_eq!(
        request.headers().get("origin"),
        Some(&b"http://example.com"[..])
    );

    let mut out = Vec::new();
    let negotiated = request
        .accept(&Accept::new().protocol("chat"), &mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         Sec-WebSocket-Protocol: chat\r\n\
         \r\n"
    );
    assert_eq!(negotiated.role, Role::Server);
    assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
    assert!(negotiated.extensions.is_empty());
}

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
    let negotiated = response_seen.into_negotiated();
    assert_eq!(negotiated.role, Role::Client);
    assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
    assert!(negotiated.extensions.is_empty());
}

// ------------------------------------------------- real-world variations

#[test]
fn browser_request_is_accepted() {
    // What Chrome and Firefox send: "keep-alive, Upgrade", "WebSocket",
    // extension offers, and a crowd of unrelated headers.
    let bytes = head(
        "GET /socket?token=abc HTTP/1.1",
        &[
            "Host: localhost:8080",
            "Connection: keep-alive, Upgrade",
            "Pragma: no-cache",
            "Cache-Control: no-cache",
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
            "Upgrade: WebSocket",
            "Origin: http://localhost:8080",
            "Sec-WebSocket-Version: 13",
            "Accept-Encoding: gzip, deflate, br",
            "Accept-Language: en-US,en;q=0.9",
            "Cookie: a=1; b=2",
            "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        ],
    );
    let (request, used) = serve(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(request.path(), "/socket");
    assert_eq!(request.query(), Some("token=abc"));
    assert_eq!(request.host(), "localhost:8080");
    assert!(request.origin_allowed(&["http://example.com", "HTTP://LOCALHOST:8080"]));
    assert!(!request.origin_allowed(&["http://localhost"]));
    assert_eq!(
        request.extensions(),
        [Extension::new("permessage-deflate").with_param("client_max_window_bits")]
    );
    assert_eq!(request.headers().get("cookie"), Some(&b"a=1; b=2"[..]));

    let mut out = Vec::new();
    let negotiated = request
        .accept(
            &Accept::new()
                .extension(
                    Extension::new("permessage-deflate").with_param("server_no_context_takeover"),
                )
                .header("Set-Cookie", "s=1"),
            &mut out,
        )
        .unwrap();
    let (status, headers, rest) = parse_response(&out);
    assert_eq!(status, 101);
    assert!(rest.is_empty());
    // The value for this key is the one in section 4.2.2's discussion.
    assert_eq!(
        header(&headers, "sec-websocket-accept"),
        Some("HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
    );
    assert_eq!(
        header(&headers, "sec-websocket-extensions"),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(header(&headers, "set-cookie"), Some("s=1"));
    assert_eq!(header(&headers, "sec-websocket-protocol"), None);
    assert_eq!(negotiated.protocol, None);
    assert_eq!(
        negotiated.extensions[0].param("server_no_context_takeover"),
        Some(None)
    );
}

#[test]
fn repeated_connection_and_upgrade_lines_are_one_list() {
    let bytes = valid_but(
        "Connection:",
        &["Connection: keep-alive", "Connection: Upgrade"],
    );
    serve(&bytes).unwrap();

    let bytes = valid_but("Upgrade:", &["Upgrade: h2c", "Upgrade: websocket"]);
    serve(&bytes).unwrap();

    let bytes = valid_but("Connection:", &["Connection: ,keep-alive,,  upgrade\t, "]);
    serve(&bytes).unwrap();
}

#[test]
fn header_names_and_tokens_in_any_case_and_spacing() {
    let bytes = head(
        "GET / HTTP/1.1",
        &[
            "HOST: example.com",
            "upgrade:WEBSOCKET",
            "connection: \tkeep-alive ,UPGRADE  ",
            "sec-websocket-key:   dGhlIHNhbXBsZSBub25jZQ==  ",
            "SEC-WEBSOCKET-VERSION:13",
            "sec-websocket-protocol: a,b ,  c",
            "SEC-WEBSOCKET-EXTENSIONS: foo ; bar = \"baz\" ;qux",
        ],
    );
    let (request, _) = serve(&bytes).unwrap();
    assert_eq!(request.key(), RFC_KEY);
    assert_eq!(request.protocols(), ["a", "b", "c"]);
    assert_eq!(
        request.extensions(),
        [Extension::new("foo")
            .with_param_value("bar", "baz")
            .with_param("qux")]
    );
}

#[test]
fn repeated_protocol_and_extension_lines_concatenate() {
    let mut lines = VALID.to_vec();
    lines.extend_from_slice(&[
        "Sec-WebSocket-Protocol: a, b",
        "Sec-WebSocket-Extensions: x; p=1",
        "Sec-WebSocket-Protocol: c",
        "Sec-WebSocket-Extensions: y, x",
    ]);
    let (request, _) = serve(&head("GET / HTTP/1.1", &lines)).unwrap();
    assert_eq!(request.protocols(), ["a", "b", "c"]);
    let names: Vec<&str> = request.extensions().iter().map(Extension::name).collect();
    assert_eq!(names, ["x", "y", "x"]);
}

#[test]
fn one_leading_empty_line_and_a_zero_content_length_are_tolerated() {
    // RFC 7230 section 3.5: a server SHOULD ignore an empty line before the
    // request line.
    let mut bytes = b"\r\n".to_vec();
    let mut lines = VALID.to_vec();
    lines.push("Content-Length: 0");
    bytes.extend_from_slice(&head("GET / HTTP/1.1", &lines));
    let (request, used) = serve(&bytes).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(request.headers().get("content-length"), Some(&b"0"[..]));
}

#[test]
fn absolute_form_target_and_bare_lf_lines_are_accepted() {
    let bytes = valid_but("Host:", &["Host: example.com"])
        .iter()
        .copied()
        .filter(|&b| b != b'\r')
        .collect::<Vec<u8>>();
    let (request, used) = serve(&bytes).unwrap();
    assert_eq!(used, bytes.len());

    let mut abs = VALID.to_vec();
    abs.push("X: y");
    let (request2, _) = serve(&head("GET ws://example.com/chat?x=1 HTTP/1.1", &abs)).unwrap();
    assert_eq!(request.path(), "/chat");
    assert_eq!(request2.target(), "ws://example.com/chat?x=1");
    assert_eq!(request2.path(), "/chat");
    assert_eq!(request2.query(), Some("x=1"));
}

// ------------------------------------------------------------ bad requests

/// Every kind of bad request, with the error and status it must get.
fn bad_requests() -> Vec<(&'static str, Vec<u8>, HandshakeError, u16)> {
    use HandshakeError::*;
    let key = |k: &'static str| valid_but("Sec-WebSocket-Key:", &[k]);
    let version = |v: &'static [&'static str]| valid_but("Sec-WebSocket-Version:", v);
    let with = |extra: &'static str| {
        let mut lines = VALID.to_vec();
        lines.push(extra);
        head("GET / HTTP/1.1", &lines)
    };
    vec![
        (
            "POST",
            head("POST / HTTP/1.1", &VALID),
            MethodNotAllowed,
            405,
        ),
        (
            "lowercase get",
            head("get / HTTP/1.1", &VALID),
            MethodNotAllowed,
            405,
        ),
        ("HTTP/1.0", head("GET / HTTP/1.0", &VALID), HttpVersion, 400),
        ("HTTP/2.0", head("GET / HTTP/2.0", &VALID), Malformed, 400),
        (
            "asterisk target",
            head("GET * HTTP/1.1", &VALID),
            InvalidTarget,
            400,
        ),
        (
            "authority target",
            head("GET example.com:80 HTTP/1.1", &VALID),
            InvalidTarget,
            400,
        ),
        ("no request line", b"\r\n\r\n".to_vec(), Malformed, 400),
        ("garbage", b"\x00\x01\x02\r\n\r\n".to_vec(), Malformed, 400),
        (
            "bare CR",
            b"GET / HTTP/1.1\rHost: x\r\n\r\n".to_vec(),
            Malformed,
            400,
        ),
        (
            "space before colon",
            valid_but("Host:", &["Host : example.com"]),
            Malformed,
            400,
        ),
        (
            "obs-fold",
            valid_but("Host:", &["Host: a", " b"]),
            Malformed,
            400,
        ),
        ("missing Host", valid_but("Host:", &[]), InvalidHost, 400),
        (
            "two Hosts",
            valid_but("Host:", &["Host: a", "Host: b"]),
            InvalidHost,
            400,
        ),
        (
            "empty Host",
            valid_but("Host:", &["Host:"]),
            InvalidHost,
            400,
        ),
        (
            "non-UTF-8 Host",
            valid_but("Host:", &["Host: \u{e9}"])
                .iter()
                .map(|&b| if b == 0xc3 { 0xff } else { b })
                .collect(),
            InvalidHost,
            400,
        ),
        (
            "missing Upgrade",
            valid_but("Upgrade:", &[]),
            MissingUpgrade,
            426,
        ),
        (
            "Upgrade h2c",
            valid_but("Upgrade:", &["Upgrade: h2c"]),
            UpgradeNotWebSocket,
            400,
        ),
        (
            "Upgrade websocket/13",
            valid_but("Upgrade:", &["Upgrade: websocket/13"]),
            UpgradeNotWebSocket,
            400,
        ),
        (
            "missing Connection",
            valid_but("Connection:", &[]),
            MissingConnectionUpgrade,
            400,
        ),
        (
            "Connection keep-alive",
            valid_but("Connection:", &["Connection: keep-alive"]),
            MissingConnectionUpgrade,
            400,
        ),
        (
            "Connection upgraded",
            valid_but("Connection:", &["Connection: upgraded"]),
            MissingConnectionUpgrade,
            400,
        ),
        (
            "version 8",
            version(&["Sec-WebSocket-Version: 8"]),
            UnsupportedVersion,
            426,
        ),
        ("missing version", version(&[]), UnsupportedVersion, 426),
        (
            "version list",
            version(&["Sec-WebSocket-Version: 13, 8"]),
            UnsupportedVersion,
            426,
        ),
        (
            "two versions",
            version(&["Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13"]),
            UnsupportedVersion,
            426,
        ),
        (
            "missing key",
            valid_but("Sec-WebSocket-Key:", &[]),
            MissingKey,
            400,
        ),
        (
            "key of 15 bytes",
            key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j"),
            InvalidKey,
            400,
        ),
        (
            "key of 17 bytes",
            key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXg="),
            InvalidKey,
            400,
        ),
        (
            "key not base64",
            key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!!"),
            InvalidKey,
            400,
        ),
        (
            "key unpadded",
            key("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"),
            InvalidKey,
            400,
        ),
        ("empty key", key("Sec-WebSocket-Key:"), InvalidKey, 400),
        (
            "two keys",
            valid_but(
                "Sec-WebSocket-Key:",
                &[
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                ],
            ),
            InvalidKey,
            400,
        ),
        (
            "two Origins",
            {
                let mut v = valid_but("Host:", &["Host: a", "Origin: x"]);
                v.truncate(v.len() - 2);
                v.extend_from_slice(b"Origin: y\r\n\r\n");
                v
            },
            InvalidOrigin,
            400,
        ),
        (
            "protocol not a token",
            with("Sec-WebSocket-Protocol: chat/1"),
            InvalidProtocols,
            400,
        ),
        (
            "protocol with space",
            with("Sec-WebSocket-Protocol: a b"),
            InvalidProtocols,
            400,
        ),
        (
            "empty protocol list",
            with("Sec-WebSocket-Protocol: ,"),
            InvalidProtocols,
            400,
        ),
        (
            "junk extension",
            with("Sec-WebSocket-Extensions: permessage-deflate; ;"),
            InvalidExtensions,
            400,
        ),
        (
            "extension value not a token",
            with("Sec-WebSocket-Extensions: a; b=\"x y\""),
            InvalidExtensions,
            400,
        ),
        (
            "unterminated quote",
            with("Sec-WebSocket-Extensions: a; b=\"x"),
            InvalidExtensions,
            400,
        ),
        (
            "empty extension list",
            with("Sec-WebSocket-Extensions:"),
            InvalidExtensions,
            400,
        ),
    ]
}

#[test]
fn bad_requests_get_their_status_and_a_complete_response() {
    for (name, bytes, error, status) in bad_requests() {
        let got = serve(&bytes).map(|(r, _)| r.target().to_owned());
        assert_eq!(got, Err(error), "{name}");
        assert_eq!(error.status(), status, "{name}");

        let response = error.response();
        let (parsed_status, headers, body) = parse_response(&response);
        assert_eq!(parsed_status, status, "{name}");
        assert_eq!(
            header(&headers, "content-length"),
            Some(body.len().to_string().as_str())
        );
        assert_eq!(body, format!("{}\n", error.reason()).as_bytes(), "{name}");
        assert!(
            header(&headers, "connection").unwrap().contains("close"),
            "{name}"
        );
        match status {
            426 => {
                assert_eq!(header(&headers, "upgrade"), Some("websocket"), "{name}");
                assert_eq!(
                    header(&headers, "connection"),
                    Some("Upgrade, close"),
                    "{name}"
                );
            }
            405 => assert_eq!(header(&headers, "allow"), Some("GET"), "{name}"),
            _ => assert_eq!(header(&headers, "connection"), Some("close"), "{name}"),
        }
        let version = header(&headers, "sec-websocket-version");
        let want = (error == HandshakeError::UnsupportedVersion).then_some("13");
        assert_eq!(version, want, "{name}");
    }
}

#[test]
fn unsupported_version_response_is_exact() {
    assert_eq!(
        String::from_utf8(HandshakeError::UnsupportedVersion.response()).unwrap(),
        "HTTP/1.1 426 Upgrade Required\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade, close\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 34\r\n\
         \r\n\
         unsupported Sec-WebSocket-Version\n"
    );
}

#[test]
fn errors_are_sticky_and_a_complete_head_is_final() {
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let bad = head("POST / HTTP/1.1", &VALID);
    assert_eq!(
        server.handle_input(&bad),
        Err(HandshakeError::MethodNotAllowed)
    );
    assert_eq!(
        server.handle_input(b"GET"),
        Err(HandshakeError::MethodNotAllowed)
    );
    assert_eq!(server.buffered_len(), 0);
    assert!(server.request().is_none());

    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let good = head("GET / HTTP/1.1", &VALID);
    let Ok(Status::Complete((_, used))) = server.handle_input(&good) else {
        panic!()
    };
    assert_eq!(used, good.len());
    // Later input all belongs to the connection.
    let Ok(Status::Complete((request, used))) = server.handle_input(b"\x81\x80") else {
        panic!()
    };
    assert_eq!(used, 0);
    assert_eq!(request.target(), "/");
    assert!(server.into_request().is_some());
}

// ------------------------------------------------------------------- caps

/// A valid request padded with an `X-Pad` header to exactly `len` bytes.
fn padded_request(len: usize) -> Vec<u8> {
    let base = head("GET / HTTP/1.1", &VALID);
    // Drop the final CRLF, add "X-Pad: aaa\r\n\r\n".
    let fixed = base.len() - 2 + "X-Pad: ".len() + 4;
    let pad = "a".repeat(len - fixed);
    let mut lines = VALID.to_vec();
    let pad_line = format!("X-Pad: {pad}");
    lines.push(&pad_line);
    let out = head("GET / HTTP/1.1", &lines);
    assert_eq!(out.len(), len);
    out
}

#[test]
fn default_caps_are_8_kib_and_64_headers() {
    let limits = HandshakeLimits::default();
    assert_eq!(limits.max_head_len, 8192);
    assert_eq!(limits.max_headers, 64);
    assert_eq!(limits, HandshakeLimits::new(8192, 64));
}

#[test]
fn head_of_exactly_the_cap_is_accepted_and_one_more_byte_refused() {
    let at_cap = padded_request(8192);
    assert_eq!(serve(&at_cap).unwrap().1, 8192);

    let over = padded_request(8193);
    assert_eq!(serve(&over).unwrap_err(), HandshakeError::HeadTooLong);
    assert_eq!(HandshakeError::HeadTooLong.status(), 431);

    // Same in small pieces, and the buffer never passes the cap.
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let mut outcome = Ok(None);
    for piece in over.chunks(100) {
        outcome = server
            .handle_input(piece)
            .map(|s| s.complete().map(|(_, n)| n));
        assert!(server.buffered_len() <= 8192);
        if outcome.is_err() {
            break;
        }
    }
    assert_eq!(outcome, Err(HandshakeError::HeadTooLong));
}

#[test]
fn endless_head_is_refused_at_the_cap() {
    let limits = HandshakeLimits::new(1024, 64);
    let mut server = ServerHandshake::new(limits);
    let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
    input.resize(1024, b'a');
    // Exactly the cap without an end: nothing more could make it valid.
    assert_eq!(
        server.handle_input(&input),
        Err(HandshakeError::HeadTooLong)
    );
    assert_eq!(server.buffered_len(), 0);
}

fn request_with_headers(count: usize) -> Vec<u8> {
    let extra: Vec<String> = (VALID.len()..count).map(|i| format!("X-{i}: v")).collect();
    let mut lines: Vec<&str> = VALID.to_vec();
    lines.extend(extra.iter().map(String::as_str));
    head("GET / HTTP/1.1", &lines)
}

#[test]
fn header_count_at_the_cap_is_accepted_and_one_more_refused() {
    let (request, _) = serve(&request_with_headers(64)).unwrap();
    assert_eq!(request.headers().len(), 64);
    assert_eq!(
        serve(&request_with_headers(65)).unwrap_err(),
        HandshakeError::TooManyHeaders
    );
    assert_eq!(HandshakeError::TooManyHeaders.status(), 431);

    // A huge configured cap does not mean a huge allocation, and still works.
    let (request, _) = serve_with(
        HandshakeLimits::new(1 << 20, usize::MAX),
        &request_with_headers(500),
    )
    .unwrap();
    assert_eq!(request.headers().len(), 500);
}

// ------------------------------------------------------- pipelined bytes

#[test]
fn server_hands_back_pipelined_frames_intact() {
    let request = head("GET / HTTP/1.1", &VALID);
    // A masked text frame "Hi" right behind the head.
    let frame = [0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2];
    let mut input = request.clone();
    input.extend_from_slice(&frame);

    let (_, used) = serve(&input).unwrap();
    assert_eq!(used, request.len());
    assert_eq!(&input[used..], frame);

    // The head ends inside the second of three pieces.
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let (a, rest) = input.split_at(20);
    let (b, c) = rest.split_at(rest.len() - 3);
    assert!(server.handle_input(a).unwrap().is_partial());
    let Ok(Status::Complete((_, used))) = server.handle_input(b) else {
        panic!()
    };
    assert_eq!(used, request.len() - 20);
    let mut leftover = b[used..].to_vec();
    leftover.extend_from_slice(c);
    assert_eq!(leftover, frame);
}

#[test]
fn client_hands_back_pipelined_frames_intact() {
    let (mut hs, out) = client(ClientRequest::new("example.com", RFC_NONCE));
    let (request, _) = serve(&out).unwrap();
    let mut input = Vec::new();
    request.accept(&Accept::new(), &mut input).unwrap();
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

// ------------------------------------------------------- server decisions

#[test]
fn accept_misuse_is_refused_and_writes_nothing() {
    let (request, _) = serve(RFC_REQUEST.as_bytes()).unwrap();
    let mut out = Vec::new();
    let cases = [
        (
            Accept::new().protocol("superduperchat"),
            BuildError::ProtocolNotOffered,
        ),
        (
            Accept::new().protocol("Chat"),
            BuildError::ProtocolNotOffered,
        ),
        (
            Accept::new().extension(Extension::new("permessage-deflate")),
            BuildError::ExtensionNotOffered,
        ),
        (
            Accept::new().header("Sec-WebSocket-Accept", "x"),
            BuildError::ReservedHeader,
        ),
        (
            Accept::new().header("connection", "close"),
            BuildError::ReservedHeader,
        ),
        (
            Accept::new().header("X-A", "a\r\nInjected: 1"),
            BuildError::InvalidHeaderValue,
        ),
        (
            Accept::new().header("X A", "a"),
            BuildError::InvalidHeaderName,
        ),
        (Accept::new().header("", "a"), BuildError::InvalidHeaderName),
    ];
    for (accept, error) in cases {
        assert_eq!(request.accept(&accept, &mut out), Err(error));
        assert!(out.is_empty());
    }
    // The request is unchanged: a valid choice still works.
    request
        .accept(&Accept::new().protocol("superchat"), &mut out)
        .unwrap();
    assert!(out.starts_with(b"HTTP/1.1 101 "));
}

#[test]
fn accept_checks_extension_syntax_and_offer() {
    let mut lines = VALID.to_vec();
    lines.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo");
    let (request, _) = serve(&head("GET / HTTP/1.1", &lines)).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        request.accept(
            &Accept::new()
                .extension(Extension::new("permessage-deflate").with_param_value("a", "b c")),
            &mut out
        ),
        Err(BuildError::InvalidExtension)
    );
    assert!(out.is_empty());
    let negotiated = request
        .accept(
            &Accept::new()
                .extension(
                    Extension::new("permessage-deflate")
                        .with_param_value("client_max_window_bits", "10"),
                )
                .extension(Extension::new("x-foo")),
            &mut out,
        )
        .unwrap();
    let (_, headers, _) = parse_response(&out);
    assert_eq!(
        header(&headers, "sec-websocket-extensions"),
        Some("permessage-deflate; client_max_window_bits=10, x-foo")
    );
    assert_eq!(negotiated.extensions.len(), 2);
}

#[test]
fn reject_writes_a_complete_response() {
    let mut out = Vec::new();
    Reject::new(302)
        .header("Location", "https://example.com/ws")
        .body("moved")
        .write(&mut out)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 302 Found\r\n\
         Location: https://example.com/ws\r\n\
         Connection: close\r\n\
         Content-Length: 5\r\n\
         \r\n\
         moved"
    );

    let mut out = Vec::new();
    Reject::new(499).write(&mut out).unwrap();
    assert_eq!(
        out,
        b"HTTP/1.1 499 \r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn origin_policy_helper() {
    let (request, _) = serve(RFC_REQUEST.as_bytes()).unwrap();
    assert!(request.origin_allowed(&["http://example.com"]));
    assert!(!request.origin_allowed(&["https://example.com"]));
    assert!(!request.origin_allowed(&[]));
    let (no_origin, _) = serve(&head("GET / HTTP/1.1", &VALID)).unwrap();
    assert_eq!(no_origin.origin(), None);
    assert!(!no_origin.origin_allowed(&["http://example.com"]));
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
        assert_eq!(response.negotiated().role, Role::Client);
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
            request.write(&mut out).map(|_| ()),
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
fn maximal_head_one_byte_at_a_time_is_linear_work() {
    for len in [512, 8192] {
        let limits = HandshakeLimits::new(len, 64);
        let bytes = padded_request(len);
        let mut server = ServerHandshake::new(limits);
        for (i, b) in bytes.iter().enumerate() {
            let status = server.handle_input(core::slice::from_ref(b)).unwrap();
            assert_eq!(status.is_partial(), i + 1 < len);
        }
        let examined = server.bytes_examined();
        // Each byte is scanned once, copied once and parsed once. A parser
        // that re-scans the buffer on each call would examine ~len²/2.
        assert!(examined >= len, "the counter counts: {examined}");
        assert!(
            examined <= 3 * len,
            "{examined} bytes examined for a {len}-byte head"
        );
    }
}

#[test]
fn many_headers_one_byte_at_a_time_is_linear_work() {
    let bytes = request_with_headers(64);
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    for b in &bytes {
        let _ = server.handle_input(core::slice::from_ref(b)).unwrap();
    }
    assert!(server.request().is_some());
    assert!(server.bytes_examined() <= 3 * bytes.len());
}

#[test]
fn endless_header_one_byte_at_a_time_is_linear_work() {
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    let mut fed = 0;
    let mut stream = b"GET / HTTP/1.1\r\nX-Long: "
        .iter()
        .chain(core::iter::repeat(&b'a'));
    let error = loop {
        let b = stream.next().unwrap();
        fed += 1;
        match server.handle_input(core::slice::from_ref(b)) {
            Ok(status) => assert!(status.is_partial()),
            Err(e) => break e,
        }
        assert!(server.buffered_len() <= 8192);
    };
    assert_eq!(error, HandshakeError::HeadTooLong);
    assert_eq!(fed, 8192);
    assert!(server.bytes_examined() <= 2 * 8192);
}

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

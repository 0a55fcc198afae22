//! The server side of the opening handshake (RFC 6455 section 4): valid
//! requests in their real-world variations, a table of bad ones with the
//! outcome each must get, caps, pipelined bytes, decisions, and linear work.

mod common;

use common::authority::reference_authority;
use common::handshake::*;
use wscore::Role;
use wscore::frame::Status;
use wscore::handshake::server::{Accept, Reject, ServerHandshake};
use wscore::handshake::{BuildError, Extension, HandshakeError, HandshakeLimits, accept_key};

/// The key and accept value of RFC 6455 sections 1.2 and 1.3.
const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

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

/// The headers of a minimal valid request.
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
    let (conn, negotiated) = request
        .accept(
            &Accept::new().protocol("chat"),
            &plain(),
            wscore::Instant::ZERO,
            &[],
            &mut out,
        )
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
    // Only a server's connection can come of a server's accept.
    assert_eq!(conn.role(), Role::Server);
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
    let negotiated = accept_plain(
        &request,
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

// ------------------------------------------------------------ host and authority

/// Host values that are valid authorities (RFC 3986 section 3.2, RFC 9112
/// section 3.2), each accepted and reported as sent.
const VALID_HOSTS: &[&str] = &[
    "example.com",
    "EXAMPLE.com",
    "localhost:8080",
    "a",
    "a-b_c~d.e",
    "xn--bcher-kva.example",
    "example.com.",
    "192.0.2.1",
    "192.0.2.1:443",
    // Not an IPv4 address, so a reg-name, which the grammar allows.
    "256.1.1.1",
    "1.2.3",
    "%41%7a.example",
    "!$&'()*+,;=",
    "h:0",
    "h:65535",
    "h:080",
    // An empty port: RFC 3986's `port = *DIGIT` allows it.
    "h:",
    "[::1]",
    "[::1]:9001",
    "[::1]:",
    "[2001:db8::7]",
    "[2001:DB8:0:0:8:800:200C:417A]",
    "[1:2:3:4:5:6:7:8]:80",
    "[::ffff:192.0.2.128]",
    "[fe80::]",
    "[v1.fe80::a+en1]",
    "[V7.x:y]",
];

#[test]
fn valid_host_values_are_accepted() {
    for &host in VALID_HOSTS {
        assert!(reference_authority(host.as_bytes()), "{host}");
        let line = format!("Host: {host}");
        let (request, _) =
            serve(&valid_but("Host:", &[&line])).unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(request.host(), host);
        assert_eq!(request.headers().get("host"), Some(host.as_bytes()));
    }
}

#[test]
fn absolute_form_authority_wins_over_host() {
    // RFC 9112 section 3.2.2: the target's authority, not Host, names the
    // resource's host. (target, host(), path(), query())
    let cases = [
        ("ws://evil.example/chat", "evil.example", "/chat", None),
        (
            "ws://evil.example:8080/chat",
            "evil.example:8080",
            "/chat",
            None,
        ),
        (
            "wss://evil.example:8443/a?x=1",
            "evil.example:8443",
            "/a",
            Some("x=1"),
        ),
        ("http://evil.example", "evil.example", "/", None),
        ("HTTPS://Evil.Example/", "Evil.Example", "/", None),
        ("Ws://evil.example?q", "evil.example", "/", Some("q")),
        ("ws://[::1]:9001/chat", "[::1]:9001", "/chat", None),
        ("ws://192.0.2.1/", "192.0.2.1", "/", None),
        ("ws://evil.example:/", "evil.example:", "/", None),
        ("ws://example.com/chat", "example.com", "/chat", None),
        // Origin-form: Host it is.
        ("/chat", "example.com", "/chat", None),
    ];
    for (target, host, path, query) in cases {
        let bytes = head(&format!("GET {target} HTTP/1.1"), &VALID);
        let (request, _) = serve(&bytes).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(request.target(), target);
        assert_eq!(
            (request.host(), request.path(), request.query()),
            (host, path, query),
            "{target}"
        );
        // The Host header as received is still there.
        assert_eq!(request.headers().get("host"), Some(&b"example.com"[..]));
    }
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
        assert_eq!(accept_plain(&request, &accept, &mut out), Err(error));
        assert!(out.is_empty());
    }
    // The request is unchanged: a valid choice still works.
    accept_plain(&request, &Accept::new().protocol("superchat"), &mut out).unwrap();
    assert!(out.starts_with(b"HTTP/1.1 101 "));
}

#[test]
fn accept_checks_extension_syntax_and_offer() {
    let mut lines = VALID.to_vec();
    lines.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo");
    let (request, _) = serve(&head("GET / HTTP/1.1", &lines)).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        accept_plain(
            &request,
            &Accept::new()
                .extension(Extension::new("permessage-deflate").with_param_value("a", "b c")),
            &mut out
        ),
        Err(BuildError::InvalidExtension)
    );
    assert!(out.is_empty());
    let negotiated = accept_plain(
        &request,
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
fn status_is_one_type_at_three_paths() {
    // The same type, so a value from one path matches a pattern from another.
    let partial: wscore::Status<()> = wscore::handshake::Status::Partial;
    assert!(matches!(partial, wscore::frame::Status::Partial));
    let mut server = ServerHandshake::new(HandshakeLimits::default());
    assert!(matches!(
        server.handle_input(b"GET / HTTP/1.1\r\n"),
        Ok(wscore::handshake::Status::Partial)
    ));
}

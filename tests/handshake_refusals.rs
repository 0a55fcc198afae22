//! Refusals of bad upgrade requests: each kind gets its exact HTTP status
//! and a complete, parseable response.

mod common;

use common::authority::reference_authority;
use common::handshake::*;
use wscore::frame::Status;
use wscore::handshake::server::ServerHandshake;
use wscore::handshake::{HandshakeError, HandshakeLimits};

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
            "Host with userinfo",
            valid_but("Host:", &["Host: user@example.com"]),
            InvalidHost,
            400,
        ),
        (
            "Host with a bad port",
            valid_but("Host:", &["Host: example.com:99999"]),
            InvalidHost,
            400,
        ),
        (
            "unknown scheme",
            head("GET javascript://x/y HTTP/1.1", &VALID),
            InvalidTarget,
            400,
        ),
        (
            "absolute-form without authority",
            head("GET ws:///chat HTTP/1.1", &VALID),
            InvalidTarget,
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

// ---------------------------------------------------- host and authority

/// Host values that are not valid authorities, each with the refusal it
/// gets: `InvalidHost`, or `Malformed` where the byte is one no header
/// field value may hold. All are 400, as RFC 9112 section 3.2 requires.
fn invalid_hosts() -> Vec<(&'static [u8], HandshakeError)> {
    use HandshakeError::*;
    vec![
        (b"a b", InvalidHost),
        (b"a\tb", InvalidHost),
        (b"a/b@c", InvalidHost),
        (b"a/b", InvalidHost),
        (b"user@example.com", InvalidHost),
        (b"user:pass@example.com:80", InvalidHost),
        (b"@example.com", InvalidHost),
        (b"example.com@", InvalidHost),
        (b"a?b", InvalidHost),
        (b"a#b", InvalidHost),
        (b"a\\b", InvalidHost),
        (b"a\"b", InvalidHost),
        (b"<a>", InvalidHost),
        (b"a|b", InvalidHost),
        (b"a^b", InvalidHost),
        (b"a{b}", InvalidHost),
        (b"a`b", InvalidHost),
        (b"http://example.com", InvalidHost),
        (b"a%", InvalidHost),
        (b"a%2", InvalidHost),
        (b"a%zz", InvalidHost),
        // Ports: not digits, too large, or more than one.
        (b"h:x", InvalidHost),
        (b"h:99999", InvalidHost),
        (b"h:65536", InvalidHost),
        (b"h:-1", InvalidHost),
        (b"h:+1", InvalidHost),
        (b"h: 80", InvalidHost),
        (b"h:80:81", InvalidHost),
        (b"h:8o", InvalidHost),
        // An empty host, with or without a port.
        (b":", InvalidHost),
        (b":80", InvalidHost),
        // IP literals: unbalanced or stray brackets, bad addresses, zones.
        (b"[::1", InvalidHost),
        (b"::1]", InvalidHost),
        (b"::1", InvalidHost),
        (b"[::1]]", InvalidHost),
        (b"[[::1]", InvalidHost),
        (b"[::1]x", InvalidHost),
        (b"[::1]80", InvalidHost),
        (b"a[::1]", InvalidHost),
        (b"]", InvalidHost),
        (b"[", InvalidHost),
        (b"[]", InvalidHost),
        (b"[example.com]", InvalidHost),
        (b"[192.0.2.1]", InvalidHost),
        (b"[1:2:3:4:5:6:7:8:9]", InvalidHost),
        (b"[1:2:3:4:5:6:7]", InvalidHost),
        (b"[1::2::3]", InvalidHost),
        (b"[:::]", InvalidHost),
        (b"[12345::]", InvalidHost),
        (b"[::256.0.0.1]", InvalidHost),
        (b"[::01.2.3.4]", InvalidHost),
        (b"[fe80::1%25eth0]", InvalidHost),
        (b"[v1]", InvalidHost),
        (b"[v.x]", InvalidHost),
        (b"[vg.x]", InvalidHost),
        (b"[v1.]", InvalidHost),
        (b"[v1.a/b]", InvalidHost),
        // Not ASCII: UTF-8 and not even that.
        ("b\u{fc}cher.example".as_bytes(), InvalidHost),
        (b"\xff", InvalidHost),
        (b"a\x80b", InvalidHost),
        // Control characters a field value may not hold at all.
        (b"a\x01b", Malformed),
        (b"a\x7fb", Malformed),
        (b"a\0b", Malformed),
    ]
}

fn with_host(value: &[u8]) -> Vec<u8> {
    let mut bytes = b"GET /chat HTTP/1.1\r\nHost: ".to_vec();
    bytes.extend_from_slice(value);
    bytes.extend_from_slice(b"\r\n");
    for line in &VALID[1..] {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes
}

#[test]
fn invalid_host_values_are_refused() {
    assert!(VALID[0].starts_with("Host:"));
    for (value, error) in invalid_hosts() {
        let shown = String::from_utf8_lossy(value);
        assert!(!reference_authority(value), "{shown:?}");
        let got = serve(&with_host(value)).map(|(r, _)| r.host().to_owned());
        assert_eq!(got, Err(error), "{shown:?}");
        assert_eq!(error.status(), 400, "{shown:?}");
    }
}

#[test]
fn absolute_form_with_unknown_scheme_is_refused() {
    for target in [
        "javascript://x/y",
        "ftp://example.com/chat",
        "file:///etc/passwd",
        "data://example.com/",
        "gopher://example.com/",
        "wsx://example.com/",
        "ws+unix://example.com/",
        "h2c://example.com/",
        "w://example.com/",
        "httpss://example.com/",
        "1ws://example.com/",
        "://example.com/",
        "ws//example.com/",
        "ws:example.com/",
    ] {
        let got = serve(&head(&format!("GET {target} HTTP/1.1"), &VALID)).map(|_| ());
        assert_eq!(got, Err(HandshakeError::InvalidTarget), "{target}");
    }
    // The four schemes that can name this resource, in any case.
    for target in ["http://h/", "HTTPS://h/", "ws://h/", "wSs://h/"] {
        assert!(
            serve(&head(&format!("GET {target} HTTP/1.1"), &VALID)).is_ok(),
            "{target}"
        );
    }
}

#[test]
fn absolute_form_without_a_valid_authority_is_refused() {
    // The authority replaces Host (RFC 9112 section 3.2.2), so it must be
    // as valid as Host; and an absolute-form target without one names no
    // host at all.
    let mut targets: Vec<String> = [
        "ws:///chat",
        "ws://",
        "ws://?x",
        "ws://:80/chat",
        "http:/chat",
        "ws:chat",
        "ws://user@example.com/chat",
        "ws://user:pass@example.com:80/",
        "ws://example.com:99999/",
        "ws://example.com:x/",
        "ws://[::1/chat",
        "ws://::1]/chat",
        "ws://[fe80::1%25eth0]/",
        "ws://example.com#frag",
        "ws://a%zz/",
        "ws://a\\b/",
    ]
    .iter()
    .map(|t| (*t).to_owned())
    .collect();
    // Every invalid Host value without a byte the request line cannot hold.
    for (value, _) in invalid_hosts() {
        if value
            .iter()
            .all(|b| b.is_ascii_graphic() && !b"/?".contains(b))
        {
            targets.push(format!("ws://{}/chat", String::from_utf8_lossy(value)));
        }
    }
    assert!(targets.len() > 40);
    for target in &targets {
        let got = serve(&head(&format!("GET {target} HTTP/1.1"), &VALID)).map(|_| ());
        assert_eq!(got, Err(HandshakeError::InvalidTarget), "{target}");
    }
}

#[test]
fn host_is_still_required_and_checked_with_an_absolute_form_target() {
    // RFC 9112 section 3.2's 400 for a missing or invalid Host applies to
    // every request; section 3.2.2 only says whose authority wins.
    let target = "GET ws://example.com/chat HTTP/1.1";
    let missing: Vec<&str> = VALID[1..].to_vec();
    assert_eq!(
        serve(&head(target, &missing)).map(|_| ()),
        Err(HandshakeError::InvalidHost)
    );
    let mut lines = VALID.to_vec();
    lines[0] = "Host: a b";
    assert_eq!(
        serve(&head(target, &lines)).map(|_| ()),
        Err(HandshakeError::InvalidHost)
    );
    lines[0] = "Host:";
    assert_eq!(
        serve(&head(target, &lines)).map(|_| ()),
        Err(HandshakeError::InvalidHost)
    );
    // The target is checked first, as the documented order says.
    assert_eq!(
        serve(&head("GET javascript://x/y HTTP/1.1", &missing)).map(|_| ()),
        Err(HandshakeError::InvalidTarget)
    );
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

//! Unit tests of the helpers the `std::net` examples share
//! (examples/common/mod.rs), which `cargo test` builds but does not test.

#[path = "../examples/common/mod.rs"]
mod example;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use example::{AcceptBackoff, Accepted, BACKOFF_MIN, WsUrl, handshake_read_error, parse_url};
use wscore::Config;

fn url(host: &str, port: u16, target: &str) -> WsUrl {
    WsUrl {
        host: host.into(),
        port,
        target: target.into(),
    }
}

#[test]
fn parse_url_splits_names_ipv4_and_bracketed_ipv6() {
    for (input, expected, host_header) in [
        (
            "ws://example.com",
            url("example.com", 80, "/"),
            "example.com",
        ),
        (
            "ws://example.com:9001/chat?x=1",
            url("example.com", 9001, "/chat?x=1"),
            "example.com:9001",
        ),
        (
            "ws://127.0.0.1:9001",
            url("127.0.0.1", 9001, "/"),
            "127.0.0.1:9001",
        ),
        ("ws://h?q", url("h", 80, "/?q"), "h"),
        // The regression: brackets are URL syntax, not part of the address.
        ("ws://[::1]:9001", url("::1", 9001, "/"), "[::1]:9001"),
        ("ws://[::1]", url("::1", 80, "/"), "[::1]"),
        (
            "ws://[2001:db8::7]:443/p",
            url("2001:db8::7", 443, "/p"),
            "[2001:db8::7]:443",
        ),
    ] {
        let got = parse_url(input).unwrap();
        assert_eq!(got, expected, "{input}");
        assert_eq!(got.host_header(), host_header, "{input}");
    }
}

#[test]
fn parse_url_refuses_what_it_cannot_connect_to() {
    for bad in [
        "wss://h/",
        "ws://",
        "ws://:80/",
        "ws://h:x/",
        "ws://h:70000/",
        "ws://::1/",
        "ws://[::1/",
        "ws://[::1]x/",
        "ws://[nope]/",
        "ws://[]:80/",
        "ws://u@h/",
    ] {
        assert!(parse_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_bracketed_ipv6_url_connects() {
    // Loopback IPv6 may be missing in a container; then there is nothing
    // to connect to, and the parsing test above still stands.
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let parsed = parse_url(&format!("ws://[::1]:{port}/")).unwrap();
    TcpStream::connect((parsed.host.as_str(), parsed.port)).unwrap();
}

#[test]
fn a_read_timeout_during_the_handshake_says_so() {
    for kind in [ErrorKind::WouldBlock, ErrorKind::TimedOut] {
        let e = handshake_read_error(kind.into(), Duration::from_secs(10));
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "handshake timed out after 10 s");
    }
    let other = handshake_read_error(ErrorKind::ConnectionReset.into(), Duration::from_secs(10));
    assert_eq!(other.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn a_client_that_never_finishes_its_handshake_times_out_with_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // Half a request, then silence.
    client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let Err(error) =
        example::accept_within(&mut server, &Config::default(), Duration::from_millis(200))
    else {
        panic!("the handshake cannot complete");
    };
    assert_eq!(error.kind(), ErrorKind::TimedOut);
    assert_eq!(error.to_string(), "handshake timed out after 0.2 s");
    drop(server);
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
}

fn emfile() -> std::io::Error {
    std::io::Error::from_raw_os_error(24)
}

#[test]
fn accept_backoff_doubles_to_a_second_and_starts_short_again_once_a_connection_is_served() {
    let mut backoff = AcceptBackoff::default();
    let now = std::time::Instant::now();
    let pauses: Vec<_> = (0..9)
        .map(|_| backoff.step(now, Accepted::AcceptFailed(emfile())).0)
        .collect();
    let ms = |n| Some(Duration::from_millis(n));
    assert_eq!(
        pauses,
        [
            ms(10),
            ms(20),
            ms(40),
            ms(80),
            ms(160),
            ms(320),
            ms(640),
            ms(1000),
            ms(1000)
        ]
    );
    assert_eq!(backoff.step(now, Accepted::Served).0, None);
    let spawn_failed = Accepted::ServeFailed(ErrorKind::WouldBlock.into());
    assert_eq!(backoff.step(now, spawn_failed).0, Some(BACKOFF_MIN));
}

#[test]
fn accept_backoff_logs_once_a_second_with_the_count_since_the_last_line() {
    let mut backoff = AcceptBackoff::default();
    let start = std::time::Instant::now();
    let mut lines = Vec::new();
    // An error every 10 ms for 2.5 s: three lines, not 250.
    for i in 0..250 {
        let now = start + Duration::from_millis(10 * i);
        if let (_, Some(line)) = backoff.step(now, Accepted::AcceptFailed(emfile())) {
            lines.push(line);
        }
    }
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("accept: "), "{}", lines[0]);
    assert!(
        lines[0].contains("since the last report: 1)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("since the last report: 100)"),
        "{}",
        lines[1]
    );
}

#[test]
fn accept_backoff_skips_one_connections_errors_without_a_pause_or_a_line() {
    let mut backoff = AcceptBackoff::default();
    for kind in [ErrorKind::ConnectionAborted, ErrorKind::ConnectionReset] {
        let outcome = Accepted::AcceptFailed(kind.into());
        assert_eq!(
            backoff.step(std::time::Instant::now(), outcome),
            (None, None)
        );
    }
}

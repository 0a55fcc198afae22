//! From the opening handshake to a `Connection` on each side: the server's
//! accept and the client's checked response return the connection, under
//! the `Config` (permessage-deflate included) and already fed the bytes
//! that came behind each head, on the byte path and the `http` one alike.

#[cfg(feature = "deflate")]
use wscore::extension::deflate::{DeflateConfig, DeflateParams};
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::handshake::{HandshakeLimits, Status};
use wscore::{Config, Event, Instant, Role};

#[test]
fn negotiated_results_start_both_connections_with_the_bytes_behind_each_head() {
    let now = Instant::ZERO;
    let config = Config::default();

    let mut to_server = Vec::new();
    let mut client_hs = ClientRequest::new("example.com", [3; 16])
        .protocol("chat")
        .write(&config, &mut to_server)
        .unwrap();

    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((request, used)) = server_hs.handle_input(&to_server).unwrap() else {
        panic!("the request is complete");
    };
    assert_eq!(used, to_server.len());
    let mut to_client = Vec::new();
    let (mut server, negotiated) = request
        .accept(
            &Accept::new().protocol("chat"),
            &config,
            now,
            &to_server[used..],
            &mut to_client,
        )
        .unwrap();
    assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
    assert_eq!(server.role(), Role::Server);

    // The server speaks first, in the same write as its 101.
    server.send_text("welcome").unwrap();
    server.poll_transmit(&mut to_client);

    let Status::Complete((response, used)) = client_hs.handle_input(&to_client).unwrap() else {
        panic!("the response is complete");
    };
    assert_eq!(response.negotiated().protocol.as_deref(), Some("chat"));
    let mut client = response.open(now, &to_client[used..], || [9, 8, 7, 6]);
    assert_eq!(client.role(), Role::Client);
    assert!(matches!(client.poll_event(), Some(Event::Text("welcome"))));

    // And back: the client's frames are masked, as a server requires.
    client.send_binary(b"ok").unwrap();
    let mut wire = Vec::new();
    client.poll_transmit(&mut wire);
    server.handle_input(now, &wire);
    assert!(matches!(server.poll_event(), Some(Event::Binary(b"ok"))));
}

/// A client's frames sent right behind its request, before the 101: the
/// connection `accept` returns has parsed them already.
#[test]
fn accept_feeds_the_frames_behind_the_request_head() {
    let now = Instant::ZERO;
    // permessage-deflate is agreed under the defaults; an uncompressed
    // frame (RSV1 clear) is still valid.
    let config = Config::default();
    let mut to_server = Vec::new();
    ClientRequest::new("example.com", [3; 16])
        .write(&config, &mut to_server)
        .unwrap();
    let head = to_server.len();
    // A masked text frame "hi" (key 1 2 3 4), in the same read.
    to_server.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((request, used)) = server_hs.handle_input(&to_server).unwrap() else {
        panic!("the request is complete");
    };
    assert_eq!(used, head);
    let (mut server, _) = request
        .accept(
            &Accept::new(),
            &config,
            now,
            &to_server[used..],
            &mut Vec::new(),
        )
        .unwrap();
    assert_eq!(server.poll_event(), Some(Event::Text("hi")));
}

/// What broke in the README's hyper snippet: `Accept::new()` left
/// permessage-deflate off. Under the default config the plain calls now
/// agree on it, both ways, and the connections compress.
#[cfg(feature = "deflate")]
#[test]
fn the_default_config_negotiates_permessage_deflate_without_extra_calls() {
    let now = Instant::ZERO;
    let config = Config::default();
    let mut to_server = Vec::new();
    let mut client_hs = ClientRequest::new("example.com", [3; 16])
        .write(&config, &mut to_server)
        .unwrap();
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((request, _)) = server_hs.handle_input(&to_server).unwrap() else {
        panic!("the request is complete");
    };
    let mut to_client = Vec::new();
    let (mut server, on_server) = request
        .accept(&Accept::new(), &config, now, &[], &mut to_client)
        .unwrap();
    let expected = DeflateParams {
        server_max_window_bits: 13,
        client_max_window_bits: 13,
        ..DeflateParams::default()
    };
    assert_eq!(
        DeflateParams::from_extensions(&on_server.extensions),
        Some(expected)
    );
    let Status::Complete((response, used)) = client_hs.handle_input(&to_client).unwrap() else {
        panic!("the response is complete");
    };
    assert_eq!(response.negotiated(), &on_server);
    let mut client = response.open(now, &to_client[used..], || [9, 8, 7, 6]);

    // Compressed: RSV1 on the frame, and fewer bytes than the text.
    let text = "compress me ".repeat(20);
    client.send_text(&text).unwrap();
    let mut wire = Vec::new();
    client.poll_transmit(&mut wire);
    assert_eq!(wire[0] & 0x40, 0x40, "RSV1 marks a compressed message");
    assert!(wire.len() < text.len());
    server.handle_input(now, &wire);
    assert_eq!(server.poll_event(), Some(Event::Text(text.as_str())));
}

/// A config with permessage-deflate off neither offers nor accepts it.
#[cfg(feature = "deflate")]
#[test]
fn a_disabled_config_offers_and_accepts_no_deflate() {
    let off = Config::default().with_deflate(DeflateConfig::DISABLED);
    let mut to_server = Vec::new();
    ClientRequest::new("example.com", [3; 16])
        .write(&off, &mut to_server)
        .unwrap();
    assert!(!String::from_utf8_lossy(&to_server).contains("Sec-WebSocket-Extensions"));

    // A browser-like offer to a server whose config turns it off.
    let mut offered = Vec::new();
    ClientRequest::new("example.com", [3; 16])
        .write(&Config::default(), &mut offered)
        .unwrap();
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((request, _)) = server_hs.handle_input(&offered).unwrap() else {
        panic!("the request is complete");
    };
    let mut to_client = Vec::new();
    let (_, agreed) = request
        .accept(&Accept::new(), &off, Instant::ZERO, &[], &mut to_client)
        .unwrap();
    assert!(agreed.extensions.is_empty());
    assert!(!String::from_utf8_lossy(&to_client).contains("Sec-WebSocket-Extensions"));
}

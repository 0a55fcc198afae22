//! From the opening handshake to a `Connection` on each side, built from the
//! handshake's `Negotiated` result, with the bytes that came behind each head
//! handed over.

use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::handshake::{HandshakeLimits, Status};
use wscore::{Config, Connection, Event, Instant, Role};

#[test]
fn negotiated_results_start_both_connections_with_the_bytes_behind_each_head() {
    let now = Instant::ZERO;
    let config = Config::default();

    let mut to_server = Vec::new();
    let mut client_hs = ClientRequest::new("example.com", [3; 16])
        .protocol("chat")
        .write(&mut to_server)
        .unwrap();

    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((request, used)) = server_hs.handle_input(&to_server).unwrap() else {
        panic!("the request is complete");
    };
    assert_eq!(used, to_server.len());
    let mut to_client = Vec::new();
    let negotiated = request
        .accept(&Accept::new().protocol("chat"), &mut to_client)
        .unwrap();
    assert_eq!(negotiated.role, Role::Server);
    let mut server = Connection::from_server_handshake(&config, now, negotiated);
    assert_eq!(server.role(), Role::Server);

    // The server speaks first, in the same write as its 101.
    server.send_text("welcome").unwrap();
    server.poll_transmit(&mut to_client);

    let Status::Complete((response, used)) = client_hs.handle_input(&to_client).unwrap() else {
        panic!("the response is complete");
    };
    assert_eq!(response.negotiated().protocol.as_deref(), Some("chat"));
    let mut client =
        Connection::from_client_handshake(&config, now, response.negotiated().clone(), || {
            [9, 8, 7, 6]
        });
    assert_eq!(client.role(), Role::Client);
    client.handle_input(now, &to_client[used..]);
    assert!(matches!(client.poll_event(), Some(Event::Text("welcome"))));

    // And back: the client's frames are masked, as a server requires.
    client.send_binary(b"ok").unwrap();
    let mut wire = Vec::new();
    client.poll_transmit(&mut wire);
    server.handle_input(now, &wire);
    assert!(matches!(server.poll_event(), Some(Event::Binary(b"ok"))));
}

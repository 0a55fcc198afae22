//! wscore: a client and a server connected through the real opening
//! handshake (`ClientRequest` offering permessage-deflate, the server's
//! `Request::accept` accepting it), so the connections run what was
//! negotiated. Sans-IO: the driver moves each side's `poll_transmit` output
//! into the other's `input_buffer` (one copy, as a socket read would be)
//! and drains `poll_event_with_sender`; the server echoes straight from the
//! borrowed event with its `Sender`.

use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::handshake::{Extension, HandshakeLimits};
use wscore::{Config, Connection, Event, Instant, Status};

use crate::Wire;

pub struct Pair {
    client: Connection,
    server: Connection,
    wire: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` agreed on, for the table's notes.
    pub negotiated: String,
}

/// What the client offers and the server answers, or `None` for no
/// extension (compression off).
pub struct Deflate {
    pub offer: Extension,
    pub accept: Extension,
}

/// permessage-deflate with no parameters beyond `client_max_window_bits`
/// in the offer (which a browser sends too): window 15 and context
/// takeover both ways.
pub fn deflate_default() -> Deflate {
    Deflate {
        offer: Extension::new("permessage-deflate").with_param("client_max_window_bits"),
        accept: Extension::new("permessage-deflate"),
    }
}

/// Both windows limited to `bits`.
pub fn deflate_window(bits: u8) -> Deflate {
    let b = bits.to_string();
    Deflate {
        offer: Extension::new("permessage-deflate")
            .with_param_value("server_max_window_bits", b.clone())
            .with_param_value("client_max_window_bits", b.clone()),
        accept: Extension::new("permessage-deflate")
            .with_param_value("server_max_window_bits", b.clone())
            .with_param_value("client_max_window_bits", b),
    }
}

/// No context takeover either way (soketto's only mode).
pub fn deflate_no_takeover() -> Deflate {
    Deflate {
        offer: Extension::new("permessage-deflate")
            .with_param("server_no_context_takeover")
            .with_param("client_no_context_takeover"),
        accept: Extension::new("permessage-deflate")
            .with_param("server_no_context_takeover")
            .with_param("client_no_context_takeover"),
    }
}

pub fn connect(config: &Config, deflate: Option<Deflate>) -> Pair {
    let now = Instant::ZERO;
    let mut request = ClientRequest::new("localhost", [7; 16]);
    let mut accept = Accept::new();
    if let Some(d) = deflate {
        request = request.extension(d.offer);
        accept = accept.extension(d.accept);
    }
    let mut to_server = Vec::new();
    let mut client_hs = request.write(&mut to_server).expect("wscore: request");
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((req, used)) = server_hs.handle_input(&to_server).expect("wscore: head")
    else {
        panic!("wscore: the request is complete");
    };
    assert_eq!(used, to_server.len());
    let mut to_client = Vec::new();
    let negotiated = req.accept(&accept, &mut to_client).expect("wscore: accept");
    let server = Connection::from_server_handshake(config, now, negotiated);
    let Status::Complete((response, used)) =
        client_hs.handle_input(&to_client).expect("wscore: 101")
    else {
        panic!("wscore: the response is complete");
    };
    assert_eq!(used, to_client.len());
    let negotiated = response.negotiated().clone();
    let described = negotiated
        .extensions
        .iter()
        .map(|e| {
            let mut s = e.name().to_string();
            for (k, v) in e.params() {
                s.push_str("; ");
                s.push_str(k);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(v);
                }
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Mask keys from a counter: fine for a benchmark, not for a real client
    // (section 5.3 wants unpredictable keys).
    let mut n = 0u32;
    let mask = move || {
        n = n.wrapping_add(0x9E37_79B9);
        n.to_le_bytes()
    };
    let client = Connection::from_client_handshake(config, now, negotiated, mask);
    Pair {
        client,
        server,
        wire: Vec::with_capacity(16 << 10),
        negotiated: described,
    }
}

/// Copy `wire` into `conn` the way a socket read would fill its buffer.
fn feed(conn: &mut Connection, wire: &[u8], mut on_event: impl FnMut(&mut Connection)) {
    let mut at = 0;
    while at < wire.len() {
        let buf = conn.input_buffer(wire.len() - at);
        let n = buf.len().min(wire.len() - at);
        buf[..n].copy_from_slice(&wire[at..at + n]);
        conn.commit_input(Instant::ZERO, n);
        at += n;
        on_event(conn);
    }
}

/// One pass over `corpus`: each message client → server → client, checked
/// byte for byte on both receipts.
pub fn round_trips(p: &mut Pair, corpus: &[String]) -> Wire {
    let mut w = Wire::default();
    for msg in corpus {
        p.client.send_text(msg).expect("wscore: client send");
        p.wire.clear();
        w.c2s += p.client.poll_transmit(&mut p.wire) as u64;
        let mut echoed = 0;
        feed(&mut p.server, &p.wire, |server| {
            while let Some((event, mut tx)) = server.poll_event_with_sender() {
                match event {
                    Event::Text(text) => {
                        assert_eq!(text, msg, "wscore: server got a different message");
                        tx.send_text(text).expect("wscore: server send");
                        echoed += 1;
                    }
                    other => panic!("wscore server: unexpected {other:?}"),
                }
            }
        });
        assert_eq!(echoed, 1, "wscore: server got {echoed} messages");
        p.wire.clear();
        w.s2c += p.server.poll_transmit(&mut p.wire) as u64;
        let mut got = 0;
        feed(&mut p.client, &p.wire, |client| {
            while let Some(event) = client.poll_event() {
                match event {
                    Event::Text(text) => {
                        assert_eq!(text, msg, "wscore: client got a different echo");
                        got += 1;
                    }
                    other => panic!("wscore client: unexpected {other:?}"),
                }
            }
        });
        assert_eq!(got, 1, "wscore: client got {got} echoes");
    }
    w
}

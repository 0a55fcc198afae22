//! wscore: a client and a server connected through the real opening
//! handshake (`ClientRequest::write` offers what `DeflateConfig::offers`
//! makes, the server's `Request::accept` answers what
//! `DeflateConfig::negotiate` picks), so the connections it returns run
//! what was negotiated. Sans-IO: the driver moves each side's `poll_transmit` output
//! into the other's `input_buffer` (one copy, as a socket read would be)
//! and drains `poll_event_with_sender`; the server echoes straight from the
//! borrowed event with its `Sender`.

use wscore::handshake::HandshakeLimits;
use wscore::handshake::client::ClientRequest;
use wscore::handshake::server::{Accept, ServerHandshake};
use wscore::{Config, Connection, Event, Instant, Status};

use crate::Wire;

pub struct Pair {
    client: Connection,
    server: Connection,
    wire: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` agreed on, for the table's notes.
    pub negotiated: String,
}

pub fn connect(config: &Config) -> Pair {
    let now = Instant::ZERO;
    // The client offers what its config asks for (`DeflateConfig::offers`);
    // the server answers with `DeflateConfig::negotiate` over the offers.
    let request = ClientRequest::new("localhost", [7; 16]);
    let mut to_server = Vec::new();
    let mut client_hs = request
        .write(config, &mut to_server)
        .expect("wscore: request");
    let mut server_hs = ServerHandshake::new(HandshakeLimits::default());
    let Status::Complete((req, used)) = server_hs.handle_input(&to_server).expect("wscore: head")
    else {
        panic!("wscore: the request is complete");
    };
    assert_eq!(used, to_server.len());
    let mut to_client = Vec::new();
    let (server, _) = req
        .accept(&Accept::new(), config, now, &[], &mut to_client)
        .expect("wscore: accept");
    let Status::Complete((response, used)) =
        client_hs.handle_input(&to_client).expect("wscore: 101")
    else {
        panic!("wscore: the response is complete");
    };
    assert_eq!(used, to_client.len());
    let described = response
        .negotiated()
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
    let client = response.open(now, &to_client[used..], mask);
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

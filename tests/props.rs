//! Properties over arbitrary operation sequences and chunkings, on a Pair.

mod common;

use common::*;
use proptest::prelude::*;
use wscore::frame::Opcode;
use wscore::{CloseCode, Config, MessageKind};

#[derive(Clone, Debug)]
enum Send {
    Text(String),
    Binary(Vec<u8>),
    /// A streamed binary message in these pieces.
    Stream(Vec<Vec<u8>>),
    /// A streamed text message: the string's bytes cut at these points.
    TextStream(String, Vec<usize>),
    Ping(Vec<u8>),
}

fn any_send() -> impl Strategy<Value = Send> {
    prop_oneof![
        ".{0,40}".prop_map(Send::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Send::Binary),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..5)
            .prop_map(Send::Stream),
        (".{0,20}", proptest::collection::vec(any::<usize>(), 0..4))
            .prop_map(|(s, cuts)| Send::TextStream(s, cuts)),
        proptest::collection::vec(any::<u8>(), 0..126).prop_map(Send::Ping),
    ]
}

fn any_chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        Just(Chunking::Whole),
        Just(Chunking::Bytewise),
        proptest::collection::vec(1usize..40, 1..6).prop_map(Chunking::Sizes),
    ]
}

/// Apply a send to `conn`; return what the receiver must report for it.
fn apply(conn: &mut wscore::Connection, op: &Send) -> Ev {
    match op {
        Send::Text(s) => {
            conn.send_text(s).unwrap();
            Ev::Text(s.clone())
        }
        Send::Binary(b) => {
            conn.send_binary(b).unwrap();
            Ev::Binary(b.clone())
        }
        Send::Stream(pieces) => {
            conn.begin_message(MessageKind::Binary).unwrap();
            for (i, p) in pieces.iter().enumerate() {
                conn.send_fragment(p, i + 1 == pieces.len()).unwrap();
            }
            Ev::Binary(pieces.concat())
        }
        Send::TextStream(s, cuts) => {
            let bytes = s.as_bytes();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            points.push(bytes.len());
            conn.begin_message(MessageKind::Text).unwrap();
            let mut start = 0;
            for (i, &end) in points.iter().enumerate() {
                conn.send_fragment(&bytes[start..end], i + 1 == points.len())
                    .unwrap();
                start = end;
            }
            Ev::Text(s.clone())
        }
        Send::Ping(p) => {
            conn.send_ping(p).unwrap();
            Ev::Ping(p.clone())
        }
    }
}

/// Events as a receiver reports them, minus the Pongs it got back for its
/// own Pings (those are checked separately).
fn without_pongs(evs: Vec<Ev>) -> (Vec<Ev>, usize) {
    let pongs = evs.iter().filter(|e| matches!(e, Ev::Pong(_))).count();
    (
        evs.into_iter()
            .filter(|e| !matches!(e, Ev::Pong(_)))
            .collect(),
        pongs,
    )
}

/// No frame follows a Close on the wire, and every close code on it may be sent.
fn check_wire(wire: &[u8]) -> Result<(), TestCaseError> {
    let frames = parse_wire(wire);
    if let Some(i) = frames.iter().position(|(h, _)| h.opcode == Opcode::Close) {
        prop_assert_eq!(i + 1, frames.len(), "frames after a Close");
    }
    for code in close_codes(wire).into_iter().flatten() {
        prop_assert!(
            CloseCode(code).is_allowed_on_wire(),
            "code {} on the wire",
            code
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_sends_arrive_intact_and_in_order(
        client_ops in proptest::collection::vec(any_send(), 0..12),
        server_ops in proptest::collection::vec(any_send(), 0..12),
        chunking in any_chunking(),
        fragment in proptest::option::of(1usize..64),
        drive_every in 1usize..5,
    ) {
        let config = cfg(|c| c.fragment_size = fragment);
        let mut p = Pair::with_configs(&config, &config);
        p.chunking = chunking;
        let mut to_server = Vec::new();
        let mut to_client = Vec::new();
        for i in 0..client_ops.len().max(server_ops.len()) {
            if let Some(op) = client_ops.get(i) {
                to_server.push(apply(&mut p.client, op));
            }
            if let Some(op) = server_ops.get(i) {
                to_client.push(apply(&mut p.server, op));
            }
            if i % drive_every == 0 {
                p.drive();
            }
        }
        p.drive();
        let (server_got, server_pongs) = without_pongs(p.take_server_events());
        let (client_got, client_pongs) = without_pongs(p.take_client_events());
        prop_assert_eq!(server_got, to_server.clone());
        prop_assert_eq!(client_got, to_client.clone());
        // Every Ping was answered.
        prop_assert_eq!(client_pongs, to_server.iter().filter(|e| matches!(e, Ev::Ping(_))).count());
        prop_assert_eq!(server_pongs, to_client.iter().filter(|e| matches!(e, Ev::Ping(_))).count());
        check_wire(&p.client_wire)?;
        check_wire(&p.server_wire)?;
    }

    #[test]
    fn streaming_receiver_sees_the_same_bytes(
        ops in proptest::collection::vec(any_send(), 0..10),
        chunking in any_chunking(),
    ) {
        let server_config = cfg(|c| c.streaming = true);
        let mut p = Pair::with_configs(&Config::default(), &server_config);
        p.chunking = chunking;
        let sent: Vec<Ev> = ops.iter().map(|op| apply(&mut p.client, op)).collect();
        p.drive();
        // Join the fragments back into messages.
        let mut joined = Vec::new();
        let mut text = String::new();
        let mut bin = Vec::new();
        for e in p.take_server_events() {
            match e {
                Ev::TextFragment(s, fin) => {
                    text.push_str(&s);
                    if fin { joined.push(Ev::Text(std::mem::take(&mut text))); }
                }
                Ev::BinaryFragment(b, fin) => {
                    bin.extend(b);
                    if fin { joined.push(Ev::Binary(std::mem::take(&mut bin))); }
                }
                // Streaming mode hands out pieces only.
                Ev::Text(_) | Ev::Binary(_) => prop_assert!(false, "a whole message in streaming mode: {:?}", e),
                other => joined.push(other),
            }
        }
        prop_assert_eq!(joined, sent);
    }

    #[test]
    fn close_handshake_completes_for_every_interleaving(
        before in proptest::collection::vec((any::<bool>(), any_send()), 0..6),
        closer in 0u8..3,
        after in proptest::collection::vec((any::<bool>(), any_send()), 0..6),
        drive_between in any::<bool>(),
        chunking in any_chunking(),
    ) {
        let mut p = Pair::new();
        p.chunking = chunking;
        for (from_client, op) in &before {
            let conn = if *from_client { &mut p.client } else { &mut p.server };
            apply(conn, op);
        }
        if drive_between { p.drive(); }
        // 0: client closes, 1: server closes, 2: both at once.
        if closer != 1 { p.client.close(p.now, CloseCode::NORMAL, "c").unwrap(); }
        if closer != 0 { p.server.close(p.now, CloseCode::GOING_AWAY, "s").unwrap(); }
        // The other side keeps sending until it sees the Close.
        for (from_client, op) in &after {
            let conn = if *from_client { &mut p.client } else { &mut p.server };
            if conn.close_sent() {
                prop_assert!(conn.send_text("x").is_err());
            } else {
                apply(conn, op);
            }
            if drive_between { p.drive(); }
        }
        p.drive();
        prop_assert!(p.server.is_closed());
        p.server_closes_transport();
        prop_assert!(p.client.is_closed());
        for evs in [&p.client_events, &p.server_events] {
            let closed: Vec<&Ev> = evs.iter().filter(|e| matches!(e, Ev::Closed(_))).collect();
            prop_assert_eq!(closed.len(), 1);
            prop_assert!(matches!(evs.last(), Some(Ev::Closed(r)) if r.is_clean()));
        }
        check_wire(&p.client_wire)?;
        check_wire(&p.server_wire)?;
        prop_assert_eq!(close_codes(&p.client_wire).len(), 1);
        prop_assert_eq!(close_codes(&p.server_wire).len(), 1);
    }

    #[test]
    fn eof_at_any_point_ends_both_sides_once(
        ops in proptest::collection::vec((any::<bool>(), any_send()), 0..8),
        cut in any::<usize>(),
        close_first in any::<bool>(),
    ) {
        let mut p = Pair::new();
        for (from_client, op) in &ops {
            let conn = if *from_client { &mut p.client } else { &mut p.server };
            apply(conn, op);
        }
        if close_first { p.client.close(p.now, CloseCode::NORMAL, "").unwrap(); }
        // Deliver only a prefix of the client's bytes, then the transport dies.
        let wire = transmit(&mut p.client);
        let cut = cut % (wire.len() + 1);
        p.server.handle_input(p.now, &wire[..cut]);
        p.server.handle_eof(p.now);
        p.client.handle_eof(p.now);
        for conn in [&mut p.server, &mut p.client] {
            let evs = events(conn);
            prop_assert_eq!(evs.iter().filter(|e| matches!(e, Ev::Closed(_))).count(), 1);
            prop_assert!(matches!(evs.last(), Some(Ev::Closed(_))));
            prop_assert!(conn.is_closed());
        }
        check_wire(&transmit(&mut p.server))?;
    }
}

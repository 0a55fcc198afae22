//! `PreparedMessage`: a message framed once, compressed once per window
//! size, sent on many connections. Every peer decodes every message
//! exactly, whatever the agreed parameters and however prepared and
//! ordinary sends interleave; a client frames (and masks) it itself; the
//! fan-out allocates nothing per member; refusals are `send_text`'s.

mod common;

#[path = "common/counting.rs"]
mod counting;

use std::sync::Arc;

use common::deflate::{connections, params};
use common::{Ev, cfg, events, parse_wire, transmit};
use counting::allocs;
use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush};
use proptest::prelude::*;
use wscore::extension::deflate::DeflateParams;
use wscore::frame::Opcode;
use wscore::{CloseCode, Config, Connection, MessageKind, PreparedMessage, SendError};

#[path = "common/tokio_pipe.rs"]
mod tokio_pipe;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// A message of the property: its kind and payload.
#[derive(Clone, Debug)]
struct Msg {
    text: bool,
    data: Vec<u8>,
}

impl Msg {
    fn expected(&self) -> Ev {
        if self.text {
            Ev::Text(String::from_utf8(self.data.clone()).unwrap())
        } else {
            Ev::Binary(self.data.clone())
        }
    }

    fn prepare(&self) -> PreparedMessage {
        if self.text {
            PreparedMessage::text(std::str::from_utf8(&self.data).unwrap())
        } else {
            PreparedMessage::binary(&self.data)
        }
    }

    fn send(&self, conn: &mut Connection) -> Result<(), SendError> {
        if self.text {
            conn.send_text(std::str::from_utf8(&self.data).unwrap())
        } else {
            conn.send_binary(&self.data)
        }
    }
}

/// Small and large, text and binary, compressible (words drawn from a
/// small set, so messages repeat each other: back-references across
/// messages are what a wrong history would break) or not (random bytes).
fn msg() -> impl Strategy<Value = Msg> {
    const WORDS: &[&str] = &["hello ", "room ", "é ", "{\"user\":", "42}", "chat ", "ok "];
    let text = prop::collection::vec(0..WORDS.len(), 0..1500).prop_map(|ws| {
        ws.iter()
            .map(|&w| WORDS[w])
            .collect::<String>()
            .into_bytes()
    });
    let words_bin = prop::collection::vec(0..WORDS.len(), 0..300).prop_map(|ws| {
        ws.iter()
            .map(|&w| WORDS[w])
            .collect::<String>()
            .into_bytes()
    });
    let random = prop::collection::vec(any::<u8>(), 0..3000);
    prop_oneof![
        text.prop_map(|data| Msg { text: true, data }),
        words_bin.prop_map(|data| Msg { text: false, data }),
        random.prop_map(|data| Msg { text: false, data }),
    ]
}

/// One connection's agreement and our side's configuration.
#[derive(Clone, Debug)]
struct Setup {
    params: DeflateParams,
    /// Our compressor's window below the agreed one, or not.
    own_bits: u8,
    own_no_context: bool,
    min_size: u32,
    fragment_size: Option<usize>,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        (any::<bool>(), any::<bool>(), 8u8..=15, 8u8..=15),
        8u8..=15,
        any::<bool>(),
        prop_oneof![Just(0u32), Just(64)],
        prop_oneof![Just(None), Just(Some(100usize)), Just(Some(1000))],
    )
        .prop_map(
            |((snct, cnct, sbits, cbits), own_bits, own_no_context, min_size, fragment_size)| {
                Setup {
                    params: params(snct, cnct, sbits, cbits),
                    own_bits,
                    own_no_context,
                    min_size,
                    fragment_size,
                }
            },
        )
}

impl Setup {
    fn config(&self) -> Config {
        cfg(|c| {
            c.deflate.max_window_bits = self.own_bits;
            c.deflate.no_context_takeover = self.own_no_context;
            c.deflate.min_size = self.min_size;
            c.fragment_size = self.fragment_size;
        })
    }
}

/// An inflater independent of ours (miniz_oxide's stream, 32 KiB window):
/// reads a server's wire and returns its data messages, joining
/// fragments, inflating RSV1 messages in one stream when the server keeps
/// its context and in a fresh one per message when it does not.
struct Independent {
    state: Box<InflateState>,
    reset_each: bool,
}

impl Independent {
    fn new(server_no_context_takeover: bool) -> Independent {
        Independent {
            state: InflateState::new_boxed(DataFormat::Raw),
            reset_each: server_no_context_takeover,
        }
    }

    fn read(&mut self, wire: &[u8]) -> Vec<Ev> {
        let mut out = Vec::new();
        let mut message: Option<(Opcode, bool, Vec<u8>)> = None;
        for (h, payload) in parse_wire(wire) {
            if h.opcode.is_control() {
                continue;
            }
            let (_, _, data) = message.get_or_insert((h.opcode, h.rsv1, Vec::new()));
            data.extend_from_slice(&payload);
            if !h.fin {
                continue;
            }
            let (opcode, compressed, mut data) = message.take().unwrap();
            if compressed {
                data = self.inflate(&data);
            }
            out.push(match opcode {
                Opcode::Text => Ev::Text(String::from_utf8(data).expect("text is UTF-8")),
                _ => Ev::Binary(data),
            });
        }
        out
    }

    fn inflate(&mut self, payload: &[u8]) -> Vec<u8> {
        if self.reset_each {
            self.state = InflateState::new_boxed(DataFormat::Raw);
        }
        let mut input = payload.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        let mut rest = &input[..];
        loop {
            let r = inflate(&mut self.state, rest, &mut buf, MZFlush::Sync);
            out.extend_from_slice(&buf[..r.bytes_written]);
            rest = &rest[r.bytes_consumed..];
            match r.status {
                Ok(_) if rest.is_empty() && r.bytes_written < buf.len() => break,
                Ok(_) => {}
                // No progress possible: all input taken, all output out.
                Err(MZError::Buf) if rest.is_empty() => break,
                Err(e) => panic!("miniz_oxide fails to inflate: {e:?}"),
            }
        }
        out
    }
}

/// What each message of a round does on one connection.
#[derive(Clone, Copy, Debug)]
enum How {
    Prepared,
    Normal,
    Skip,
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![Just(How::Prepared), Just(How::Normal), Just(How::Skip)]
}

const CONNECTIONS: usize = 4;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Several connections, each with its own parameters (every window
    /// 8 to 15, context kept or not on both sides, our window below the
    /// agreed one or not, `min_size`, fragments), get the same messages,
    /// each prepared or sent as usual in any order, in both directions.
    /// Each receiver, ours and an independent inflater, gets every message
    /// exactly, in order: so a prepared form is only used where it
    /// decodes, and a normal send after it never refers to a history the
    /// peer does not have.
    #[test]
    fn prepared_and_normal_sends_decode_on_every_peer(
        setups in prop::collection::vec(setup(), CONNECTIONS),
        rounds in prop::collection::vec((msg(), prop::collection::vec(how(), CONNECTIONS)), 1..12),
    ) {
        let mut conns: Vec<(Connection, Connection, Independent)> = setups
            .iter()
            .map(|s| {
                let (c, s_) = connections(&s.params, &s.config(), &s.config());
                (c, s_, Independent::new(s.params.server_no_context_takeover))
            })
            .collect();
        let mut expected: Vec<Vec<Ev>> = vec![Vec::new(); CONNECTIONS];
        for (m, hows) in &rounds {
            // One prepared message for all, as a broadcast shares it.
            let prepared = Arc::new(m.prepare());
            for (i, how) in hows.iter().enumerate() {
                let (client, server, _) = &mut conns[i];
                match how {
                    How::Prepared => {
                        server.send_prepared(&prepared).unwrap();
                        client.send_prepared(&prepared).unwrap();
                    }
                    How::Normal => {
                        m.send(server).unwrap();
                        m.send(client).unwrap();
                    }
                    How::Skip => continue,
                }
                expected[i].push(m.expected());
            }
        }
        for (i, (client, server, independent)) in conns.iter_mut().enumerate() {
            let down = transmit(server);
            let up = transmit(client);
            prop_assert_eq!(&independent.read(&down), &expected[i], "independent, connection {}", i);
            client.handle_input(common::t(0), &down);
            prop_assert_eq!(&events(client), &expected[i], "our client, connection {}", i);
            // The client's frames reach a server, which fails the
            // connection on an unmasked one (RFC 6455 section 5.1).
            server.handle_input(common::t(0), &up);
            prop_assert_eq!(&events(server), &expected[i], "our server, connection {}", i);
        }
    }

    /// A server's prepared frame, unfragmented, is byte for byte what the
    /// message's first connection got: one frame for everyone with that
    /// window, RSV1 set exactly when compressed.
    #[test]
    fn servers_with_the_same_window_get_the_same_bytes(m in msg(), bits in 8u8..=15) {
        let prepared = m.prepare();
        let p = params(false, false, bits, 15);
        let mut wires = Vec::new();
        for _ in 0..3 {
            let (_, mut server) = connections(&p, &Config::default(), &Config::default());
            // A history of its own first, which the prepared form ignores.
            server.send_text("some earlier message of this connection").unwrap();
            let _ = transmit(&mut server);
            server.send_prepared(&prepared).unwrap();
            wires.push(transmit(&mut server));
        }
        prop_assert!(wires.windows(2).all(|w| w[0] == w[1]));
        let frames = parse_wire(&wires[0]);
        prop_assert_eq!(frames.len(), 1);
        prop_assert!(frames[0].0.rsv1 && frames[0].0.fin);
        // The connection's window (ours is 13 at most), or the smallest
        // that holds the whole message.
        let cover = (8..16).find(|&b| m.data.len() <= 1 << b).unwrap_or(16);
        prop_assert_eq!(
            prepared.compressed_window_bits().collect::<Vec<_>>(),
            vec![bits.min(13).min(cover)]
        );
    }
}

/// The case the history reset exists for, spelled out: a server keeping
/// its context sends a message, the same text prepared, then again
/// normally. Without forgetting its history after the prepared one, the
/// third would refer back to the first at a distance that, in the peer's
/// window, lands inside the prepared message.
#[test]
fn a_normal_send_after_a_prepared_one_refers_to_nothing_the_peer_lacks() {
    let p = params(false, false, 15, 15);
    let (mut client, mut server) = connections(&p, &Config::default(), &Config::default());
    let line = "{\"from\":\"alice\",\"text\":\"the same line, again and again\"}";
    let other = PreparedMessage::text("a prepared line with other words entirely: xyzzy plugh");
    server.send_text(line).unwrap();
    server.send_prepared(&other).unwrap();
    server.send_text(line).unwrap();
    let wire = transmit(&mut server);
    client.handle_input(common::t(0), &wire);
    assert_eq!(
        events(&mut client),
        vec![
            Ev::Text(line.into()),
            Ev::Text(other_text(&other)),
            Ev::Text(line.into())
        ]
    );
    let mut independent = Independent::new(false);
    assert_eq!(independent.read(&wire).len(), 3);
}

/// zlib, keeping one stream with exactly the agreed `2^bits` window,
/// inflates a server's prepared messages interleaved with normal ones,
/// for every window size: a form compressed with a wider window than the
/// connection agreed, or a normal message referring past a prepared one,
/// fails here ("too far back", or wrong bytes). The messages repeat each
/// other at every distance up to 32 KiB (`common::zlib::messages`).
#[test]
fn zlib_with_the_agreed_window_inflates_prepared_and_normal_sends() {
    let msgs = common::zlib::messages();
    let prepared: Vec<PreparedMessage> = msgs.iter().map(|m| PreparedMessage::binary(m)).collect();
    for bits in 8u8..=15 {
        let own = cfg(|c| c.deflate.max_window_bits = 15);
        let (_, mut server) = connections(&params(false, false, bits, 15), &own, &own);
        let mut sent = Vec::new();
        for (i, (m, p)) in msgs.iter().zip(&prepared).enumerate() {
            // normal, prepared, normal again: each kind follows the other.
            server.send_binary(m).unwrap();
            server.send_prepared(p).unwrap();
            sent.extend([m.clone(), m.clone()]);
            if i % 2 == 0 {
                server.send_binary(m).unwrap();
                sent.push(m.clone());
            }
        }
        let payloads: Vec<Vec<u8>> = parse_wire(&transmit(&mut server))
            .into_iter()
            .map(|(h, p)| {
                assert!(h.rsv1);
                p
            })
            .collect();
        let got = common::zlib::zlib_inflate(bits, &payloads)
            .unwrap_or_else(|e| panic!("zlib, window {bits}: {e}"));
        assert!(got == sent, "zlib, window {bits}: wrong bytes");
    }
}

fn other_text(m: &PreparedMessage) -> String {
    String::from_utf8(m.payload().to_vec()).unwrap()
}

/// Each window size a connection needs is compressed once, and only
/// those: windows 9, 13 and 15 among five connections make three forms
/// of a 40 KB message, and one of a 200-byte message (it fits the
/// smallest window, so all windows get the 8-bit form).
#[test]
fn one_compressed_form_per_window_size_needed() {
    let line = PreparedMessage::text(&"chat line ".repeat(20));
    let prepared = PreparedMessage::text(&"chat line ".repeat(4000));
    for bits in [13u8, 9, 13, 15, 9] {
        let own = cfg(|c| c.deflate.max_window_bits = 15);
        let (_, mut server) = connections(&params(false, false, bits, 15), &own, &own);
        server.send_prepared(&prepared).unwrap();
        server.send_prepared(&line).unwrap();
        let (mut client, _) = connections(&params(false, false, bits, 15), &own, &own);
        client.handle_input(common::t(0), &transmit(&mut server));
        assert_eq!(events(&mut client).len(), 2);
    }
    assert_eq!(
        prepared.compressed_window_bits().collect::<Vec<_>>(),
        vec![9, 13, 15]
    );
    assert_eq!(line.compressed_window_bits().collect::<Vec<_>>(), vec![8]);
    // Without deflate, or under `min_size`, none is made.
    let plain = PreparedMessage::binary(&[1; 100]);
    let mut s = common::server(&cfg(|c| c.deflate.enabled = false));
    s.send_prepared(&plain).unwrap();
    let small = cfg(|c| c.deflate.min_size = 101);
    let (_, mut server) = connections(&params(false, false, 13, 15), &small, &small);
    server.send_prepared(&plain).unwrap();
    let frames = parse_wire(&transmit(&mut server));
    assert!(!frames[0].0.rsv1);
    assert_eq!(plain.compressed_window_bits().count(), 0);
}

/// A client's prepared message goes out masked, with a key of its own per
/// frame, and cut by `fragment_size` as its other messages are.
#[test]
fn a_client_masks_the_prepared_payload_with_its_own_keys() {
    let prepared = PreparedMessage::binary(&[0x5a; 300]);
    let config = cfg(|c| {
        c.deflate.enabled = false;
        c.fragment_size = Some(128);
    });
    let mut client = common::client(&config);
    client.send_prepared(&prepared).unwrap();
    client.send_prepared(&prepared).unwrap();
    let wire = transmit(&mut client);
    let frames = parse_wire(&wire);
    assert_eq!(frames.len(), 6);
    let keys: Vec<_> = frames
        .iter()
        .map(|(h, _)| h.mask.expect("masked"))
        .collect();
    assert!(keys.windows(2).all(|k| k[0] != k[1]));
    let mut server = common::server(&config);
    server.handle_input(common::t(0), &wire);
    assert_eq!(
        events(&mut server),
        vec![Ev::Binary(vec![0x5a; 300]), Ev::Binary(vec![0x5a; 300])]
    );
}

/// Refusals are the ordinary send's, and change nothing.
#[test]
fn refusals_are_send_texts() {
    let prepared = PreparedMessage::text("hi");
    let mut s = common::server(&Config::default());
    s.begin_message(MessageKind::Text).unwrap();
    assert_eq!(s.send_prepared(&prepared), s.send_text("hi"));
    assert_eq!(
        s.send_prepared(&prepared),
        Err(SendError::MessageInProgress)
    );
    s.send_fragment(b"x", true).unwrap();
    s.close(common::t(0), CloseCode::NORMAL, "").unwrap();
    let before = s.pending_transmit();
    assert_eq!(s.send_prepared(&prepared), Err(SendError::Closed));
    assert_eq!(s.send_prepared(&prepared), s.send_text("hi"));
    assert_eq!(s.pending_transmit(), before);
}

/// The chat's fan-out: after one warm-up broadcast, a broadcast to 1,000
/// members with permessage-deflate as browsers get it (our defaults: 13
/// bits, context kept) allocates nothing per member: a new message costs
/// what preparing it and sending it to one member costs, and sending an
/// already prepared one costs nothing at all. The same holds without
/// deflate.
#[test]
fn send_prepared_to_1000_connections_allocates_nothing_once_warm() {
    for deflate in [true, false] {
        let config = cfg(|c| c.deflate.enabled = deflate);
        let mut members: Vec<Connection> = (0..1000)
            .map(|_| connections(&params(false, false, 13, 15), &config, &config).1)
            .collect();
        let mut out = Vec::new();
        let mut broadcast = |members: &mut [Connection], m: &PreparedMessage| {
            for member in members.iter_mut() {
                member.send_prepared(m).unwrap();
                member.poll_transmit(&mut out);
                out.clear();
            }
        };
        let line = "{\"from\":\"alice\",\"text\":\"hello, room\"}";
        let big = "{\"n\":12345,\"text\":\"a longer message\"}".repeat(110);
        for text in [line, &big, line, &big] {
            broadcast(&mut members, &PreparedMessage::text(text));
        }
        let one = {
            let before = allocs();
            broadcast(&mut members[..1], &PreparedMessage::text(&big));
            allocs() - before
        };
        let before = allocs();
        let prepared = PreparedMessage::text(&big);
        broadcast(&mut members, &prepared);
        assert_eq!(allocs() - before, one, "deflate {deflate}: per member");
        let before = allocs();
        broadcast(&mut members, &prepared);
        assert_eq!(allocs() - before, 0, "deflate {deflate}: sent again");
    }
}

/// `Arc<PreparedMessage>` crosses tasks: it is `Send + Sync`, and tasks
/// racing to make the same form all send bytes their peers decode.
#[test]
fn shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<PreparedMessage>();
    let prepared = Arc::new(PreparedMessage::text(&"shared ".repeat(2000)));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let prepared = Arc::clone(&prepared);
            std::thread::spawn(move || {
                let (mut client, mut server) = connections(
                    &params(false, false, 13, 15),
                    &Config::default(),
                    &Config::default(),
                );
                server.send_prepared(&prepared).unwrap();
                client.handle_input(common::t(0), &transmit(&mut server));
                events(&mut client)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), vec![Ev::Text("shared ".repeat(2000))]);
    }
    assert_eq!(
        prepared.compressed_window_bits().collect::<Vec<_>>(),
        vec![13]
    );
}

/// The tokio driver's `send_prepared`, on the socket and on a split
/// `WriteHalf`, reaches the client as the message.
#[test]
fn tokio_send_prepared() {
    use wscore::tokio::{Message, Options};
    tokio_pipe::run(async {
        let prepared = Arc::new(PreparedMessage::text(&"to everyone ".repeat(100)));
        let (mut client, mut server) =
            tokio_pipe::pair(1 << 16, Config::default(), Options::default()).await;
        server.send_prepared(&prepared).await.unwrap();
        let (_read, mut write) = server.into_split();
        write.send_prepared(&prepared).await.unwrap();
        for _ in 0..2 {
            assert_eq!(
                client.recv().await.unwrap().unwrap(),
                Message::Text("to everyone ".repeat(100).into())
            );
        }
    });
}

/// Preparing a message pays one compression whose working memory is sized
/// to the message, not a whole window's engine (22 KB at the smallest
/// window, 74 KB at 12 bits): a chat line costs under 4 KiB of heap in all,
/// the frame and its compressed form included, and a ~4 KiB message under
/// 56 KiB. Measured on a warm member, so the transmit queue's own growth
/// is not counted.
#[test]
fn preparing_costs_heap_sized_to_the_message() {
    let config = Config::default();
    let mut member = connections(&params(false, false, 13, 15), &config, &config).1;
    let mut out = Vec::new();
    let line = "{\"from\":\"alice\",\"text\":\"hello, room\"}".to_string();
    let big = "{\"n\":12345,\"text\":\"a longer message\"}".repeat(110);
    for (text, bound) in [(&line, 4096), (&big, 56 * 1024)] {
        for _ in 0..2 {
            member.send_prepared(&PreparedMessage::text(text)).unwrap();
            member.poll_transmit(&mut out);
            out.clear();
        }
        let before = counting::allocated_bytes();
        let prepared = PreparedMessage::text(text);
        member.send_prepared(&prepared).unwrap();
        let spent = counting::allocated_bytes() - before;
        assert_eq!(prepared.compressed_window_bits().count(), 1);
        assert!(spent < bound, "{} bytes: {spent} allocated", text.len());
        member.poll_transmit(&mut out);
        out.clear();
    }
}

//! `input_buffer` + `commit_input` (reading straight into the connection's
//! buffer) behave exactly like `handle_input`, for any chunking, in both
//! modes, and mixed with it.

mod common;

use common::*;
use proptest::prelude::*;
use wscore::{Config, Connection};

/// Feed `wire` in pieces of the given sizes (cycled), each piece either
/// copied in with `handle_input` or read into `input_buffer`, as `how`
/// says (cycled); return every event.
fn feed(conn: &mut Connection, wire: &[u8], sizes: &[usize], how: &[bool]) -> Vec<Ev> {
    let mut got = Vec::new();
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        if how[i % how.len()] {
            // The buffer may lend less than asked when it is nearly full;
            // then the piece goes in over several reads, as from a socket.
            let mut piece = piece;
            while !piece.is_empty() {
                let buf = conn.input_buffer(piece.len());
                assert!(!buf.is_empty(), "input_buffer lent nothing");
                let k = buf.len().min(piece.len());
                buf[..k].copy_from_slice(&piece[..k]);
                conn.commit_input(t(0), k);
                piece = &piece[k..];
            }
        } else {
            conn.handle_input(t(0), piece);
        }
        got.extend(events(conn));
        rest = tail;
        i += 1;
    }
    got
}

/// A mix of frames: whole and fragmented text and binary, Pings between
/// fragments, a Close at the end.
fn traffic(messages: &[(bool, Vec<u8>, usize)]) -> Vec<u8> {
    let mut wire = Vec::new();
    for (text, data, fragments) in messages {
        let data = if *text {
            String::from_utf8_lossy(data).into_owned().into_bytes()
        } else {
            data.clone()
        };
        let op = if *text { 0x1 } else { 0x2 };
        let parts = (*fragments).clamp(1, data.len().max(1));
        let size = data.len().div_ceil(parts).max(1);
        let pieces: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(size).collect()
        };
        for (i, piece) in pieces.iter().enumerate() {
            let first = if i == 0 { op } else { 0x0 };
            let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
            wire.extend(client_frame(fin | first, piece));
            if fin == 0 {
                wire.extend(client_frame(0x89, b"between"));
            }
        }
    }
    wire.extend(client_frame(0x88, &1000u16.to_be_bytes()));
    wire
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn reading_into_the_buffer_gives_what_handle_input_gives(
        messages in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(any::<u8>(), 0..3000), 1usize..5),
            1..6,
        ),
        sizes in prop::collection::vec(1usize..5000, 1..6),
        how in prop::collection::vec(any::<bool>(), 1..4),
        streaming in any::<bool>(),
    ) {
        let wire = traffic(&messages);
        let config = cfg(|c| c.streaming = streaming);
        let mut reference = server(&config);
        reference.handle_input(t(0), &wire);
        let expected = events(&mut reference);

        let mut s = server(&config);
        let got = feed(&mut s, &wire, &sizes, &how);
        if streaming {
            // Streamed pieces follow the reads; their concatenation and
            // every other event must match.
            prop_assert_eq!(joined(&got), joined(&expected));
            let whole = |e: &Ev| matches!(e, Ev::Text(_) | Ev::Binary(_));
            prop_assert!(!got.iter().any(whole) && !expected.iter().any(whole));
        } else {
            prop_assert_eq!(got, expected);
        }
    }
}

/// Streamed pieces joined per message, other events as they are.
fn joined(events: &[Ev]) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut binary = Vec::new();
    for e in events {
        match e {
            Ev::TextFragment(piece, fin) => {
                text.push_str(piece);
                if *fin {
                    out.push(Ev::Text(std::mem::take(&mut text)));
                }
            }
            Ev::BinaryFragment(piece, fin) => {
                binary.extend_from_slice(piece);
                if *fin {
                    out.push(Ev::Binary(std::mem::take(&mut binary)));
                }
            }
            Ev::Text(_) | Ev::Binary(_) => panic!("a whole message in streaming mode: {e:?}"),
            other => out.push(other.clone()),
        }
    }
    out
}

#[test]
fn a_commit_past_the_lent_slice_is_clamped() {
    let mut s = server(&Config::default());
    let frame = client_frame(0x82, b"abc");
    let len = {
        let buf = s.input_buffer(100);
        buf[..frame.len()].copy_from_slice(&frame);
        buf.len()
    };
    assert_eq!(len, 100, "a fresh connection lends what was asked");
    s.commit_input(t(0), usize::MAX);
    // Everything lent counts as input: the frame, then zeroes, which parse
    // as continuation frames without a message: a protocol error.
    assert_eq!(events(&mut s)[0], Ev::Binary(b"abc".to_vec()));
    assert!(s.is_closed());
}

#[test]
fn a_closed_connection_lends_only_scratch_space() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x88, b""));
    assert_eq!(events(&mut s).len(), 2, "Close, then Closed");
    let lent = s.input_buffer(100).len();
    assert!(lent >= 100);
    s.commit_input(t(0), 100);
    assert!(events(&mut s).is_empty(), "input after the end is ignored");
    assert!(
        s.heap_usage() <= 100 + 8192,
        "{} bytes held",
        s.heap_usage()
    );
}

#[test]
fn lending_after_eof_keeps_the_frames_received_before_it() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x81, b"before eof"));
    s.handle_eof(t(0));
    // A driver that asks for space before draining must not lose them.
    let buf = s.input_buffer(64);
    buf[..4].copy_from_slice(b"junk");
    s.commit_input(t(0), 4);
    assert_eq!(
        events(&mut s),
        vec![
            Ev::Text("before eof".into()),
            Ev::Closed(wscore::ClosedReason::Eof)
        ]
    );
}

/// A regression: a second `poll_event` after `None` left a buffer sized
/// for one 1 KiB frame, and since the rest of each partial frame fit in
/// its room, `input_buffer` lent 4 KiB at every later call: a tokio driver
/// asking for 64 KiB read 4 KiB at a time, and echoed at a third of the
/// speed.
#[test]
fn a_buffer_sized_for_a_small_frame_does_not_cut_reads_short() {
    const MIN: usize = 64 << 10;
    let mut frame = vec![0x82, 0x80 | 126, 0x04, 0x00, 1, 2, 3, 4];
    frame.extend((0..1024).map(|i| (i as u8) ^ [1, 2, 3, 4][i % 4]));
    let wire = frame.repeat(2000);
    let mut conn = Connection::server(&Config::default(), t(0));
    let mut rest = &wire[..];
    let mut lends = Vec::new();
    while !rest.is_empty() {
        let buf = conn.input_buffer(MIN);
        let n = buf.len().min(rest.len());
        lends.push(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        conn.commit_input(t(0), n);
        rest = &rest[n..];
        // A driver may look for events more than once before it reads.
        let _ = events(&mut conn);
        let _ = events(&mut conn);
    }
    assert!(lends.iter().all(|&n| n >= MIN / 2), "lent {lends:?}");
}

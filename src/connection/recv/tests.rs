//! The paths that lead to the `unsafe` block in [`checked_str`]:
//! whole-mode text checked as it arrives, across reads and fragments, with
//! compaction and joining moving it. Small inputs, so Miri runs them in CI
//! (`cargo +nightly miri test --lib recv`).

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::connection::event::Event;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        mask: Some(KEY),
        ..FrameHeader::new(
            Opcode::from_u8(b0 & 0x0F).unwrap_or(Opcode::Text),
            payload.len() as u64,
        )
    };
    let mut out = Vec::new();
    header.encode_to_vec(&mut out);
    crate::frame::append_masked(&mut out, payload, KEY, 0);
    out
}

fn limits() -> Settings {
    let config = crate::Config {
        max_frame_size: 1 << 20,
        max_message_size: 1 << 20,
        ..crate::Config::default()
    };
    Settings::new(&config, crate::Role::Server)
}

/// Feed `wire` in pieces of `read` bytes, compacting before each as the
/// connection does; return the texts and the first error.
fn run(wire: &[u8], read: usize) -> (Vec<String>, Option<ProtocolError>) {
    let mut rx = Receiver::default();
    let mut texts = Vec::new();
    for piece in wire.chunks(read) {
        rx.compact();
        rx.append(piece, &limits());
        loop {
            match rx.parse(&limits(), None) {
                Ok(Some(parsed)) => rx.push(parsed),
                Ok(None) => break,
                Err(e) => return (texts, Some(e)),
            }
        }
        while let Some(next) = rx.pop() {
            if let Event::Text(t) = rx.event(next, None) {
                texts.push(String::from(t));
            }
        }
        rx.reset_if_drained();
    }
    (texts, None)
}

/// Every read size from 1 to `len`; under Miri, which interprets each
/// run a thousand times slower, a sample that still cuts every character
/// and header somewhere (1 to 8 bytes, a few odd sizes, the halves and the
/// whole) so the `unsafe` path is checked on pieces of every shape.
fn read_sizes(len: usize) -> Vec<usize> {
    if cfg!(miri) {
        let mut sizes: Vec<usize> = (1..=8).chain([11, 13, 29, len / 2, len - 1, len]).collect();
        sizes.retain(|&n| (1..=len).contains(&n));
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    } else {
        (1..=len).collect()
    }
}

#[test]
fn text_checked_in_pieces_is_handed_out_whole_at_every_read_size() {
    let text = "κόσμε €𝄞 ok, 한국어 and ascii";
    let bytes = text.as_bytes();
    // One frame; three fragments cut inside characters, with a Ping
    // between them so the message is joined over a gap.
    let one = frame(0x81, bytes);
    let (a, b) = (5, 17);
    let mut fragmented = frame(0x01, &bytes[..a]);
    fragmented.extend(frame(0x89, b"p"));
    fragmented.extend(frame(0x00, &bytes[a..b]));
    fragmented.extend(frame(0x89, b""));
    fragmented.extend(frame(0x80, &bytes[b..]));
    for wire in [one, fragmented] {
        let twice = [wire.clone(), wire].concat();
        for read in read_sizes(twice.len()) {
            let (texts, error) = run(&twice, read);
            assert_eq!(error, None, "read {read}");
            assert_eq!(texts, [text, text], "read {read}");
        }
    }
}

#[test]
fn invalid_text_in_a_later_piece_is_refused_not_handed_out() {
    let mut bytes = "valid start €".as_bytes().to_vec();
    bytes.extend_from_slice(&[0xED, 0xA0, 0x80]); // a surrogate
    bytes.extend_from_slice(b" end");
    let wire = [frame(0x01, &bytes[..8]), frame(0x80, &bytes[8..])].concat();
    for read in read_sizes(wire.len()) {
        let (texts, error) = run(&wire, read);
        assert!(texts.is_empty(), "read {read}");
        assert_eq!(error, Some(ProtocolError::InvalidUtf8), "read {read}");
    }
}

/// Large frames take the direct path (`buffer::append_direct`): payload
/// written straight into the message and checked there, headers parsed by
/// `append`. Kept small enough for Miri: 1,100-byte fragments, the direct
/// path's smallest frames being 1,024 bytes.
#[test]
fn text_written_straight_into_the_message_is_checked_once_and_whole() {
    let text = "κόσμε €𝄞 한국어 ".repeat(100);
    let bytes = text.as_bytes();
    assert!(bytes.len() > 2 * 1100);
    let one = frame(0x81, bytes);
    let (a, b) = (1100, 2201); // cuts inside characters
    let mut fragmented = frame(0x01, &bytes[..a]);
    fragmented.extend(frame(0x00, &bytes[a..b]));
    fragmented.extend(frame(0x89, b"p"));
    fragmented.extend(frame(0x80, &bytes[b..]));
    for wire in [one, fragmented] {
        let twice = [wire.clone(), wire].concat();
        for read in [7, 1000, 1103, 1500, 4096, twice.len()] {
            let (texts, error) = run(&twice, read);
            assert_eq!(error, None, "read {read}");
            assert_eq!(texts, [text.as_str(), text.as_str()], "read {read}");
        }
    }
    // A fault anywhere is found, whatever the read size.
    for at in [0, 1099, 1500, bytes.len() - 1] {
        let mut bad = bytes.to_vec();
        bad[at] = 0xFF;
        let wire = [frame(0x01, &bad[..a]), frame(0x80, &bad[a..])].concat();
        for read in [7, 1000, 2000, wire.len()] {
            let (texts, error) = run(&wire, read);
            assert!(texts.is_empty(), "fault at {at}, read {read}");
            assert_eq!(
                error,
                Some(ProtocolError::InvalidUtf8),
                "fault at {at}, read {read}"
            );
        }
    }
}

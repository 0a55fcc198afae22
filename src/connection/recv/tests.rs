//! The paths that lead to the `unsafe` block in [`Receiver::message`]:
//! whole-mode text checked as it arrives, across reads and fragments, with
//! compaction and joining moving it. Small inputs, so Miri runs them in CI
//! (`cargo +nightly miri test --lib recv`).

use alloc::string::String;
use alloc::vec::Vec;

use super::*;

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

fn limits() -> Limits {
    Limits {
        role: Role::Server,
        max_frame: 1 << 20,
        max_message: 1 << 20,
        streaming: false,
        auto_pong: true,
        auto_close: true,
        buffer_release: 1000,
    }
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
            match rx.next(&limits(), None) {
                Ok(Some(Event::Text(t))) => texts.push(String::from(t)),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return (texts, Some(e)),
            }
        }
        rx.reset_if_drained();
    }
    (texts, None)
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
        for read in 1..=twice.len() {
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
    for read in 1..=wire.len() {
        let (texts, error) = run(&wire, read);
        assert!(texts.is_empty(), "read {read}");
        assert_eq!(error, Some(ProtocolError::InvalidUtf8), "read {read}");
    }
}

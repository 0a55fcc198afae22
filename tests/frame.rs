//! The frame codec (RFC 6455 section 5): the RFC's examples byte for byte,
//! every refusal rule, and properties over arbitrary headers and chunkings.

use proptest::prelude::*;
use wscore::frame::{
    FrameHeader, FrameRules, MAX_HEADER_LEN, Opcode, Rsv, Status, append_masked, apply_mask,
};
use wscore::{CloseCode, ProtocolError, Role};

fn encode(h: &FrameHeader) -> Vec<u8> {
    let mut v = Vec::new();
    h.encode_to_vec(&mut v);
    v
}

fn parse(bytes: &[u8], receiver: Role) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
    FrameHeader::parse(bytes, &FrameRules::new(receiver))
}

/// Decode every frame in `frames` as a client or server would: header, then
/// the payload unmasked.
fn decode_all(bytes: &[u8], receiver: Role) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Status::Complete((h, n)) = parse(rest, receiver).unwrap() else {
            panic!("truncated frame in test vector");
        };
        let len = h.payload_len as usize;
        let mut payload = rest[n..n + len].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push((h, payload));
        rest = &rest[n + len..];
    }
    out
}

// ---- RFC 6455 section 5.7 examples ----

#[test]
fn rfc_single_frame_unmasked_text() {
    let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let frames = decode_all(&wire, Role::Client);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, FrameHeader::new(Opcode::Text, 5));
    assert_eq!(frames[0].1, b"Hello");
    assert_eq!(encode(&frames[0].0), wire[..2]);
}

#[test]
fn rfc_single_frame_masked_text() {
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let frames = decode_all(&wire, Role::Server);
    let h = frames[0].0;
    assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    assert_eq!(frames[0].1, b"Hello");
    // Encoding the header and masking the payload gives back the wire bytes.
    let mut out = encode(&h);
    append_masked(&mut out, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0);
    assert_eq!(out, wire);
}

#[test]
fn rfc_fragmented_unmasked_text() {
    let wire = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    let frames = decode_all(&wire, Role::Client);
    assert_eq!(frames.len(), 2);
    assert!(!frames[0].0.fin);
    assert_eq!(frames[0].0.opcode, Opcode::Text);
    assert_eq!(frames[0].1, b"Hel");
    assert!(frames[1].0.fin);
    assert_eq!(frames[1].0.opcode, Opcode::Continuation);
    assert_eq!(frames[1].1, b"lo");
}

#[test]
fn rfc_ping_and_masked_pong() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let f = decode_all(&ping, Role::Client);
    assert_eq!(f[0].0.opcode, Opcode::Ping);
    assert_eq!(f[0].1, b"Hello");
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let f = decode_all(&pong, Role::Server);
    assert_eq!(f[0].0.opcode, Opcode::Pong);
    assert_eq!(f[0].1, b"Hello");
}

#[test]
fn rfc_256_byte_binary_uses_16_bit_length() {
    let mut wire = vec![0x82, 0x7E, 0x01, 0x00];
    wire.extend(std::iter::repeat_n(0xAB, 256));
    let f = decode_all(&wire, Role::Client);
    assert_eq!(f[0].0, FrameHeader::new(Opcode::Binary, 256));
    assert_eq!(f[0].1.len(), 256);
    assert_eq!(encode(&f[0].0), wire[..4]);
}

#[test]
fn rfc_64k_binary_uses_64_bit_length() {
    let mut wire = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
    wire.extend(std::iter::repeat_n(0xCD, 65536));
    let f = decode_all(&wire, Role::Client);
    assert_eq!(f[0].0, FrameHeader::new(Opcode::Binary, 65536));
    assert_eq!(encode(&f[0].0), wire[..10]);
}

// ---- length forms and their boundaries ----

#[test]
fn length_form_boundaries() {
    for (len, header_len) in [
        (0u64, 2usize),
        (125, 2),
        (126, 4),
        (0xFFFF, 4),
        (0x1_0000, 10),
        (u64::MAX >> 1, 10),
    ] {
        let h = FrameHeader::new(Opcode::Binary, len);
        let bytes = encode(&h);
        assert_eq!(bytes.len(), header_len, "length {len}");
        assert_eq!(h.encoded_len(), header_len);
        assert_eq!(
            parse(&bytes, Role::Client),
            Ok(Status::Complete((h, header_len)))
        );
    }
}

// ---- refusals, each with its close code ----

fn refusal(bytes: &[u8], rules: FrameRules) -> ProtocolError {
    match FrameHeader::parse(bytes, &rules) {
        Err(e) => e,
        other => panic!("expected a refusal for {bytes:02x?}, got {other:?}"),
    }
}

#[test]
fn refusal_table() {
    let client = FrameRules::new(Role::Client);
    let server = FrameRules::new(Role::Server);
    let cases: &[(&[u8], FrameRules, ProtocolError, u16)] = &[
        (&[0x83], client, ProtocolError::ReservedOpcode(3), 1002),
        (&[0x87], client, ProtocolError::ReservedOpcode(7), 1002),
        (&[0x8B], client, ProtocolError::ReservedOpcode(0xB), 1002),
        (&[0x8F], client, ProtocolError::ReservedOpcode(0xF), 1002),
        (&[0xC1], client, ProtocolError::ReservedBits, 1002),
        (&[0xA1], client, ProtocolError::ReservedBits, 1002),
        (&[0x91], client, ProtocolError::ReservedBits, 1002),
        (&[0x09], client, ProtocolError::FragmentedControl, 1002),
        (&[0x08], client, ProtocolError::FragmentedControl, 1002),
        (&[0x89, 126], client, ProtocolError::ControlTooLong, 1002),
        (&[0x88, 127], client, ProtocolError::ControlTooLong, 1002),
        (&[0x81, 0x05], server, ProtocolError::UnmaskedFrame, 1002),
        (&[0x81, 0x85], client, ProtocolError::MaskedFrame, 1002),
        (
            &[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0],
            client,
            ProtocolError::LengthOverflow,
            1002,
        ),
        (
            &[0x82, 126, 0, 125],
            client,
            ProtocolError::NonMinimalLength,
            1002,
        ),
        (
            &[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
            client,
            ProtocolError::NonMinimalLength,
            1002,
        ),
    ];
    for (bytes, rules, err, code) in cases {
        let got = refusal(bytes, *rules);
        assert_eq!(got, *err, "{bytes:02x?}");
        assert_eq!(got.close_code(), CloseCode(*code), "{bytes:02x?}");
        // The refusal is certain from these bytes alone and does not change
        // with more bytes after them.
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&[0x80; 16]);
        assert_eq!(refusal(&longer, *rules), *err);
    }
}

#[test]
fn rsv_bits_are_accepted_when_an_extension_claims_them() {
    let rules = FrameRules {
        allowed_rsv: Rsv::RSV1,
        ..FrameRules::new(Role::Client)
    };
    let Ok(Status::Complete((h, 2))) = FrameHeader::parse(&[0xC1, 0x00], &rules) else {
        panic!("RSV1 refused although claimed");
    };
    assert!(h.rsv1 && !h.rsv2 && !h.rsv3);
    // RSV2 is still not claimed.
    assert_eq!(
        FrameHeader::parse(&[0xE1, 0x00], &rules),
        Err(ProtocolError::ReservedBits)
    );
}

#[test]
fn frame_size_cap_at_and_over_the_limit() {
    for cap in [0u64, 125, 126, 1000, 0xFFFF, 0x10000, 1 << 40] {
        let rules = FrameRules {
            max_payload: cap,
            ..FrameRules::new(Role::Client)
        };
        let at = encode(&FrameHeader::new(Opcode::Binary, cap));
        assert!(matches!(
            FrameHeader::parse(&at, &rules),
            Ok(Status::Complete(_))
        ));
        let over = encode(&FrameHeader::new(Opcode::Binary, cap + 1));
        let err = FrameHeader::parse(&over, &rules).unwrap_err();
        assert_eq!(err, ProtocolError::FrameTooLarge);
        assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    }
}

#[test]
fn oversized_frame_is_refused_before_its_mask_key_arrives() {
    let rules = FrameRules {
        max_payload: 1024,
        ..FrameRules::new(Role::Server)
    };
    // Masked, 64-bit length of 1 MiB, and no mask key bytes yet.
    let bytes = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0];
    assert_eq!(
        FrameHeader::parse(&bytes, &rules),
        Err(ProtocolError::FrameTooLarge)
    );
}

#[test]
fn partial_headers_consume_nothing() {
    let h = FrameHeader {
        mask: Some([1, 2, 3, 4]),
        ..FrameHeader::new(Opcode::Binary, 70000)
    };
    let bytes = encode(&h);
    assert_eq!(bytes.len(), MAX_HEADER_LEN);
    for cut in 0..bytes.len() {
        assert_eq!(
            parse(&bytes[..cut], Role::Server),
            Ok(Status::Partial),
            "cut {cut}"
        );
    }
    assert_eq!(
        parse(&bytes, Role::Server),
        Ok(Status::Complete((h, MAX_HEADER_LEN)))
    );
}

#[test]
fn close_code_wire_rules() {
    for code in 0..=u16::MAX {
        let c = CloseCode(code);
        let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
        assert_eq!(c.is_allowed_on_wire(), expected, "{code}");
    }
    for code in [1005, 1006, 1015] {
        assert!(CloseCode(code).is_reserved_for_reporting());
        assert!(!CloseCode(code).is_allowed_on_wire());
    }
    for code in [0, 999, 1004, 1016, 2000, 2999, 5000, 65535] {
        assert!(!CloseCode(code).is_allowed_on_wire(), "{code}");
    }
}

#[test]
fn every_protocol_error_has_a_readable_display_with_its_code() {
    let all = [
        ProtocolError::ReservedOpcode(3),
        ProtocolError::ReservedBits,
        ProtocolError::LengthOverflow,
        ProtocolError::NonMinimalLength,
        ProtocolError::FragmentedControl,
        ProtocolError::ControlTooLong,
        ProtocolError::UnmaskedFrame,
        ProtocolError::MaskedFrame,
        ProtocolError::FrameTooLarge,
        ProtocolError::MessageTooLarge,
        ProtocolError::UnexpectedContinuation,
        ProtocolError::ExpectedContinuation,
        ProtocolError::InvalidUtf8,
        ProtocolError::InvalidCloseLength,
        ProtocolError::InvalidCloseCode(1004),
        ProtocolError::InvalidCompressedData,
    ];
    for e in all {
        let text = e.to_string();
        assert!(text.contains(&e.close_code().0.to_string()), "{text}");
        assert!(e.close_code().is_allowed_on_wire());
        assert!(e.reason().len() <= 123);
    }
}

// ---- properties ----

fn any_opcode() -> impl Strategy<Value = Opcode> {
    prop_oneof![
        Just(Opcode::Continuation),
        Just(Opcode::Text),
        Just(Opcode::Binary),
        Just(Opcode::Close),
        Just(Opcode::Ping),
        Just(Opcode::Pong),
    ]
}

fn any_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=125,
        126u64..=0xFFFF,
        0x1_0000u64..=(u64::MAX >> 1),
        Just(125u64),
        Just(126u64),
        Just(0xFFFFu64),
        Just(0x1_0000u64),
    ]
}

/// Any header a conforming sender could put on the wire.
fn any_valid_header() -> impl Strategy<Value = FrameHeader> {
    (
        any_opcode(),
        any::<bool>(),
        any::<[bool; 3]>(),
        proptest::option::of(any::<[u8; 4]>()),
        any_len(),
    )
        .prop_map(|(opcode, fin, [rsv1, rsv2, rsv3], mask, len)| FrameHeader {
            fin: fin || opcode.is_control(),
            rsv1,
            rsv2,
            rsv3,
            opcode,
            mask,
            payload_len: if opcode.is_control() { len % 126 } else { len },
        })
}

fn rules_for(h: &FrameHeader) -> FrameRules {
    FrameRules {
        allowed_rsv: Rsv::RSV1.union(Rsv::RSV2).union(Rsv::RSV3),
        ..FrameRules::new(if h.mask.is_some() {
            Role::Server
        } else {
            Role::Client
        })
    }
}

/// A receiver that takes bytes in arbitrary pieces the way a connection must:
/// it buffers only a partial header, and unmasks payload pieces in place at
/// their offset. Returns each frame's header and unmasked payload.
fn decode_chunked(chunks: &[&[u8]], rules: &FrameRules) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut head = Vec::new();
    let mut current: Option<(FrameHeader, Vec<u8>)> = None;
    for chunk in chunks {
        let mut rest: &[u8] = chunk;
        loop {
            if let Some((h, payload)) = &mut current {
                let want = h.payload_len as usize - payload.len();
                let take = want.min(rest.len());
                let mut piece = rest[..take].to_vec();
                if let Some(key) = h.mask {
                    apply_mask(&mut piece, key, payload.len());
                }
                payload.extend_from_slice(&piece);
                rest = &rest[take..];
                if payload.len() == h.payload_len as usize {
                    frames.push(current.take().unwrap());
                } else {
                    break;
                }
            }
            if rest.is_empty() {
                break;
            }
            let before = head.len();
            head.extend_from_slice(rest);
            match FrameHeader::parse(&head, rules).unwrap() {
                Status::Partial => {
                    rest = &[];
                }
                Status::Complete((h, n)) => {
                    assert!(n > before, "the header must end inside this chunk");
                    rest = &rest[n - before..];
                    head.clear();
                    current = Some((h, Vec::new()));
                }
            }
        }
    }
    assert!(current.is_none(), "test vectors hold whole frames");
    frames
}

fn split_at_points<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts {
        out.push(&bytes[start..c]);
        start = c;
    }
    out.push(&bytes[start..]);
    out
}

proptest! {
    #[test]
    fn encode_then_parse_is_identity(h in any_valid_header()) {
        let bytes = encode(&h);
        prop_assert_eq!(bytes.len(), h.encoded_len());
        prop_assert_eq!(
            FrameHeader::parse(&bytes, &rules_for(&h)),
            Ok(Status::Complete((h, bytes.len())))
        );
        // Every strict prefix is Partial: nothing consumed, no error.
        for cut in 0..bytes.len() {
            prop_assert_eq!(FrameHeader::parse(&bytes[..cut], &rules_for(&h)), Ok(Status::Partial));
        }
    }

    #[test]
    fn parse_never_overclaims_and_reencodes(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
        for receiver in [Role::Client, Role::Server] {
            let rules = FrameRules { allowed_rsv: Rsv::RSV1, ..FrameRules::new(receiver) };
            if let Ok(Status::Complete((h, n))) = FrameHeader::parse(&bytes, &rules) {
                prop_assert!(n <= bytes.len());
                prop_assert_eq!(encode(&h), &bytes[..n]);
            }
        }
    }

    #[test]
    fn chunking_invariance(
        frames in proptest::collection::vec(
            (any::<bool>(), any::<[u8; 4]>(), proptest::collection::vec(any::<u8>(), 0..300), 0u8..3),
            1..6,
        ),
        masked in any::<bool>(),
        points in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (fin, key, payload, kind) in &frames {
            let opcode = match kind { 0 => Opcode::Binary, 1 => Opcode::Ping, _ => Opcode::Continuation };
            let payload = if opcode.is_control() { &payload[..payload.len().min(125)] } else { &payload[..] };
            let h = FrameHeader {
                fin: *fin || opcode.is_control(),
                mask: masked.then_some(*key),
                ..FrameHeader::new(opcode, payload.len() as u64)
            };
            h.encode_to_vec(&mut wire);
            match h.mask {
                Some(key) => append_masked(&mut wire, payload, key, 0),
                None => wire.extend_from_slice(payload),
            }
            expected.push((h, payload.to_vec()));
        }
        let rules = FrameRules::new(if masked { Role::Server } else { Role::Client });
        let whole = decode_chunked(&[&wire], &rules);
        prop_assert_eq!(&whole, &expected);
        let pieces = split_at_points(&wire, &points);
        prop_assert_eq!(decode_chunked(&pieces, &rules), expected.clone());
        let bytewise: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(decode_chunked(&bytewise, &rules), expected);
    }

    #[test]
    fn masking_twice_is_identity(data in proptest::collection::vec(any::<u8>(), 0..1000), key in any::<[u8; 4]>(), offset in 0usize..16) {
        let mut buf = data.clone();
        apply_mask(&mut buf, key, offset);
        apply_mask(&mut buf, key, offset);
        prop_assert_eq!(buf, data);
    }

    #[test]
    fn masking_in_pieces_equals_masking_whole(
        data in proptest::collection::vec(any::<u8>(), 0..1000),
        key in any::<[u8; 4]>(),
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = Vec::new();
        let mut offset = 0;
        for piece in split_at_points(&data, &points) {
            append_masked(&mut pieces, piece, key, offset);
            offset += piece.len();
        }
        prop_assert_eq!(pieces, whole);
    }
}

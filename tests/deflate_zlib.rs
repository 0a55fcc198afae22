//! Our compressor's output, inflated by zlib with the negotiated window:
//! `zlib.decompressobj(wbits=-w)` keeps a `2^w`-byte window and fails with
//! "invalid distance too far back" on any match reaching further, so this
//! is the proof that every window 8 to 15 is honoured, checked by
//! an implementation other than ours. It runs zlib through `python3`
//! (present wherever `.ci/run` runs; the test fails, not skips, without it).

mod common;

use common::deflate::{connections, params};
use common::zlib::{messages, zlib_inflate};
use common::{parse_wire, transmit};
use wscore::Config;
use wscore::frame::Opcode;

#[test]
fn zlib_with_the_agreed_window_inflates_every_window_size() {
    let msgs = messages();
    for bits in 8u8..=15 {
        for level in [1u8, 6, 9] {
            let config = common::cfg(|c| c.deflate.level = level);
            let (_, mut server) = connections(&params(false, false, bits, 15), &config, &config);
            for m in &msgs {
                server.send_binary(m).unwrap();
            }
            let payloads: Vec<Vec<u8>> = parse_wire(&transmit(&mut server))
                .into_iter()
                .filter(|(h, _)| h.opcode == Opcode::Binary)
                .map(|(h, p)| {
                    assert!(h.rsv1);
                    p
                })
                .collect();
            let got = zlib_inflate(bits, &payloads)
                .unwrap_or_else(|e| panic!("zlib, window {bits}, level {level}: {e}"));
            assert!(
                got == msgs,
                "zlib, window {bits}, level {level}: wrong bytes"
            );
        }
    }
}

/// The check above can fail: the same data compressed with a 15-bit window
/// is refused by zlib limited to 8 bits.
#[test]
fn zlib_refuses_a_window_wider_than_agreed() {
    let msgs = messages();
    let (_, mut server) = connections(
        &params(false, false, 15, 15),
        &Config::default(),
        &Config::default(),
    );
    for m in &msgs {
        server.send_binary(m).unwrap();
    }
    let payloads: Vec<Vec<u8>> = parse_wire(&transmit(&mut server))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let err = zlib_inflate(8, &payloads).expect_err("a 15-bit stream in an 8-bit window");
    assert!(err.contains("too far back"), "{err}");
}

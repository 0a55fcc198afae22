//! zlib, through `python3`, as the independent inflater that honours a
//! window size exactly, and messages whose repeats lie at every distance.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Inflate each message's payload (plus the tail) in one zlib stream with
/// a `2^bits` window, as a receiver with context takeover does; returns
/// the messages, or zlib's error.
pub fn zlib_inflate(bits: u8, payloads: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    const SCRIPT: &str = r#"
import sys, zlib
bits = int(sys.argv[1])
data = sys.stdin.buffer.read()
d = zlib.decompressobj(wbits=-bits)
out = []
i = 0
while i < len(data):
    n = int.from_bytes(data[i:i + 4], "big")
    msg = d.decompress(data[i + 4:i + 4 + n] + b"\x00\x00\xff\xff")
    out.append(len(msg).to_bytes(4, "big") + msg)
    i += 4 + n
sys.stdout.buffer.write(b"".join(out))
"#;
    let mut input = Vec::new();
    for p in payloads {
        input.extend_from_slice(&(p.len() as u32).to_be_bytes());
        input.extend_from_slice(p);
    }
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, &bits.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (it is what checks us against zlib)");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut msgs = Vec::new();
    let mut rest = &out.stdout[..];
    while !rest.is_empty() {
        let n = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        msgs.push(rest[4..4 + n].to_vec());
        rest = &rest[4 + n..];
    }
    Ok(msgs)
}

/// Messages whose repeats lie at every distance up to 32 KiB, inside a
/// message and across messages: a compressor that ignored a small window
/// would use the far ones.
pub fn messages() -> Vec<Vec<u8>> {
    let mut x = 0x2545_f491_u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let block: Vec<u8> = (0..600).map(|_| b'a' + (rnd() % 26) as u8).collect();
    let mut msgs = Vec::new();
    for len in [100usize, 700, 3000, 20_000, 40_000] {
        let mut m = Vec::new();
        while m.len() < len {
            // Copy a slice of the shared block (far repeats across
            // messages), then some fresh bytes (so repeats inside a message
            // sit at many distances).
            let at = (rnd() as usize) % 500;
            m.extend_from_slice(&block[at..at + 40]);
            m.extend((0..(rnd() % 300)).map(|_| b'a' + (rnd() % 26) as u8));
        }
        m.truncate(len);
        msgs.push(m);
    }
    msgs
}

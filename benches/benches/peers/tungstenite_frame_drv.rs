//! tungstenite's public frame-level API: `FrameSocket` over the in-memory
//! stream. `FrameSocket::read` hands out frames as they are on the wire
//! (tungstenite unmasks only inside `WebSocket`, and `Frame::apply_mask` is
//! private), so this driver does what an application of that API must:
//! unmask each payload into its own reused message buffer (one fused
//! copy+XOR pass), join fragments, and validate text with
//! `std::str::from_utf8` once the message is whole. Sending uses
//! `FrameSocket::write` and `flush`; a client sets the frame's mask key and
//! tungstenite masks while encoding.

use bytes::Bytes;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameSocket};

use crate::common::{Pipe, Rng, Tally, copy_masked};

pub struct Rx {
    sock: FrameSocket<Pipe>,
    max: usize,
    /// The message being assembled: `msg[..used]`. It keeps its length so
    /// later messages overwrite it without zeroing it first.
    msg: Vec<u8>,
}

pub fn server_rx(io: Pipe, max: usize) -> Rx {
    Rx {
        sock: FrameSocket::new(io),
        max,
        msg: Vec::new(),
    }
}

/// W1-W3: receive `msgs` whole messages.
pub fn recv(rx: &mut Rx, msgs: u64) -> Tally {
    let mut t = Tally::default();
    let mut used = 0;
    let mut text = false;
    while t.msgs < msgs {
        let frame = match rx.sock.read(Some(rx.max)) {
            Ok(Some(frame)) => frame,
            Ok(None) => panic!("tungstenite FrameSocket: EOF after {} of {msgs}", t.msgs),
            Err(e) => panic!("tungstenite FrameSocket: {e} after {} of {msgs}", t.msgs),
        };
        let header = frame.header();
        match header.opcode {
            OpCode::Data(Data::Binary) if used == 0 => text = false,
            OpCode::Data(Data::Text) if used == 0 => text = true,
            OpCode::Data(Data::Continue) if used > 0 => {}
            op => panic!("tungstenite FrameSocket: unexpected {op} (used {used})"),
        }
        let key = header.mask.expect("a client's frame is masked");
        let fin = header.is_final;
        let payload = frame.payload();
        let end = used + payload.len();
        if rx.msg.len() < end {
            rx.msg.resize(end, 0);
        }
        copy_masked(&mut rx.msg[used..end], payload, key);
        used = end;
        if fin {
            let data = &rx.msg[..used];
            if text {
                std::str::from_utf8(data).expect("tungstenite FrameSocket: invalid UTF-8");
            }
            t.add(data);
            used = 0;
        }
    }
    t
}

pub struct Tx {
    sock: FrameSocket<Pipe>,
    keys: Option<Rng>,
}

pub fn server_tx(io: Pipe) -> Tx {
    Tx {
        sock: FrameSocket::new(io),
        keys: None,
    }
}

pub fn client_tx(io: Pipe) -> Tx {
    Tx {
        sock: FrameSocket::new(io),
        keys: Some(Rng::new(7)),
    }
}

fn frame(tx: &mut Tx, data: Bytes) -> Frame {
    let mut frame = Frame::message(data, OpCode::Data(Data::Binary), true);
    frame.header_mut().mask = tx.keys.as_mut().map(Rng::key);
    frame
}

/// W4a: one binary frame per `size`-byte piece of `payloads`.
pub fn send_frames(tx: &mut Tx, payloads: &Bytes, size: usize) {
    for at in (0..payloads.len()).step_by(size) {
        let f = frame(tx, payloads.slice(at..at + size));
        tx.sock.write(f).expect("tungstenite FrameSocket: write");
    }
    tx.sock.flush().expect("tungstenite FrameSocket: flush");
}

/// W4b: one binary frame.
pub fn send_message(tx: &mut Tx, msg: &Bytes) {
    let f = frame(tx, msg.clone());
    tx.sock.send(f).expect("tungstenite FrameSocket: send");
}

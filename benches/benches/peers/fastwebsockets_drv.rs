//! fastwebsockets, as its docs say: `WebSocket::after_handshake` over an
//! `AsyncRead + AsyncWrite` (the in-memory stream), wrapped in a
//! `FragmentCollector` to receive whole messages (text is validated by the
//! crate), `write_frame` to send. It writes each frame to the stream at once
//! (no batching of its own; small frames are formatted into its buffer,
//! large ones go out with a vectored write), and a client masks a borrowed
//! payload after copying it into an owned one. Run on a current-thread
//! tokio runtime.

use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, Role, WebSocket};

use crate::common::{Pipe, Tally};

pub fn server_rx(io: Pipe, max: usize) -> FragmentCollector<Pipe> {
    let mut ws = WebSocket::after_handshake(io, Role::Server);
    // Its cap refuses a frame of exactly `max_message_size` bytes, so the
    // raised cap has room to spare.
    ws.set_max_message_size(max);
    FragmentCollector::new(ws)
}

/// W1-W3: receive `msgs` whole messages.
pub async fn recv(ws: &mut FragmentCollector<Pipe>, msgs: u64) -> Tally {
    let mut t = Tally::default();
    while t.msgs < msgs {
        let frame = match ws.read_frame().await {
            Ok(frame) => frame,
            Err(e) => panic!("fastwebsockets: {e} after {} of {msgs} messages", t.msgs),
        };
        match frame.opcode {
            OpCode::Binary | OpCode::Text => t.add(&frame.payload),
            op => panic!("fastwebsockets: unexpected {op:?}"),
        }
    }
    t
}

pub fn server_tx(io: Pipe) -> WebSocket<Pipe> {
    WebSocket::after_handshake(io, Role::Server)
}

pub fn client_tx(io: Pipe) -> WebSocket<Pipe> {
    WebSocket::after_handshake(io, Role::Client)
}

/// W4a: one binary frame per `size`-byte piece of `payloads`.
pub async fn send_frames(ws: &mut WebSocket<Pipe>, payloads: &[u8], size: usize) {
    for p in payloads.chunks_exact(size) {
        let frame = Frame::binary(Payload::Borrowed(p));
        ws.write_frame(frame)
            .await
            .expect("fastwebsockets: write_frame");
    }
    ws.flush().await.expect("fastwebsockets: flush");
}

/// W4b: one binary frame.
pub async fn send_message(ws: &mut WebSocket<Pipe>, msg: &[u8]) {
    let frame = Frame::binary(Payload::Borrowed(msg));
    ws.write_frame(frame)
        .await
        .expect("fastwebsockets: write_frame");
    ws.flush().await.expect("fastwebsockets: flush");
}

//! tungstenite's message API: `WebSocket::from_raw_socket` over the
//! in-memory stream (a `Read + Write`), `read` for messages, `write` then
//! `flush` to send (its docs: `write` buffers up to `write_buffer_size`, 128
//! KiB by default, and writes out past it).

use bytes::Bytes;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use crate::common::{Pipe, Tally};

/// Its defaults, with the frame and message caps raised to `max`.
fn config(max: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

pub fn server(io: Pipe, max: usize) -> WebSocket<Pipe> {
    WebSocket::from_raw_socket(io, Role::Server, Some(config(max)))
}

pub fn client(io: Pipe, max: usize) -> WebSocket<Pipe> {
    WebSocket::from_raw_socket(io, Role::Client, Some(config(max)))
}

/// W1-W3: receive `msgs` whole messages. Text arrives validated as
/// `Utf8Bytes`.
pub fn recv(ws: &mut WebSocket<Pipe>, msgs: u64) -> Tally {
    let mut t = Tally::default();
    while t.msgs < msgs {
        match ws.read() {
            Ok(Message::Binary(data)) => t.add(&data),
            Ok(Message::Text(text)) => t.add(text.as_bytes()),
            Ok(other) => panic!("tungstenite: unexpected {other:?}"),
            Err(e) => panic!("tungstenite: {e} after {} of {msgs} messages", t.msgs),
        }
    }
    t
}

/// W4a: one binary message per `size`-byte piece of `payloads` (each a
/// zero-copy `Bytes::slice`).
pub fn send_frames(ws: &mut WebSocket<Pipe>, payloads: &Bytes, size: usize) {
    for at in (0..payloads.len()).step_by(size) {
        let msg = Message::Binary(payloads.slice(at..at + size));
        ws.write(msg).expect("tungstenite: write");
    }
    ws.flush().expect("tungstenite: flush");
}

/// W4b: one binary message (the caller keeps its `Bytes`, so this is a
/// reference-count clone; tungstenite masks while copying into its buffer).
pub fn send_message(ws: &mut WebSocket<Pipe>, msg: &Bytes) {
    ws.send(Message::Binary(msg.clone()))
        .expect("tungstenite: send");
}

//! tokio-websockets, as its docs say: `ServerBuilder::serve` /
//! `ClientBuilder::take_over` over an `AsyncRead + AsyncWrite` (the
//! in-memory stream); receive with `Stream::next` (whole messages, text
//! validated by the crate), send with `Sink::feed` then `flush` for many
//! small messages (it flushes by itself past `flush_threshold`, 8 KiB) and
//! `Sink::send` for one. Payloads are `Bytes`; its client splits messages
//! into 4 MiB frames (`Config::frame_size` default). Run on a
//! current-thread tokio runtime.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{ClientBuilder, Limits, Message, ServerBuilder, WebSocketStream};

use crate::common::{Pipe, Tally};

fn limits(max: usize) -> Limits {
    Limits::default().max_payload_len(Some(max))
}

pub fn server(io: Pipe, max: usize) -> WebSocketStream<Pipe> {
    ServerBuilder::new().limits(limits(max)).serve(io)
}

pub fn client(io: Pipe, max: usize) -> WebSocketStream<Pipe> {
    ClientBuilder::new().limits(limits(max)).take_over(io)
}

/// W1-W3: receive `msgs` whole messages.
pub async fn recv(ws: &mut WebSocketStream<Pipe>, msgs: u64) -> Tally {
    let mut t = Tally::default();
    while t.msgs < msgs {
        let msg = match ws.next().await {
            Some(Ok(msg)) => msg,
            Some(Err(e)) => panic!("tokio-websockets: {e} after {} of {msgs}", t.msgs),
            None => panic!("tokio-websockets: EOF after {} of {msgs}", t.msgs),
        };
        if msg.is_binary() {
            t.add(msg.as_payload());
        } else if let Some(text) = msg.as_text() {
            t.add(text.as_bytes());
        } else {
            panic!("tokio-websockets: unexpected {msg:?}");
        }
    }
    t
}

/// W4a: one binary message per `size`-byte piece of `payloads` (each a
/// zero-copy `Bytes::slice`).
pub async fn send_frames(ws: &mut WebSocketStream<Pipe>, payloads: &Bytes, size: usize) {
    for at in (0..payloads.len()).step_by(size) {
        let msg = Message::binary(payloads.slice(at..at + size));
        ws.feed(msg).await.expect("tokio-websockets: feed");
    }
    ws.flush().await.expect("tokio-websockets: flush");
}

/// W4b: one binary message (the caller keeps its `Bytes`, so the client
/// copies the payload before masking it in place).
pub async fn send_message(ws: &mut WebSocketStream<Pipe>, msg: &Bytes) {
    ws.send(Message::binary(msg.clone()))
        .await
        .expect("tokio-websockets: send");
}

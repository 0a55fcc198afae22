//! embedded-websocket through its codec, `WebSocket::read(from, to)` and
//! `WebSocket::write(.., from, to)`, with caller-owned buffers as its docs
//! show (state set to `Open` to skip the opening handshake).
//!
//! Not its `framer` module: `framer::Framer::read` (and the async one)
//! fails with `ReadFrameIncomplete` whenever a read ends inside a frame
//! header, which a stream of small frames always hits. This driver does
//! what that error (documented as "`from` does not contain a full header")
//! calls for instead: keep the unread bytes and read more. Like the
//! framer, it joins a message's payload in a caller buffer and validates
//! text with `core::str::from_utf8` once the message is whole. Sending
//! formats frames into a caller buffer (64 KiB for small frames, written to
//! the stream when nearly full; a whole frame's worth for one large
//! message).
//!
//! Fragmented messages cannot be received: in 0.9.5 a non-final frame that
//! spans two reads leaves a zero-length continuation behind (only a final
//! frame clears it), after which `read` consumes nothing. `recv` panics
//! there rather than spin; the harness leaves those rows out.

use embedded_websocket::{
    Client, Error, Server, WebSocket, WebSocketClient, WebSocketReceiveMessageType,
    WebSocketSendMessageType, WebSocketServer, WebSocketState, WebSocketType,
};
use rand_core::{RngCore, impls};

use crate::common::{Pipe, Rng, Tally};

/// The longest frame header (RFC 6455 section 5.2): a partial one is all a
/// read can leave behind.
const MAX_HEADER: usize = 14;

pub struct Rx {
    ws: WebSocketServer,
    io: Pipe,
    rx: Vec<u8>,
    read_size: usize,
    /// The message being joined; as large as the largest message.
    msg: Vec<u8>,
}

pub fn server_rx(io: Pipe, read_size: usize, max: usize) -> Rx {
    let mut ws = WebSocketServer::new_server();
    ws.state = WebSocketState::Open;
    Rx {
        ws,
        io,
        rx: vec![0; read_size + MAX_HEADER],
        read_size,
        msg: vec![0; max],
    }
}

/// W1-W3: receive `msgs` whole messages.
pub fn recv(rx: &mut Rx, msgs: u64) -> Tally {
    let mut t = Tally::default();
    let (mut start, mut end, mut used) = (0, 0, 0);
    while t.msgs < msgs {
        let result = if start == end {
            Err(Error::ReadFrameIncomplete)
        } else {
            rx.ws.read(&rx.rx[start..end], &mut rx.msg[used..])
        };
        let r = match result {
            Ok(r) => r,
            Err(Error::ReadFrameIncomplete) => {
                rx.rx.copy_within(start..end, 0);
                end -= start;
                start = 0;
                let n = rx.io.read_into(&mut rx.rx[end..end + rx.read_size]);
                assert!(n > 0, "embedded-websocket: EOF after {} of {msgs}", t.msgs);
                end += n;
                continue;
            }
            Err(e) => panic!("embedded-websocket: {e:?} after {} of {msgs}", t.msgs),
        };
        assert!(
            r.len_from > 0,
            "embedded-websocket: read consumed nothing (stalled)"
        );
        start += r.len_from;
        used += r.len_to;
        match r.message_type {
            WebSocketReceiveMessageType::Binary if r.end_of_message => {
                t.add(&rx.msg[..used]);
                used = 0;
            }
            WebSocketReceiveMessageType::Text if r.end_of_message => {
                let text = core::str::from_utf8(&rx.msg[..used])
                    .expect("embedded-websocket: invalid UTF-8");
                t.add(text.as_bytes());
                used = 0;
            }
            WebSocketReceiveMessageType::Binary | WebSocketReceiveMessageType::Text => {}
            other => panic!("embedded-websocket: unexpected {other:?}"),
        }
    }
    t
}

/// The client's key source: `rand_core`'s trait over the harness generator.
pub struct Keys(Rng);

impl RngCore for Keys {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

pub struct Tx<R: RngCore, K: WebSocketType> {
    ws: WebSocket<R, K>,
    io: Pipe,
    buf: Vec<u8>,
}

/// A server whose frames are formatted into a `buf_size` buffer.
pub fn server_tx(io: Pipe, buf_size: usize) -> Tx<impl RngCore, Server> {
    let mut ws = WebSocketServer::new_server();
    ws.state = WebSocketState::Open;
    Tx {
        ws,
        io,
        buf: vec![0; buf_size],
    }
}

/// A client; `write` needs room for a whole frame, so `buf_size` must hold
/// the largest message plus its header.
pub fn client_tx(io: Pipe, buf_size: usize) -> Tx<Keys, Client> {
    let mut ws = WebSocketClient::new_client(Keys(Rng::new(11)));
    ws.state = WebSocketState::Open;
    Tx {
        ws,
        io,
        buf: vec![0; buf_size],
    }
}

/// W4a: one binary frame per `size`-byte piece of `payloads`.
pub fn send_frames<R: RngCore, K: WebSocketType>(tx: &mut Tx<R, K>, payloads: &[u8], size: usize) {
    let mut pos = 0;
    for p in payloads.chunks_exact(size) {
        if tx.buf.len() - pos < size + MAX_HEADER {
            tx.io.write_out(&tx.buf[..pos]);
            pos = 0;
        }
        let kind = WebSocketSendMessageType::Binary;
        pos += tx
            .ws
            .write(kind, true, p, &mut tx.buf[pos..])
            .expect("embedded-websocket: write");
    }
    tx.io.write_out(&tx.buf[..pos]);
}

/// W4b: one binary frame.
pub fn send_message<R: RngCore, K: WebSocketType>(tx: &mut Tx<R, K>, msg: &[u8]) {
    let kind = WebSocketSendMessageType::Binary;
    let n = tx
        .ws
        .write(kind, true, msg, &mut tx.buf)
        .expect("embedded-websocket: write");
    tx.io.write_out(&tx.buf[..n]);
}

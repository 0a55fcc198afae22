//! wscore, driven the way its docs say: read from the transport into a
//! buffer of the driver's own and hand it to `handle_input` (the default
//! path), or as the tokio driver reads: the same, except that while a
//! large message arrives the read goes straight where it is assembled
//! (`payload_buffer`, `commit_input`); then drain `poll_event` and
//! `poll_transmit`.
//! Whole messages (`streaming: false`); the two configs are built in
//! `main.rs`.

use wscore::{Config, Connection, Event, Instant, MessageKind};

use crate::common::{Pipe, Tally};

/// A sender drains `poll_transmit` once this much is queued, as a driver
/// writing to a socket would.
const DRAIN_AT: usize = 64 << 10;

pub struct Rx {
    conn: Connection,
    io: Pipe,
    read_size: usize,
    /// The driver's read buffer, for `handle_input`.
    scratch: Vec<u8>,
    /// Read into `payload_buffer` while it lends one, as the tokio driver.
    hybrid: bool,
}

/// A server that reads at most `read_size` bytes per read into a buffer
/// of its own, then `handle_input`; with `hybrid`, straight into the
/// connection while a large message arrives (`payload_buffer` +
/// `commit_input`).
pub fn server_rx(config: &Config, io: Pipe, read_size: usize, hybrid: bool) -> Rx {
    Rx {
        conn: Connection::server(config, Instant::ZERO),
        io,
        read_size,
        scratch: vec![0; read_size],
        hybrid,
    }
}

/// W1-W3: receive `msgs` whole messages (binary or text) and tally them.
pub fn recv(rx: &mut Rx, msgs: u64) -> Tally {
    let mut t = Tally::default();
    let mut out = Vec::new();
    while t.msgs < msgs {
        let lent = if rx.hybrid {
            rx.conn.payload_buffer(rx.read_size)
        } else {
            None
        };
        let n = match lent {
            Some(buf) => {
                // The connection may lend less than asked when its buffer
                // is nearly full (a large frame almost in): read less then.
                let len = buf.len().min(rx.read_size);
                let n = rx.io.read_into(&mut buf[..len]);
                rx.conn.commit_input(Instant::ZERO, n);
                n
            }
            None => {
                let n = rx.io.read_into(&mut rx.scratch);
                rx.conn.handle_input(Instant::ZERO, &rx.scratch[..n]);
                n
            }
        };
        assert!(
            n > 0,
            "wscore: input ended after {} of {msgs} messages",
            t.msgs
        );
        while let Some(event) = rx.conn.poll_event() {
            match event {
                Event::Binary(data) => t.add(data),
                Event::Text(text) => t.add(text.as_bytes()),
                other => panic!("wscore: unexpected {other:?}"),
            }
        }
        if rx.conn.poll_transmit(&mut out) > 0 {
            rx.io.write_out(&out);
            out.clear();
        }
    }
    t
}

pub struct Tx {
    conn: Connection,
    io: Pipe,
    out: Vec<u8>,
}

pub fn server_tx(config: &Config, io: Pipe) -> Tx {
    Tx {
        conn: Connection::server(config, Instant::ZERO),
        io,
        out: Vec::new(),
    }
}

/// A client; its mask keys come from a counter (fine for a benchmark, not
/// for a real client: section 5.3 wants unpredictable keys).
pub fn client_tx(config: &Config, io: Pipe) -> Tx {
    let mut n = 0u32;
    let keys = move || {
        n = n.wrapping_add(0x9E37_79B9);
        n.to_le_bytes()
    };
    Tx {
        conn: Connection::client(config, Instant::ZERO, keys),
        io,
        out: Vec::new(),
    }
}

fn drain(tx: &mut Tx) {
    if tx.conn.poll_transmit(&mut tx.out) > 0 {
        tx.io.write_out(&tx.out);
        tx.out.clear();
    }
}

/// W4a: one binary message per `size`-byte piece of `payloads`.
pub fn send_frames(tx: &mut Tx, payloads: &[u8], size: usize) {
    for p in payloads.chunks_exact(size) {
        tx.conn.send_binary(p).expect("wscore: send_binary refused");
        if tx.conn.pending_transmit() >= DRAIN_AT {
            drain(tx);
        }
    }
    drain(tx);
}

/// W4b: one binary message.
pub fn send_message(tx: &mut Tx, msg: &[u8]) {
    tx.conn
        .send_binary(msg)
        .expect("wscore: send_binary refused");
    drain(tx);
}

/// W4b with `send_in_place`: the caller owns `buf` (refilled with the
/// message before each run, untimed) and it is masked where it lies; the
/// header and the buffer are written out one after the other, as a
/// vectored write would.
pub fn send_message_in_place(tx: &mut Tx, buf: &mut [u8]) {
    drain(tx);
    let header = tx
        .conn
        .send_in_place(MessageKind::Binary, buf)
        .expect("wscore: send_in_place refused");
    tx.io.write_out(header.as_bytes());
    tx.io.write_out(buf);
}

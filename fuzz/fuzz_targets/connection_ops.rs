//! An arbitrary sequence of operations, advancing time included, applied to
//! a client and a server wired together.
//!
//! Invariants: no panic; refused commands change nothing on the wire; no
//! frame follows a Close on either wire and every close code on it may be
//! sent; each side reports at most one terminal event, and nothing after it;
//! memory stays bounded.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wscore::{CloseCode, Config, Connection, Event, Instant, MessageKind, Role};
use wscore_fuzz::check_wire;

#[derive(Arbitrary, Debug)]
enum Op {
    Text {
        client: bool,
        text: String,
    },
    Binary {
        client: bool,
        data: Vec<u8>,
    },
    Begin {
        client: bool,
        text: bool,
    },
    Fragment {
        client: bool,
        data: Vec<u8>,
        fin: bool,
    },
    Ping {
        client: bool,
        data: Vec<u8>,
    },
    Pong {
        client: bool,
        data: Vec<u8>,
    },
    Close {
        client: bool,
        code: u16,
        reason: String,
    },
    /// Move up to `max` bytes each way, in pieces of `chunk`.
    Deliver {
        max: u16,
        chunk: u8,
    },
    Advance {
        millis: u32,
    },
    Eof {
        client: bool,
    },
    Release {
        client: bool,
    },
}

struct Side {
    conn: Connection,
    /// Bytes produced and not yet delivered to the peer.
    pending: Vec<u8>,
    /// Everything this side ever wrote.
    wire: Vec<u8>,
    closed_events: usize,
}

impl Side {
    fn pump(&mut self) {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        self.pending.extend_from_slice(&out);
        self.wire.extend_from_slice(&out);
        while let Some(e) = self.conn.poll_event() {
            assert_eq!(self.closed_events, 0, "an event after Closed");
            if let Event::Closed(_) = e {
                self.closed_events += 1;
            }
        }
        assert!(self.conn.heap_usage() <= 4 * (64 << 10) + 4 * self.pending.len() + 65536);
    }
}

fn pick<'a>(client: bool, c: &'a mut Side, s: &'a mut Side) -> &'a mut Side {
    if client { c } else { s }
}

/// Move up to `max` pending bytes from one side to the other, in pieces.
fn deliver(from: &mut Side, to: &mut Side, max: usize, chunk: usize, now: Instant) {
    let n = max.min(from.pending.len());
    let bytes: Vec<u8> = from.pending.drain(..n).collect();
    for piece in bytes.chunks(chunk) {
        to.conn.handle_input(now, piece);
    }
}

/// Run a command; a refused one must leave the wire untouched.
fn command(side: &mut Side, f: impl FnOnce(&mut Connection) -> Result<(), wscore::SendError>) {
    let before = side.conn.pending_transmit();
    if f(&mut side.conn).is_err() {
        assert_eq!(
            side.conn.pending_transmit(),
            before,
            "a refused command wrote bytes"
        );
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut config = Config::default();
    config.max_message_size = 64 << 10;
    config.max_frame_size = 64 << 10;
    config.keepalive_interval = Some(Duration::from_millis(500));
    config.keepalive_timeout = Some(Duration::from_millis(300));
    config.close_timeout = Some(Duration::from_millis(1000));
    config.fragment_size = Some(100);
    let mut now = Instant::ZERO;
    let mut client = Side {
        conn: Connection::client(&config, now, || [1, 2, 3, 4]),
        pending: Vec::new(),
        wire: Vec::new(),
        closed_events: 0,
    };
    let mut server = Side {
        conn: Connection::server(&config, now),
        pending: Vec::new(),
        wire: Vec::new(),
        closed_events: 0,
    };
    for op in ops.into_iter().take(200) {
        match op {
            Op::Deliver { max, chunk } => {
                let chunk = usize::from(chunk).max(1);
                deliver(&mut client, &mut server, usize::from(max), chunk, now);
                deliver(&mut server, &mut client, usize::from(max), chunk, now);
            }
            Op::Advance { millis } => {
                now = now + Duration::from_millis(u64::from(millis % 5000));
                client.conn.handle_timeout(now);
                server.conn.handle_timeout(now);
            }
            Op::Eof { client: c } => pick(c, &mut client, &mut server).conn.handle_eof(now),
            Op::Release { client: c } => pick(c, &mut client, &mut server).conn.release_buffers(),
            Op::Text { client: c, text } => {
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.send_text(&text)
                });
            }
            Op::Binary { client: c, data } => {
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.send_binary(&data)
                });
            }
            Op::Begin { client: c, text } => {
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.begin_message(kind)
                });
            }
            Op::Fragment {
                client: c,
                data,
                fin,
            } => {
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.send_fragment(&data, fin)
                });
            }
            Op::Ping { client: c, data } => {
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.send_ping(&data)
                });
            }
            Op::Pong { client: c, data } => {
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.send_pong(&data)
                });
            }
            Op::Close {
                client: c,
                code,
                reason,
            } => {
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.close(CloseCode(code), &reason)
                });
            }
        }
        client.pump();
        server.pump();
    }
    assert!(client.closed_events <= 1 && server.closed_events <= 1);
    check_wire(&client.wire, Role::Client);
    check_wire(&server.wire, Role::Server);
});

//! An arbitrary configuration and an arbitrary sequence of operations,
//! advancing time included, applied to a client and a server wired together.
//!
//! Invariants: no panic; refused commands change nothing on the wire; no
//! frame follows a Close on either wire and every close code on it may be
//! sent; each side reports at most one terminal event, and nothing after it;
//! the input buffer stays within the message cap plus what one delivery
//! carried; automatic Pongs never queue past their budget; with keepalive on,
//! a side that heard nothing for interval + timeout is dead, and one is never
//! declared dead sooner.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wscore::connection::AUTO_PONG_BUDGET;
use wscore::{
    CloseCode, ClosedReason, Config, Connection, Event, Instant, MessageKind, PreparedMessage, Role,
};
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
    /// `send_in_place`, text or binary.
    InPlace {
        client: bool,
        text: bool,
        data: Vec<u8>,
    },
    /// `send_prepared` of a message framed for a server: a client must
    /// mask its own copy, and `fragment_size` cuts it as it cuts the rest.
    Prepared {
        client: bool,
        text: bool,
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

/// The configuration, drawn by the fuzzer: limits, modes and timers, with
/// zero, tiny, equal and large values all reachable.
#[derive(Arbitrary, Debug)]
struct Settings {
    max_message: u16,
    max_frame: u16,
    streaming: bool,
    auto_pong: bool,
    auto_close: bool,
    fragment_size: Option<u8>,
    keepalive_interval: Option<u16>,
    keepalive_timeout: Option<u16>,
    close_timeout: Option<u16>,
    buffer_release: Option<u16>,
    message_timeout: Option<u16>,
}

impl Settings {
    fn config(&self) -> Config {
        let mut c = Config::default();
        c.max_message_size = u64::from(self.max_message);
        c.max_frame_size = u64::from(self.max_frame);
        c.streaming = self.streaming;
        c.auto_pong = self.auto_pong;
        c.auto_close = self.auto_close;
        c.fragment_size = self.fragment_size.map(usize::from);
        let ms = |v: Option<u16>| v.map(|v| Duration::from_millis(u64::from(v)));
        c.keepalive_interval = ms(self.keepalive_interval);
        c.keepalive_timeout = ms(self.keepalive_timeout);
        c.close_timeout = ms(self.close_timeout);
        c.buffer_release = ms(self.buffer_release);
        c.message_timeout = ms(self.message_timeout);
        c
    }

    /// interval + timeout in milliseconds, when keepalive can declare a
    /// peer dead.
    fn dead_after(&self) -> Option<u64> {
        match (self.keepalive_interval, self.keepalive_timeout) {
            (Some(i), Some(t)) if i > 0 => Some(u64::from(i) + u64::from(t)),
            _ => None,
        }
    }
}

struct Side {
    conn: Connection,
    /// Bytes produced and not yet delivered to the peer.
    pending: Vec<u8>,
    /// Everything this side ever wrote.
    wire: Vec<u8>,
    closed_events: usize,
    /// When this side last received bytes.
    last_input: Instant,
    /// The peer's Close was handed out (keepalive stops then).
    saw_close: bool,
    /// The most bytes one delivery handed this side.
    max_delivery: usize,
}

impl Side {
    fn new(conn: Connection) -> Side {
        Side {
            conn,
            pending: Vec::new(),
            wire: Vec::new(),
            closed_events: 0,
            last_input: Instant::ZERO,
            saw_close: false,
            max_delivery: 0,
        }
    }

    fn pump(&mut self, s: &Settings, now: Instant) {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        self.pending.extend_from_slice(&out);
        self.wire.extend_from_slice(&out);
        while let Some(e) = self.conn.poll_event() {
            assert_eq!(self.closed_events, 0, "an event after Closed");
            match e {
                Event::Closed(reason) => {
                    self.closed_events += 1;
                    if reason == ClosedReason::KeepaliveTimeout {
                        let dead_after = s.dead_after().expect("keepalive off, yet timed out");
                        let silent = (now - self.last_input).as_millis() as u64;
                        assert!(silent >= dead_after, "declared dead after {silent} ms");
                    }
                    if reason == ClosedReason::MessageTimeout {
                        // Only with a limit, and never before it could
                        // have passed since the side's first input.
                        let limit = s.message_timeout.filter(|&ms| ms > 0);
                        let limit = limit.expect("no message deadline, yet timed out");
                        assert!(now.elapsed().as_millis() as u64 >= u64::from(limit));
                    }
                }
                Event::Close { .. } => self.saw_close = true,
                _ => {}
            }
        }
        // Only automatic replies (Pongs within their budget, a Close) can
        // be queued after a drain of events.
        assert!(
            self.conn.pending_transmit() <= AUTO_PONG_BUDGET + 2 * 131,
            "{} bytes queued by the peer's frames",
            self.conn.pending_transmit()
        );
        // The input buffer: a message at the cap plus an eighth plus one
        // delivery, with geometric growth; output: one drain's worth (the
        // drain swaps the queue's allocation out, so nothing else is kept).
        let cap = usize::from(s.max_message.max(s.max_frame));
        let rx_bound = 2 * (cap + cap / 8 + 4096 + self.max_delivery);
        assert!(
            self.conn.heap_usage() <= rx_bound + out.len() + 4096,
            "heap {} bytes",
            self.conn.heap_usage()
        );
    }

    /// With keepalive on, a side silent for interval + timeout must be dead
    /// once its deadline was handled (unless a close handshake took over).
    fn check_keepalive(&self, s: &Settings, now: Instant) {
        let Some(dead_after) = s.dead_after() else {
            return;
        };
        let silent = (now - self.last_input).as_millis() as u64;
        if silent > dead_after && !self.conn.close_sent() && !self.saw_close {
            assert!(
                self.conn.is_closed(),
                "silent for {silent} ms, keepalive {dead_after} ms, still open"
            );
        }
    }
}

fn pick<'a>(client: bool, c: &'a mut Side, s: &'a mut Side) -> &'a mut Side {
    if client { c } else { s }
}

/// Move up to `max` pending bytes from one side to the other, in pieces,
/// draining the receiver's events after each piece as a driver does.
fn deliver(from: &mut Side, to: &mut Side, max: usize, chunk: usize, s: &Settings, now: Instant) {
    let n = max.min(from.pending.len());
    let bytes: Vec<u8> = from.pending.drain(..n).collect();
    for piece in bytes.chunks(chunk) {
        to.conn.handle_input(now, piece);
        to.last_input = now;
        to.max_delivery = to.max_delivery.max(piece.len());
        to.pump(s, now);
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

fuzz_target!(|input: (Settings, Vec<Op>)| {
    let (settings, ops) = input;
    let config = settings.config();
    let mut now = Instant::ZERO;
    let mut client = Side::new(Connection::client(&config, now, || [1, 2, 3, 4]));
    let mut server = Side::new(Connection::server(&config, now));
    for op in ops.into_iter().take(200) {
        match op {
            Op::Deliver { max, chunk } => {
                let chunk = usize::from(chunk).max(1);
                let max = usize::from(max);
                deliver(&mut client, &mut server, max, chunk, &settings, now);
                deliver(&mut server, &mut client, max, chunk, &settings, now);
            }
            Op::Advance { millis } => {
                now = now + Duration::from_millis(u64::from(millis % 5000));
                // A driver sleeps until each deadline and handles it then;
                // do the same for every deadline up to `now` (bounded: each
                // call moves a deadline forward or clears it).
                for side in [&mut client, &mut server] {
                    for _ in 0..64 {
                        match side.conn.poll_timeout() {
                            Some(at) if at <= now => {
                                side.conn.handle_timeout(at);
                                side.pump(&settings, at);
                            }
                            _ => break,
                        }
                    }
                    side.conn.handle_timeout(now);
                    side.pump(&settings, now);
                    side.check_keepalive(&settings, now);
                }
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
            Op::InPlace {
                client: c,
                text,
                mut data,
            } => {
                let side = pick(c, &mut client, &mut server);
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let (before, original) = (side.conn.pending_transmit(), data.clone());
                match side.conn.send_in_place(kind, &mut data) {
                    Ok(header) => {
                        assert_eq!(before, 0, "send_in_place with bytes pending");
                        // The driver writes the header, then the payload.
                        for part in [header.as_bytes(), &data] {
                            side.pending.extend_from_slice(part);
                            side.wire.extend_from_slice(part);
                        }
                    }
                    Err(_) => {
                        assert_eq!(side.conn.pending_transmit(), before);
                        assert_eq!(data, original, "a refused send_in_place masked");
                    }
                }
            }
            Op::Prepared {
                client: c,
                text,
                data,
            } => {
                let message = if text {
                    PreparedMessage::text(&String::from_utf8_lossy(&data))
                } else {
                    PreparedMessage::binary(&data)
                };
                command(pick(c, &mut client, &mut server), |conn| {
                    conn.send_prepared(&message)
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
                let side = pick(c, &mut client, &mut server);
                let mut closed = false;
                command(side, |conn| {
                    let result = conn.close(now, CloseCode(code), &reason);
                    closed = result.is_ok();
                    result
                });
                // The peer's time to answer counts from the `now` given to
                // `close`, however long the connection sat idle before.
                if let (true, Some(ms)) = (closed, settings.close_timeout) {
                    let limit = now + Duration::from_millis(u64::from(ms));
                    assert!(
                        side.conn.is_closed()
                            || side.conn.poll_timeout().is_some_and(|at| at <= limit),
                        "no close deadline within close_timeout of the close"
                    );
                }
            }
        }
        client.pump(&settings, now);
        server.pump(&settings, now);
    }
    assert!(client.closed_events <= 1 && server.closed_events <= 1);
    check_wire(&client.wire, Role::Client);
    check_wire(&server.wire, Role::Server);
});

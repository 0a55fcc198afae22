//! Test harness: a client and a server `Connection` wired together in memory
//! on a virtual clock, plus raw-frame builders for speaking to one side
//! directly.
#![allow(dead_code)]
pub mod authority;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod handshake;
#[cfg(feature = "deflate")]
pub mod zlib;

use std::time::Duration;

use wscore::frame::{FrameHeader, Opcode, append_masked};
use wscore::{ClosedReason, Config, Connection, Event, Instant};

/// An owned copy of an [`Event`], for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Text(String),
    Binary(Vec<u8>),
    TextFragment(String, bool),
    BinaryFragment(Vec<u8>, bool),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
    Closed(ClosedReason),
}

impl Ev {
    pub fn from_event(e: Event<'_>) -> Ev {
        match e {
            Event::Text(t) => Ev::Text(t.to_owned()),
            Event::Binary(b) => Ev::Binary(b.to_vec()),
            Event::TextFragment { data, fin } => Ev::TextFragment(data.to_owned(), fin),
            Event::BinaryFragment { data, fin } => Ev::BinaryFragment(data.to_vec(), fin),
            Event::Ping(p) => Ev::Ping(p.to_vec()),
            Event::Pong(p) => Ev::Pong(p.to_vec()),
            Event::Close { code, reason } => Ev::Close(code.0, reason.to_owned()),
            Event::Closed(r) => Ev::Closed(r),
            other => panic!("unknown event {other:?}"),
        }
    }
}

/// Drain every event of `conn`.
pub fn events(conn: &mut Connection) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(e) = conn.poll_event() {
        out.push(Ev::from_event(e));
    }
    out
}

/// Drain what `conn` wants to transmit.
pub fn transmit(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    out
}

/// A deterministic mask source: predictable on purpose, tests only.
pub fn counter_mask() -> impl FnMut() -> [u8; 4] + Send + 'static {
    let mut n: u32 = 0x1234_5678;
    move || {
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12345);
        n.to_be_bytes()
    }
}

pub fn t(ms: u64) -> Instant {
    Instant::from_elapsed(Duration::from_millis(ms))
}

pub fn server(config: &Config) -> Connection {
    Connection::server(config, t(0))
}

pub fn client(config: &Config) -> Connection {
    Connection::client(config, t(0), counter_mask())
}

/// How bytes are cut on their way across the in-memory wire.
#[derive(Clone, Debug)]
pub enum Chunking {
    Whole,
    Bytewise,
    /// Chunk sizes to cycle through (zero-sized entries are skipped).
    Sizes(Vec<usize>),
}

impl Chunking {
    pub fn split<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Chunking::Whole => vec![bytes],
            Chunking::Bytewise => bytes.chunks(1).collect(),
            Chunking::Sizes(sizes) => {
                let sizes: Vec<usize> = sizes.iter().copied().filter(|&s| s > 0).collect();
                if sizes.is_empty() {
                    return vec![bytes];
                }
                let mut out = Vec::new();
                let mut rest = bytes;
                let mut i = 0;
                while !rest.is_empty() {
                    let n = sizes[i % sizes.len()].min(rest.len());
                    out.push(&rest[..n]);
                    rest = &rest[n..];
                    i += 1;
                }
                out
            }
        }
    }
}

/// A client and a server wired together, with a virtual clock and a log of
/// every byte each side put on the wire.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Instant,
    pub chunking: Chunking,
    pub client_events: Vec<Ev>,
    pub server_events: Vec<Ev>,
    /// Everything the client sent, in order.
    pub client_wire: Vec<u8>,
    /// Everything the server sent, in order.
    pub server_wire: Vec<u8>,
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_configs(&Config::default(), &Config::default())
    }

    pub fn with_configs(client_config: &Config, server_config: &Config) -> Pair {
        Pair::from_connections(client(client_config), server(server_config))
    }

    /// A pair of connections made elsewhere (e.g. through a handshake).
    pub fn from_connections(client: Connection, server: Connection) -> Pair {
        Pair {
            client,
            server,
            now: t(0),
            chunking: Chunking::Whole,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_wire: Vec::new(),
            server_wire: Vec::new(),
        }
    }

    /// Move bytes both ways until neither side has anything to send, and
    /// collect events. Returns whether anything moved.
    pub fn drive(&mut self) -> bool {
        let mut moved = false;
        for _ in 0..1000 {
            let c = transmit(&mut self.client);
            let s = transmit(&mut self.server);
            if c.is_empty() && s.is_empty() {
                break;
            }
            moved = true;
            for piece in self.chunking.split(&c) {
                self.server.handle_input(self.now, piece);
                self.server_events.extend(events(&mut self.server));
            }
            for piece in self.chunking.split(&s) {
                self.client.handle_input(self.now, piece);
                self.client_events.extend(events(&mut self.client));
            }
            self.client_wire.extend_from_slice(&c);
            self.server_wire.extend_from_slice(&s);
        }
        self.client_events.extend(events(&mut self.client));
        self.server_events.extend(events(&mut self.server));
        moved
    }

    /// The server closes the transport (as it must after the close
    /// handshake, section 7.1.1): the client sees EOF.
    pub fn server_closes_transport(&mut self) {
        self.client.handle_eof(self.now);
        self.client_events.extend(events(&mut self.client));
    }

    /// Advance the virtual clock by `d`, firing due timers on both sides
    /// and moving the bytes they produce.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        for conn in [&mut self.client, &mut self.server] {
            if conn.poll_timeout().is_some_and(|at| at <= self.now) {
                conn.handle_timeout(self.now);
            }
        }
        self.drive();
    }

    pub fn take_client_events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.client_events)
    }

    pub fn take_server_events(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.server_events)
    }
}

/// One frame as a client sends it (masked with a fixed key), with the first
/// header byte given raw so tests can set any FIN/RSV/opcode bits.
pub fn client_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, Some([0x11, 0x22, 0x33, 0x44]))
}

/// One frame as a server sends it (unmasked).
pub fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0, payload, None)
}

pub fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    // Encode a legal header for the length, then patch the first byte.
    let h = FrameHeader {
        mask,
        ..FrameHeader::new(Opcode::Binary, payload.len() as u64)
    };
    let mut out = Vec::new();
    h.encode_to_vec(&mut out);
    out[0] = b0;
    match mask {
        Some(key) => append_masked(&mut out, payload, key, 0),
        None => out.extend_from_slice(payload),
    }
    out
}

/// Split a byte stream into frames (header, unmasked payload), for checking
/// what a side put on the wire. Accepts masked and unmasked frames.
pub fn parse_wire(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    use wscore::frame::{FrameRules, Rsv, Status};
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let masked = bytes.len() > 1 && bytes[1] & 0x80 != 0;
        let rules = FrameRules {
            allowed_rsv: Rsv::RSV1,
            ..FrameRules::new(if masked {
                wscore::Role::Server
            } else {
                wscore::Role::Client
            })
        };
        let Ok(Status::Complete((h, n))) = FrameHeader::parse(bytes, &rules) else {
            panic!("wire holds an invalid or truncated frame: {bytes:02x?}");
        };
        let len = h.payload_len as usize;
        let mut payload = bytes[n..n + len].to_vec();
        if let Some(key) = h.mask {
            wscore::frame::apply_mask(&mut payload, key, 0);
        }
        out.push((h, payload));
        bytes = &bytes[n + len..];
    }
    out
}

/// The close codes of every Close frame in `wire`.
pub fn close_codes(wire: &[u8]) -> Vec<Option<u16>> {
    parse_wire(wire)
        .into_iter()
        .filter(|(h, _)| h.opcode == Opcode::Close)
        .map(|(_, p)| (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]])))
        .collect()
}

/// A default config changed by `f` (`Config` is non-exhaustive, so this is
/// how code outside the crate builds one).
pub fn cfg(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::default();
    f(&mut c);
    c
}

/// Join streamed pieces into whole-message events (and keep everything
/// else), to compare a streaming run with a whole-message one.
pub fn whole(evs: Vec<Ev>) -> Vec<Ev> {
    let mut out = Vec::new();
    let (mut text, mut bin) = (String::new(), Vec::new());
    for e in evs {
        match e {
            Ev::TextFragment(s, fin) => {
                text.push_str(&s);
                if fin {
                    out.push(Ev::Text(std::mem::take(&mut text)));
                }
            }
            Ev::BinaryFragment(b, fin) => {
                bin.extend_from_slice(&b);
                if fin {
                    out.push(Ev::Binary(std::mem::take(&mut bin)));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Follow every deadline the connection gives, as a driver would, from
/// `from` until none is left or the next is past `until`; events and
/// output are drained (and dropped) on the way. Returns the time reached.
pub fn follow_deadlines(conn: &mut Connection, from: Instant, until: Instant) -> Instant {
    let mut now = from;
    let mut out = Vec::new();
    while let Some(at) = conn.poll_timeout() {
        if at > until {
            break;
        }
        now = now.max(at);
        conn.handle_timeout(now);
        while conn.poll_event().is_some() {}
        conn.poll_transmit(&mut out);
        out = Vec::new();
    }
    now
}

//! One WebSocket on one HTTP/3 request stream: the stream's DATA in and
//! out of a `wscore::Connection`, its FIN as the connection's EOF (RFC 8441
//! section 5, RFC 9220 section 3).

use quiche::h3;
use wscore::Connection;

use crate::{H3_REQUEST_CANCELLED, now};

/// How many bytes the connection may have waiting for the stream's flow
/// control before we stop reading the peer: a peer that sends and never
/// reads the echo fills its own window, not our memory.
pub const MAX_PENDING: usize = 4 << 20;

/// A `wscore::Connection` bound to an HTTP/3 request stream.
#[derive(Debug)]
pub struct WsStream {
    /// The stream's ID.
    pub id: u64,
    /// The WebSocket connection.
    pub ws: Connection,
    /// Bytes taken from `poll_transmit`, `sent` of them accepted by quiche.
    out: Vec<u8>,
    sent: usize,
    /// Our FIN went out: nothing more will be written.
    fin_sent: bool,
    /// We stopped reading at [`MAX_PENDING`] with data left in quiche:
    /// `Event::Data` will not come again for it, so read on our own.
    read_paused: bool,
    /// The peer's side ended (FIN or reset).
    peer_ended: bool,
}

impl WsStream {
    /// Bind `ws` to stream `id`.
    pub fn new(id: u64, ws: Connection) -> WsStream {
        WsStream {
            id,
            ws,
            out: Vec::new(),
            sent: 0,
            fin_sent: false,
            read_paused: false,
            peer_ended: false,
        }
    }

    /// Whether both directions are done: our FIN is out and the
    /// connection has ended.
    pub fn is_done(&self) -> bool {
        self.fin_sent && self.ws.is_closed()
    }

    /// Bytes waiting for the stream's flow control.
    pub fn pending(&self) -> usize {
        self.out.len() - self.sent + self.ws.pending_transmit()
    }

    /// Read what the stream has (after `Event::Data`, or when a paused read
    /// may go on) into the connection, while the connection's output stays
    /// under [`MAX_PENDING`].
    pub fn read(&mut self, h3: &mut h3::Connection, conn: &mut quiche::Connection, buf: &mut [u8]) {
        loop {
            if self.pending() >= MAX_PENDING {
                self.read_paused = true;
                return;
            }
            match h3.recv_body(conn, self.id, buf) {
                Ok(n) => self.ws.handle_input(now(), &buf[..n]),
                Err(h3::Error::Done) => {
                    self.read_paused = false;
                    return;
                }
                Err(_) => {
                    self.read_paused = false;
                    self.peer_end();
                    return;
                }
            }
        }
    }

    /// The peer finished its side (`Event::Finished`) or reset it
    /// (`Event::Reset`): the connection's EOF, clean only if the close
    /// handshake was done.
    pub fn peer_end(&mut self) {
        if !self.peer_ended {
            self.peer_ended = true;
            self.ws.handle_eof(now());
        }
    }

    /// The peer reset its side: an abrupt end. Reset ours too, since no
    /// one will read it.
    pub fn peer_reset(&mut self, conn: &mut quiche::Connection) {
        self.peer_end();
        if !self.fin_sent {
            let _ = conn.stream_shutdown(self.id, quiche::Shutdown::Write, H3_REQUEST_CANCELLED);
            self.fin_sent = true;
        }
        self.out = Vec::new();
        self.sent = 0;
    }

    /// Write what the connection has queued into the stream, as far as flow
    /// control lets, then FIN once the connection has ended; resume a
    /// paused read once there is room again.
    pub fn write(
        &mut self,
        h3: &mut h3::Connection,
        conn: &mut quiche::Connection,
        buf: &mut [u8],
    ) {
        if self.read_paused {
            self.read(h3, conn, buf);
        }
        while !self.fin_sent {
            if self.sent == self.out.len() {
                self.out.clear();
                self.sent = 0;
                self.ws.poll_transmit(&mut self.out);
            }
            if self.sent < self.out.len() {
                match h3.send_body(conn, self.id, &self.out[self.sent..], false) {
                    Ok(n) if n > 0 => self.sent += n,
                    Ok(_) | Err(h3::Error::Done | h3::Error::StreamBlocked) => return,
                    Err(_) => {
                        // The stream is gone under us (the peer stopped it,
                        // or the QUIC connection ended).
                        self.fin_sent = true;
                        self.peer_end();
                        return;
                    }
                }
                continue;
            }
            if !self.ws.is_closed() {
                return;
            }
            // The connection ended and all its bytes are out: the
            // stream's FIN ends our side (RFC 9220 section 3).
            match h3.send_body(conn, self.id, &[], true) {
                Ok(_) => self.fin_sent = true,
                Err(h3::Error::Done | h3::Error::StreamBlocked) => return,
                Err(_) => self.fin_sent = true,
            }
        }
        if self.read_paused && self.pending() < MAX_PENDING {
            self.read(h3, conn, buf);
        }
    }
}
